//! Faults of the Target: it dies in the middle of a request (F2), or answers too late (F3).
//! Either way the sender gets a non-2xx, so its own retries keep working, and the Store says
//! what happened.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket};

use crate::support::{Sink, client, listen, send, sha256};
use hooktap::store::Reader;

/// A listener on `port` that may be bound again at once (the "restarted" app).
fn bind_again(port: u16) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket
        .bind(format!("127.0.0.1:{port}").parse().unwrap())
        .unwrap();
    socket.listen(128).unwrap()
}

/// F2. Pass: the app reads the head and half of a 64 KiB body, then dies (connection reset):
/// the sender gets 502 at once (within 1 s on a calm machine; the test allows 3 s for a loaded
/// CI, still a third of the 9 s `--timeout` it must not wait for); the Event's Delivery is
/// `failed` with an error in words.
/// The app comes back on the same port: the next request gets 200, and `hooktap replay` of the
/// failed Event reaches it with the same `webhook-id` and the same body SHA-256.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_dying_mid_request_gives_502_and_replay_recovers() {
    let dying = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = dying.local_addr().unwrap().port();
    let app = tokio::spawn(async move {
        let (mut s, _) = dying.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 8192];
        while seen.len() < 32 << 10 {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        // A killed process: the kernel resets the connection.
        s.set_zero_linger().unwrap();
        drop(s);
        drop(dying);
        seen.len()
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let target = format!("http://127.0.0.1:{port}");
    let bin = listen(&db, &target, &[], &[]);
    let body: Vec<u8> = (0..64u32 << 10).map(|i| (i % 251) as u8).collect();
    let c = client();
    let req = |body: Vec<u8>| {
        hyper::Request::post(bin.url("/hooks/f2"))
            .header("webhook-id", "msg_f2")
            .header("x-id", "f2")
            .body(http_body_util::Full::new(Bytes::from(body)))
            .unwrap()
    };
    let started = Instant::now();
    let resp = c.request(req(body.clone())).await.unwrap();
    let took = started.elapsed();
    assert_eq!(resp.status(), 502);
    assert!(took < Duration::from_secs(3), "502 after {took:?}");
    assert!(app.await.unwrap() > 0, "the app read part of the request");
    let reader = Reader::open(&db).unwrap();
    let row = reader.recent(1, None).unwrap()[0].clone();
    assert_eq!(row.outcome.as_deref(), Some("failed"));
    let d = &reader.deliveries(row.id).unwrap()[0];
    let error = d.result.error.clone().unwrap_or_default();
    assert!(!error.is_empty(), "the failed Delivery says why");

    // The app is back on the same port.
    let sink = Sink::on(bind_again(port));
    assert_eq!(
        send(&c, &bin.url("/hooks/f2"), "next", Bytes::from_static(b"{}")).await,
        Some(200)
    );
    crate::common::ok_on(&db, &["replay", &row.id.to_string()]);
    let seen = sink.seen.lock().unwrap().clone();
    let replayed = seen
        .iter()
        .find(|s| s.id.as_deref() == Some("f2"))
        .expect("replay arrived");
    assert_eq!(replayed.sha256, sha256(&body), "the replay's body");
    assert_eq!(replayed.len, body.len());
    let (_, event) = reader.event(row.id).unwrap().unwrap();
    assert_eq!(event.headers.get_str("webhook-id"), Some("msg_f2"));
    let deliveries = reader.deliveries(row.id).unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[1].result.status, Some(200));
    drop(bin);
}

/// F3. Pass: with `--timeout 1s` and an app that takes 3 s, the sender gets 504 after
/// 1 s (the test allows 0.5 s before and 1.5 s after, for a loaded CI machine; the app's
/// answer would come at 3 s) and the Delivery is `timeout`; a request sent meanwhile to the
/// (now fast) app gets 200; once the late answer would have come, the first Event is still
/// `timeout` and the second still `ok` with 200: the late answer was applied to no row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_too_slow_gives_504_and_the_late_answer_is_dropped() {
    let sink = Sink::start().await;
    sink.delay_ms.store(3_000, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = listen(&db, &sink.url(), &["--timeout", "1s"], &[]);
    let c = client();
    let started = Instant::now();
    let status = send(
        &c,
        &bin.url("/hooks/slow"),
        "slow",
        Bytes::from_static(b"{}"),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(status, Some(504));
    assert!(
        took >= Duration::from_millis(500) && took <= Duration::from_millis(2_500),
        "504 after {took:?}"
    );
    sink.delay_ms.store(0, Ordering::SeqCst);
    let status = send(
        &c,
        &bin.url("/hooks/fast"),
        "fast",
        Bytes::from_static(b"{}"),
    )
    .await;
    assert_eq!(status, Some(200));
    // The app has now sent its late answer to the connection hooktap gave up on.
    crate::common::eventually(Duration::from_secs(10), || {
        (sink.answered.load(Ordering::SeqCst) == 2).then_some(())
    })
    .await;
    let reader = Reader::open(&db).unwrap();
    let rows = reader.recent(10, None).unwrap();
    assert_eq!(rows.len(), 2);
    let (fast, slow) = (&rows[0], &rows[1]);
    assert_eq!(
        (slow.outcome.as_deref(), slow.status),
        (Some("timeout"), None)
    );
    assert_eq!(
        (fast.outcome.as_deref(), fast.status),
        (Some("ok"), Some(200))
    );
    assert_eq!(reader.deliveries(slow.id).unwrap().len(), 1);
    assert_eq!(reader.deliveries(fast.id).unwrap().len(), 1);
    drop(bin);
}
