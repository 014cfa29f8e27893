//! Ack means stored: `kill -9` never loses an acknowledged Event; a Delivery in flight is marked
//! interrupted at the next start; SIGTERM lets requests in flight finish.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::common::{Behaviour, Binary, TestTarget, eventually};
use hooktap::store::{Reader, body};

/// Pass: every request whose sender got a 2xx before the `kill -9` is in the Store with its
/// exact body, and `PRAGMA integrity_check` says ok.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_event() {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let mut bin = Binary::listen(&db, &target.url(), &[]);
    let url = bin.url("/hooks/load");
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for worker in 0..8 {
        let (url, acked, stop) = (url.clone(), acked.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<http_body_util::Full<bytes::Bytes>>();
            for n in 0.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                let id = format!("{{\"req\":\"w{worker}-{n}\"}}");
                let req = hyper::Request::post(&url)
                    .body(http_body_util::Full::new(bytes::Bytes::from(id.clone())))
                    .unwrap();
                match client.request(req).await {
                    Ok(resp) if resp.status().is_success() => {
                        acked.lock().unwrap().insert(id);
                    }
                    _ => return,
                }
            }
        }));
    }
    eventually(Duration::from_secs(30), || {
        (acked.lock().unwrap().len() >= 300).then_some(())
    })
    .await;
    bin.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    let acked = acked.lock().unwrap().clone();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = conn.prepare("SELECT body, encoding FROM bodies").unwrap();
    let stored: HashSet<String> = stmt
        .query_map([], |r| {
            let encoding: Option<String> = r.get(1)?;
            Ok(body::unpack(r.get(0)?, encoding.as_deref()).unwrap())
        })
        .unwrap()
        .map(|b| String::from_utf8(b.unwrap()).unwrap())
        .collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    assert!(acked.len() >= 300);
}

/// Pass: a Delivery in flight at `kill -9` is `interrupted` after the next `listen` starts.
#[tokio::test]
async fn in_flight_delivery_is_marked_interrupted() {
    let gate = Arc::new(Notify::new());
    let mut target = TestTarget::start(Behaviour::Hold(gate.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let mut bin = Binary::listen(&db, &target.url(), &[]);
    let url = bin.url("/hooks/held");
    let pending =
        tokio::spawn(async move { crate::common::post(&url, &[], b"held".to_vec()).await });
    target
        .received
        .recv()
        .await
        .expect("the Target got the request");
    bin.kill9();
    let _ = pending.await;
    let row = &Reader::open(&db).unwrap().recent(1, None).unwrap()[0];
    assert_eq!(row.outcome.as_deref(), Some("pending"));

    let _again = Binary::listen(&db, &target.url(), &[]);
    let reader = Reader::open(&db).unwrap();
    let row = &reader.recent(1, None).unwrap()[0];
    assert_eq!(row.outcome.as_deref(), Some("interrupted"));
    let d = &reader.deliveries(row.id).unwrap()[0];
    assert_eq!(d.result.outcome.as_str(), "interrupted");
    gate.notify_waiters();
}

/// Pass: on SIGTERM a request in flight still completes (the sender gets the Target's answer
/// and the Delivery is stored), new connections are refused, and the process exits 0.
#[tokio::test]
async fn sigterm_finishes_requests_in_flight() {
    let gate = Arc::new(Notify::new());
    let mut target = TestTarget::start(Behaviour::Hold(gate.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let mut bin = Binary::listen(&db, &target.url(), &[]);
    let url = bin.url("/hooks/draining");
    let pending =
        tokio::spawn(async move { crate::common::post(&url, &[], b"drain".to_vec()).await });
    target.received.recv().await.unwrap();
    let pid = bin.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    // The listener stops accepting right away.
    let addr = bin.addr;
    eventually(Duration::from_secs(10), || {
        std::net::TcpStream::connect(addr).is_err().then_some(())
    })
    .await;
    gate.notify_one();
    let (status, _, _) = pending.await.unwrap();
    assert_eq!(status, 200);
    let code = bin.child.wait().unwrap();
    assert!(code.success(), "{code:?}");
    let row = &Reader::open(&db).unwrap().recent(1, None).unwrap()[0];
    assert_eq!(row.status, Some(200));
}
