//! No open proxy (B5): nothing a sender (or an edited replay) writes makes hooktap connect
//! anywhere but the configured Target. A canary listener on 127.0.0.2 counts connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;

use crate::common::raw;
use crate::framing::Door;
use crate::harness::{certs, channel, relay, relay_events};
use crate::support::{Sink, listen};

/// A listener on 127.0.0.2 that counts the connections it gets.
async fn canary() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let socket = TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind 127.0.0.2 (the loopback /8)");
    let addr = socket.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while socket.accept().await.is_ok() {
            h.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, hits)
}

fn attempts(c: std::net::SocketAddr, path: &str) -> Vec<String> {
    let tail = "content-length: 0\r\nconnection: close\r\n\r\n";
    vec![
        format!("POST http://{c}{path} HTTP/1.1\r\nhost: {c}\r\n{tail}"),
        format!("POST https://{c}{path} HTTP/1.1\r\nhost: {c}\r\n{tail}"),
        format!("CONNECT {c} HTTP/1.1\r\nhost: {c}\r\n\r\n"),
        format!("POST {path} HTTP/1.1\r\nhost: {c}\r\nx-forwarded-host: {c}\r\n{tail}"),
        format!("POST //{c}{path} HTTP/1.1\r\nhost: {c}\r\n{tail}"),
        format!(
            "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nhost: 169.254.169.254\r\n{tail}"
        ),
        format!("OPTIONS * HTTP/1.1\r\nhost: {c}\r\n{tail}"),
    ]
}

/// B5 on `listen`. Pass: absolute-form (http and https), `CONNECT`, a `Host` or
/// `X-Forwarded-Host` naming the canary, a `//host/` path, the cloud metadata URL and `*`
/// reach at most the configured Target (by path; CONNECT is answered 405); a `replay --edit`
/// whose request line and Host name the canary goes to the configured Target too; the canary
/// on 127.0.0.2 sees 0 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_never_dials_anything_but_its_target() {
    let (c, hits) = canary().await;
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = listen(&db, &sink.url(), &[], &[]);
    let mut statuses = Vec::new();
    for a in attempts(c, "/steal") {
        let (resp, _) = raw(bin.addr, a.as_bytes(), Duration::from_secs(5)).await;
        statuses.push(resp.get(9..12).unwrap_or("").to_string());
    }
    assert_eq!(statuses[2], "405", "CONNECT: {statuses:?}");
    assert!(sink.count() >= 4, "the others went to the Target by path");

    // An edited replay: the editor rewrites the request line and Host to the canary.
    let editor = dir.path().join("edit.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\nsed -i -e '1s|.*|POST //{c}/edited HTTP/1.1|' -e 's|^host: .*|host: {c}|' \"$1\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let before = sink.count();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hooktap"))
        .args(["replay", "1", "--edit", "--db"])
        .arg(&db)
        .env("EDITOR", &editor)
        .env_remove("VISUAL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sink.count(),
        before + 1,
        "the edited replay went to the Target"
    );
    let last = sink.seen.lock().unwrap().last().unwrap().uri.clone();
    assert_eq!(last, format!("//{c}/edited"), "by path only");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the canary got a connection"
    );
}

/// B5 on the Relay. Pass: the same attempts against the Relay's port (TLS) are answered
/// (404, 400, 405 or queued for a Channel by path) and the canary sees 0 connections; no
/// Event is queued for a Channel the path does not name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_never_dials_anything() {
    let (c, hits) = canary().await;
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    channel(dir.path(), &["add", "alice"]);
    let (_relay, port) = relay(dir.path(), &certs, 0, &[]);
    let door = Door::Relay { port, certs };
    for a in attempts(c, "/c/alice/steal") {
        let (resp, _) = door
            .exchange(a.as_bytes(), 1 << 20, Duration::from_secs(5))
            .await;
        let status = resp.get(9..12).unwrap_or("");
        assert!(
            ["202", "400", "404", "405"].contains(&status),
            "{a:?} -> {resp}"
        );
    }
    for e in relay_events(dir.path()) {
        assert!(e.body.is_empty());
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the canary got a connection"
    );
}
