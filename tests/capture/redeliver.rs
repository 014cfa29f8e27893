//! `listen --redeliver`: an app that was down gets what it missed, in order, once it is back,
//! even across a `kill -9` of hooktap; the sender got 202 and never had to retry.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{Behaviour, Binary, TestTarget, eventually, hooktap, ok_on, on_store, post};

/// An address nothing listens on yet (the OS's pick, let go again).
fn down_app() -> SocketAddr {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

/// A `listen` with `flags`, in a Store of its own, forwarding to an app that is down.
struct Down {
    dir: tempfile::TempDir,
    db: PathBuf,
    app: SocketAddr,
    bin: Binary,
}

fn listen_to_a_down_app(flags: &[&str]) -> Down {
    let app = down_app();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = Binary::listen(&db, &format!("http://{app}"), flags);
    Down { dir, db, app, bin }
}

fn record(db: &Path, id: i64) -> serde_json::Value {
    serde_json::from_str(&ok_on(db, &["show", &id.to_string(), "--json"])).unwrap()
}

fn said(bin: &Binary, text: &str) -> Option<String> {
    bin.stderr
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains(text))
        .cloned()
}

#[tokio::test]
async fn an_app_that_was_down_gets_the_event_when_it_is_back() {
    let Down {
        dir: _dir,
        db,
        app,
        bin,
    } = listen_to_a_down_app(&["--redeliver"]);
    eventually(Duration::from_secs(10), || {
        said(&bin, "redelivering what the app misses, for up to 1h")
    })
    .await;
    let body = br#"{"action":"scheduled","status":"success","id":"p1"}"#.to_vec();
    let (status, _, answer) = post(
        &bin.url("/hooks/ayrshare"),
        &[("x-trace", b"t1")],
        body.clone(),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status, 202, "{answer}");
    assert!(answer.contains("stored as event #1"), "{answer}");
    assert!(
        answer.contains("delivers it when the app is back"),
        "{answer}"
    );

    let target = TestTarget::start_at(app, Behaviour::Status(200)).await;
    eventually(Duration::from_secs(20), || {
        (target.count() == 1).then_some(())
    })
    .await;
    let got = target.all.lock().unwrap()[0].clone();
    assert_eq!(got.body, body, "the exact bytes");
    assert_eq!(got.uri, "/hooks/ayrshare");
    assert!(
        got.headers
            .iter()
            .any(|(n, v)| n == "x-trace" && v == b"t1")
    );

    let rec = eventually(Duration::from_secs(10), || {
        let rec = record(&db, 1);
        (rec["outcome"] == "ok").then_some(rec)
    })
    .await;
    let deliveries = rec["deliveries"].as_array().unwrap();
    assert_eq!(deliveries[0]["kind"], "original");
    assert_eq!(deliveries[0]["outcome"], "failed");
    let last = deliveries.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["status"].as_u64()),
        (Some("retry"), Some(200))
    );
    assert!(
        deliveries[1..deliveries.len() - 1]
            .iter()
            .all(|d| d["kind"] == "retry" && d["outcome"] == "failed")
    );
    assert_eq!(rec["status"], 200);
    assert_eq!(target.count(), 1, "delivered once");
}

#[tokio::test]
async fn held_events_survive_kill_9_and_go_out_in_order() {
    let app = down_app();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let url = format!("http://{app}");
    let mut first = Binary::listen(&db, &url, &["--redeliver", "10m"]);
    for i in 1..=3 {
        let (status, _, _) = post(
            &first.url("/hooks/x"),
            &[],
            format!("{{\"n\":{i}}}").into_bytes(),
        )
        .await;
        assert_eq!(status, 202);
    }
    first.kill9();

    let target = TestTarget::start_at(app, Behaviour::Status(204)).await;
    let second = Binary::listen(&db, &url, &["--redeliver", "10m"]);
    // Said before the "listening on" line the harness waits for.
    let line = said(&second, "held for your app; redelivering");
    assert_eq!(
        line.as_deref(),
        Some("hooktap: 3 Event(s) held for your app; redelivering")
    );
    eventually(Duration::from_secs(20), || {
        (target.count() == 3).then_some(())
    })
    .await;
    let bodies: Vec<String> = target
        .all
        .lock()
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(
        bodies,
        [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#],
        "oldest first"
    );
}

#[tokio::test]
async fn redelivery_gives_up_after_its_window_and_says_how_to_resend() {
    let Down { dir, app, bin, .. } = listen_to_a_down_app(&["--redeliver", "300ms"]);
    let (status, _, _) = post(&bin.url("/a"), &[], b"{}".to_vec()).await;
    assert_eq!(status, 202);
    let line = eventually(Duration::from_secs(10), || {
        said(&bin, "gave up redelivering event #1")
    })
    .await;
    assert!(line.contains("`hooktap replay 1` sends it again"), "{line}");
    // Without --redeliver the sender hears that the app is down, as before.
    let plain = Binary::listen(&dir.path().join("plain.db"), &format!("http://{app}"), &[]);
    let (status, _, _) = post(&plain.url("/a"), &[], b"{}".to_vec()).await;
    assert_eq!(status, 502);
}

#[tokio::test]
async fn accept_mode_redelivers_what_its_background_forward_missed() {
    let Down {
        dir: _dir,
        db,
        app,
        bin,
    } = listen_to_a_down_app(&["--respond", "accept", "--redeliver", "5m"]);
    let (status, _, _) = post(&bin.url("/a"), &[], b"{\"k\":1}".to_vec()).await;
    assert_eq!(status, 202);
    // Held only once the background forward has failed and been recorded.
    eventually(Duration::from_secs(10), || {
        (record(&db, 1)["deliveries"][0]["outcome"] == "failed").then_some(())
    })
    .await;
    let target = TestTarget::start_at(app, Behaviour::Status(200)).await;
    eventually(Duration::from_secs(20), || {
        (target.count() == 1).then_some(())
    })
    .await;
    assert_eq!(&target.all.lock().unwrap()[0].body[..], b"{\"k\":1}");
}

/// `held_since` of Event `id`, read from the Store itself.
fn held_since(db: &Path, id: i64) -> Option<i64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT held_since FROM events WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

// Multi-threaded: the replays below block on the binary while this runtime's app answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_what_missed_the_app_is_held_and_an_answer_by_any_means_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    // An app that answers 500 got the Event: the sender hears the 500, nothing is held.
    let failing = TestTarget::start(Behaviour::Status(500)).await;
    let bin = Binary::listen(&db, &failing.url(), &["--redeliver"]);
    let (status, _, _) = post(&bin.url("/a"), &[], b"{}".to_vec()).await;
    assert_eq!(status, 500);
    assert_eq!(held_since(&db, 1), None);
    drop(bin);

    // A replay that fails (a mistyped --to) holds nothing either.
    let mistyped = format!("http://{}", down_app());
    let out = on_store(&db, &["replay", "1", "--to", &mistyped]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(held_since(&db, 1), None);

    // Held while the app is down. A copy replayed to another server (--to) that answers does
    // not release it: the app never got it. A replay to the app that answers does.
    let app = down_app();
    let bin = Binary::listen(&db, &format!("http://{app}"), &["--redeliver", "10m"]);
    let (status, _, _) = post(&bin.url("/b"), &[], b"{}".to_vec()).await;
    assert_eq!(status, 202);
    assert!(held_since(&db, 2).is_some());
    drop(bin);
    let elsewhere = TestTarget::start(Behaviour::Status(200)).await;
    ok_on(&db, &["replay", "2", "--to", &elsewhere.url()]);
    assert!(
        held_since(&db, 2).is_some(),
        "a copy elsewhere does not release it"
    );
    let back = TestTarget::start_at(app, Behaviour::Status(200)).await;
    ok_on(&db, &["replay", "2", "--to", &back.url()]);
    assert_eq!(
        held_since(&db, 2),
        None,
        "released by the answered replay to the app"
    );
}

#[tokio::test]
async fn held_events_are_never_pruned_and_masked_ones_are_not_held() {
    let Down {
        dir: _dir, db, bin, ..
    } = listen_to_a_down_app(&["--redeliver", "10m", "--redact", "header:x-secret"]);
    for i in 0..3 {
        let (status, _, _) = post(&bin.url("/a"), &[], format!("{i}").into_bytes()).await;
        assert_eq!(status, 202);
    }
    // A masked Event would reach the app masked: its sender hears 502 and retries instead.
    let (status, _, _) = post(&bin.url("/a"), &[("x-secret", b"s3")], b"{}".to_vec()).await;
    assert_eq!(status, 502);
    assert_eq!(held_since(&db, 4), None);
    drop(bin);
    let store = hooktap::store::Store::open(&db, hooktap::store::Durability::Normal).unwrap();
    let bounds = hooktap::prune::Bounds {
        keep: Some(1),
        max_bytes: None,
    };
    let pruned = hooktap::prune::prune_once(&store.writer(), &db, &bounds)
        .await
        .unwrap();
    store.close();
    assert_eq!(pruned, 1, "only the Event that is not held");
    assert!((1..=3).all(|id| held_since(&db, id).is_some()));
    // `hooktap prune` asked for everything keeps them too, and says so.
    let out = on_store(&db, &["prune", "--keep", "0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("kept 3 event(s) held for redelivery"),
        "{stderr}"
    );
    assert!((1..=3).all(|id| held_since(&db, id).is_some()));
}

#[tokio::test]
async fn an_event_the_app_hangs_on_does_not_hold_up_the_others() {
    let Down {
        dir: _dir,
        db,
        app,
        bin,
    } = listen_to_a_down_app(&["--redeliver", "10m", "--timeout", "1s"]);
    for path in ["/poison", "/fine"] {
        let (status, _, _) = post(&bin.url(path), &[], b"{}".to_vec()).await;
        assert_eq!(status, 202);
    }
    let target = TestTarget::start_at(app, Behaviour::HangOn("/poison")).await;
    eventually(Duration::from_secs(20), || {
        let all = target.all.lock().unwrap();
        all.iter().any(|r| r.uri == "/fine").then_some(())
    })
    .await;
    eventually(Duration::from_secs(10), || {
        held_since(&db, 2).is_none().then_some(())
    })
    .await;
    assert!(
        held_since(&db, 1).is_some(),
        "the hung one is still held, on its own backoff"
    );
}

#[tokio::test]
async fn one_redeliverer_per_store() {
    let app = down_app();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let url = format!("http://{app}");
    let first = Binary::listen(&db, &url, &["--redeliver"]);
    let second = hooktap()
        .args(crate::common::listen_args(&url, &db))
        .arg("--redeliver")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another `hooktap listen --redeliver` already redelivers from"),
        "{stderr}"
    );
    // Once the first is gone (killed: the kernel drops its lock), another may start.
    drop(first);
    let again = Binary::listen(&db, &url, &["--redeliver"]);
    drop(again);
}

#[tokio::test]
async fn an_event_the_app_drops_is_given_up_without_holding_up_the_others() {
    let Down {
        dir: _dir,
        db,
        app,
        bin,
    } = listen_to_a_down_app(&["--redeliver", "10m"]);
    for path in ["/crash", "/fine"] {
        let (status, _, _) = post(&bin.url(path), &[], b"{}".to_vec()).await;
        assert_eq!(status, 202);
    }
    let target = TestTarget::start_at(app, Behaviour::DropOn("/crash")).await;
    eventually(Duration::from_secs(20), || {
        let all = target.all.lock().unwrap();
        all.iter().any(|r| r.uri == "/fine").then_some(())
    })
    .await;
    // Reached but dropped: its own strikes, not "the app is down" for a whole hour.
    let line = eventually(Duration::from_secs(30), || {
        said(&bin, "gave up redelivering event #1")
    })
    .await;
    assert!(line.contains("5 tries failed"), "{line}");
    assert_eq!(held_since(&db, 1), None);
    let crashes = target
        .all
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.uri == "/crash")
        .count();
    assert_eq!(crashes, 5);
}

#[tokio::test]
async fn accept_mode_owes_the_event_from_the_start_even_across_kill_9() {
    // An app that takes the request and never answers, so the forward is in flight.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = silent.local_addr().unwrap();
    let (took, mut taken) = tokio::sync::mpsc::unbounded_channel();
    let holder = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            kept.push(stream);
            let _ = took.send(());
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let args = ["--respond", "accept", "--redeliver", "10m"];
    let mut first = Binary::listen(&db, &format!("http://{app}"), &args);
    let (status, _, _) = post(&first.url("/a"), &[], b"{\"owed\":1}".to_vec()).await;
    assert_eq!(status, 202);
    taken.recv().await.unwrap();
    assert!(held_since(&db, 1).is_some(), "held before the app has it");
    first.kill9();
    holder.abort();
    let _ = holder.await;

    let target = TestTarget::start_at(app, Behaviour::Status(200)).await;
    let _second = Binary::listen(&db, &format!("http://{app}"), &args);
    eventually(Duration::from_secs(20), || {
        (target.count() == 1).then_some(())
    })
    .await;
    assert_eq!(&target.all.lock().unwrap()[0].body[..], b"{\"owed\":1}");
    eventually(Duration::from_secs(10), || {
        held_since(&db, 1).is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_event_is_said_in_show_and_when_listen_stops_or_starts_without_the_flag() {
    let Down {
        dir: _dir,
        db,
        app,
        mut bin,
    } = listen_to_a_down_app(&["--redeliver", "10m"]);
    let (status, _, _) = post(&bin.url("/a"), &[], b"{}".to_vec()).await;
    assert_eq!(status, 202);
    let show = ok_on(&db, &["show", "1"]);
    assert!(show.contains("held for redelivery since"), "{show}");
    // `list` says `held`, not `failed`, and the JSON has the time (its outcome stays `failed`).
    let list = ok_on(&db, &["list"]);
    assert!(
        list.contains(" held ") && !list.contains("failed"),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_str(ok_on(&db, &["list", "--json"]).trim()).unwrap();
    assert!(
        json["held_since"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{json}"
    );
    assert_eq!(json["outcome"], "failed", "{json}");
    // A graceful stop says what is still owed.
    let pid = bin.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let _ = bin.child.wait();
    eventually(Duration::from_secs(10), || {
        said(
            &bin,
            "1 Event(s) are still held; the next `listen --redeliver` delivers them",
        )
    })
    .await;
    // Without the flag, listen says there is something to deliver.
    let plain = Binary::listen(&db, &format!("http://{app}"), &[]);
    assert!(said(&plain, "1 Event(s) in this Store are held for redelivery").is_some());
}
