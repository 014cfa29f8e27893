//! `listen --redeliver`: an app that was down gets what it missed, in order, once it is back,
//! even across a `kill -9` of hooktap; the sender got 202 and never had to retry.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::common::{Behaviour, Binary, TestTarget, eventually, hooktap, post};

/// An address nothing listens on yet (the OS's pick, let go again).
fn down_app() -> SocketAddr {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

fn record(db: &Path, id: i64) -> serde_json::Value {
    let out = hooktap()
        .args(["show", &id.to_string(), "--json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
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
    let app = down_app();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = Binary::listen(&db, &format!("http://{app}"), &["--redeliver"]);
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
    eventually(Duration::from_secs(10), || {
        said(
            &second,
            "3 Event(s) of the last 10m did not reach the app; redelivering",
        )
    })
    .await;
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
    let app = down_app();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = Binary::listen(&db, &format!("http://{app}"), &["--redeliver", "300ms"]);
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
    let app = down_app();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let args = ["--respond", "accept", "--redeliver", "5m"];
    let bin = Binary::listen(&db, &format!("http://{app}"), &args);
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
