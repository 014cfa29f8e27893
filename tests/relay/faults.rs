//! Faults: a Tunnel cut at random points, and a Relay killed with -9 and restarted.

use std::time::{Duration, Instant};

use crate::harness::*;
use crate::web::*;
use crate::{SECS, fault, numbered, post_numbered, wait};
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_tunnel_delivers_each_event_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    // A Target that takes a moment, so cuts land while Deliveries are in flight too.
    let target = Target::slow(Duration::from_millis(3)).await;
    let token = channel(dir.path(), &["add", "alice"]);
    let (_relay, port) = relay(dir.path(), &certs, 0, &[]);
    let seed = 0x5EED_u64;
    let proxy = fault::start(port, seed, 2_000, 60_000).await;
    let mut agent = agent(
        dir.path(),
        &certs,
        proxy.port,
        "alice",
        &token,
        &target.url,
        &[
            "--relay-backoff-min",
            "10ms",
            "--relay-backoff-max",
            "100ms",
        ],
    );
    wait(&mut agent, "tunnel connected", 20);
    let client = provider(&certs);
    let started = Instant::now();
    let mut senders = Vec::new();
    for s in 0..8 {
        let client = client.clone();
        senders.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in (s..1000).step_by(8) {
                let url = format!("https://localhost:{port}/c/alice/hooks/flap");
                let body = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(200 + i % 300));
                statuses.push(
                    post(&client, &url, &[("x-n", i.to_string().as_bytes())], body)
                        .await
                        .status,
                );
            }
            statuses
        }));
    }
    for s in senders {
        for status in s.await.unwrap() {
            assert!(
                status == 201 || status == 202,
                "status {status} (seed {seed:#x})"
            );
        }
    }
    let all_in = eventually(SECS(45), || {
        relay_queued(dir.path()) == 0 && target.count() >= 1000
    })
    .await;
    let got = target.got.lock().unwrap().clone();
    let mut seen = std::collections::HashMap::new();
    for g in &got {
        let n = g
            .headers
            .iter()
            .find(|(k, _)| k == "x-n")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap();
        *seen.entry(n).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        twice.is_empty(),
        "delivered more than once (seed {seed:#x}): {twice:?}"
    );
    assert!(
        all_in,
        "queue {} / target {} after {:?} (seed {seed:#x})",
        relay_queued(dir.path()),
        got.len(),
        started.elapsed()
    );
    assert_eq!(seen.len(), 1000);
    let cuts = proxy.cuts.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        cuts >= 5,
        "the proxy cut only {cuts} times: the test proves little"
    );
    eprintln!(
        "flapping: 1000 Events, {cuts} cuts, {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_and_restarted_keeps_what_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    let (mut relay1, port) = relay(dir.path(), &certs, 0, &[]);
    let client = provider(&certs);
    assert_eq!(
        post_numbered(&client, port, "alice", 0, 20).await,
        vec![202; 20]
    );
    relay1.kill9();

    // The Agent starts while the Relay is down, and keeps trying (backoff capped at 1 s).
    let mut agent = agent(dir.path(), &certs, port, "alice", &token, &target.url, &[]);
    let line = wait(&mut agent, "tunnel down: cannot reach the relay", 20);
    assert!(line.contains("reconnecting in"), "{line}");
    let (mut relay2, port2) = relay(dir.path(), &certs, port, &[]);
    assert_eq!(port2, port);
    let back = Instant::now();
    wait(&mut agent, "tunnel connected", 10);
    assert!(
        back.elapsed() < SECS(3),
        "reconnected after {:?}, cap is 1 s",
        back.elapsed()
    );
    assert!(eventually(SECS(20), || target.count() == 20).await);
    assert_eq!(
        target.bodies(),
        numbered(0, 20),
        "what the killed relay acknowledged arrives"
    );

    // Killed while the Tunnel is up: the Agent notices and reconnects to the new one.
    relay2.kill9();
    wait(&mut agent, "tunnel down", 10);
    let (_relay3, _) = relay(dir.path(), &certs, port, &[]);
    let back = Instant::now();
    wait(&mut agent, "tunnel connected", 10);
    assert!(
        back.elapsed() < SECS(3),
        "reconnected after {:?}",
        back.elapsed()
    );
    let live = post(
        &client,
        &format!("https://localhost:{port}/c/alice/after"),
        &[],
        "x",
    )
    .await;
    assert_eq!(live.status, 201);
    assert_eq!(target.count(), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_half_open_tunnel_is_noticed_by_ping_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    let (mut relay, port) = relay(dir.path(), &certs, 0, &[]);
    let proxy = fault::start(port, 1, u64::MAX / 4, u64::MAX / 4).await;
    let mut agent = agent(
        dir.path(),
        &certs,
        proxy.port,
        "alice",
        &token,
        &target.url,
        &[],
    );
    wait(&mut agent, "tunnel connected", 20);
    proxy
        .blackhole
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let silent = Instant::now();
    // PING every 1 s, unanswered for 1 s: both sides give up within a few seconds.
    wait(&mut agent, "tunnel down", 10);
    wait(&mut relay, "alice  Agent gone", 10);
    assert!(
        silent.elapsed() < SECS(6),
        "noticed after {:?}",
        silent.elapsed()
    );
    proxy
        .blackhole
        .store(false, std::sync::atomic::Ordering::SeqCst);
    wait(&mut agent, "tunnel connected", 10);
    let client = provider(&certs);
    let r = post(
        &client,
        &format!("https://localhost:{port}/c/alice/after"),
        &[],
        "x",
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(target.count(), 1);
}

/// Pass: when the Relay's database cannot begin a write (another process holds it locked past
/// the busy timeout), the caller gets that reason ("cannot write to the relay database:
/// database is locked"), not "the writer stopped before answering"; and once the lock is gone
/// the same store writes again.
#[tokio::test]
async fn a_locked_relay_database_says_so() {
    use hooktap::tunnel::relay_store::RelayStore;
    use hooktap::tunnel::wire::RelayEvent;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    let (store, _thread) = RelayStore::open(&path).unwrap();
    let ev = |uid: &str| RelayEvent {
        uid: uid.into(),
        channel: "alice".into(),
        method: "POST".into(),
        path: "/x".into(),
        ..RelayEvent::default()
    };
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = store.insert(ev("a")).await.unwrap_err().to_string();
    assert!(
        err.contains("cannot write to the relay database") && err.contains("locked"),
        "{err}"
    );
    other.execute_batch("COMMIT").unwrap();
    assert!(store.insert(ev("b")).await.is_ok());
}
