//! Storage failure (F8): the Store on a small tmpfs that fills up. Senders get `503`, never a
//! 2xx for an Event that was not committed, and capture recovers by itself once space returns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;

use crate::common::Rng;
use crate::support::{Sink, client, integrity, require, send, stored};

/// Starts `listen` in its own mount namespace with an 8 MiB tmpfs mounted on `dir` (so the
/// mount vanishes with the process, and this machine's mounts are untouched). The Store is
/// `dir/events.db`; the test reaches it through `/proc/PID/root`.
fn listen_on_tmpfs(dir: &Path, target: &str) -> crate::common::Binary {
    require("unshare");
    let ok = Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`unshare -m` failed: this test needs root (CAP_SYS_ADMIN) to mount a small tmpfs for \
         the Store; it does not skip"
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=8m,mode=0700 hooktap-f8 "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(dir)
        .arg(env!("CARGO_BIN_EXE_hooktap"))
        .args(crate::common::listen_args(target, &dir.join("events.db")))
        .env("HOOKTAP_LOG", "error")
        .env("HOME", dir);
    crate::common::Binary::spawn(cmd)
}

/// Fills the file system of `path` with `filler` until it is full; returns how much it wrote.
fn fill(filler: &Path) -> u64 {
    let mut f = std::fs::File::create(filler).unwrap();
    let chunk = vec![0u8; 64 << 10];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = f.flush();
    written
}

/// F8. Pass: with the Store on an 8 MiB tmpfs, a few Events are stored (200); the disk is then
/// filled: within 200 requests of 16 KiB, senders get `503` (with a message, never a 2xx for an
/// Event not committed), and keep getting 503 while it is full; once the filler is removed,
/// capture recovers by itself (200 again within 5 s, no restart). At the end every id that got
/// a 2xx is in the Store, exactly once, and `integrity_check` is ok.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_capture_recovers() {
    let sink = Sink::start().await;
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("store");
    std::fs::create_dir(&dir).unwrap();
    let bin = listen_on_tmpfs(&dir, &sink.url());
    let inside: PathBuf = format!("/proc/{}/root{}", bin.child.id(), dir.display()).into();
    let db = inside.join("events.db");
    let url = bin.url("/hooks/f8");
    let c = client();
    let mut acked = Vec::new();
    // Padding the Store cannot compress, so each Event needs 16 KiB of new room.
    let body = |n: usize| {
        let pad = Rng(n as u64).letters(16 << 10);
        Bytes::from(format!("{{\"n\":{n},\"pad\":\"{pad}\"}}"))
    };
    for n in 0..5 {
        let id = format!("before-{n}");
        assert_eq!(send(&c, &url, &id, body(n)).await, Some(200));
        acked.push(id);
    }

    let wrote = fill(&inside.join("filler"));
    assert!(wrote > 0, "could not fill the tmpfs");
    let mut first_503 = None;
    for n in 0..200 {
        let id = format!("full-{n}");
        match send(&c, &url, &id, body(n)).await {
            Some(s) if (200..300).contains(&s) => acked.push(id),
            Some(503) => {
                first_503.get_or_insert(n);
            }
            other => panic!("request {n} on a full disk got {other:?}"),
        }
        if first_503.is_some_and(|f| n >= f + 20) {
            break;
        }
    }
    let first = first_503.expect("no 503 within 200 requests on a full disk");
    // Once refusing, it keeps refusing while the disk stays full.
    for n in 0..10 {
        let req = hyper::Request::post(&url)
            .header("x-id", format!("still-full-{n}"))
            .body(http_body_util::Full::new(body(n)))
            .unwrap();
        let resp = c.request(req).await.unwrap();
        assert_eq!(resp.status(), 503, "while the disk is full");
        let text = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(
            String::from_utf8_lossy(&text).contains("cannot store this event"),
            "{text:?}"
        );
    }

    std::fs::remove_file(inside.join("filler")).unwrap();
    crate::common::eventually_async(Duration::from_secs(5), || {
        let (c, url) = (c.clone(), url.clone());
        async move {
            let s = send(&c, &url, "after", Bytes::from_static(b"{}")).await;
            (s == Some(200)).then_some(())
        }
    })
    .await;
    acked.push("after".into());
    eprintln!("F8: first 503 after {first} requests on the full disk; recovered");

    // SQLite resolves the /proc/PID/root symlink to this namespace's path, so read a copy
    // (hooktap is idle now; opening the copy replays its WAL like a restart would).
    let copy = outer.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::copy(
        inside.join("events.db-wal"),
        outer.path().join("copy.db-wal"),
    )
    .unwrap();
    let db = copy;
    let rows = stored(&db);
    for id in &acked {
        let n = rows.iter().filter(|r| r.0.as_deref() == Some(id)).count();
        let most = if id == "after" { usize::MAX } else { 1 };
        assert!((1..=most).contains(&n), "{id} stored {n} times");
    }
    assert_eq!(integrity(&db), "ok");
    drop(bin);
}
