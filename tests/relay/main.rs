//! Relay and Agent end to end: a real `hooktap relay` and `hooktap listen --relay` talking TLS
//! on 127.0.0.1 with certificates made here, a recording Target, and webhooks posted over TLS.

mod fault;
mod harness;

use std::time::{Duration, Instant};

use harness::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// Blocks on a process line without stalling the runtime's other tasks.
fn wait(p: &mut Proc, needle: &str, secs: u64) -> String {
    tokio::task::block_in_place(|| p.wait_for(needle, SECS(secs)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_is_byte_exact_and_both_stores_hold_the_same_uid() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    let (mut relay, port) = relay(dir.path(), &certs, 0, &[]);
    let mut agent = agent(dir.path(), &certs, port, "alice", &token, &target.url, &[]);
    let line = wait(&mut agent, "tunnel connected", 20);
    assert!(
        line.contains(&format!("https://localhost:{port}/c/alice/")),
        "{line}"
    );
    wait(&mut relay, "alice  Agent connected", 5);

    let client = provider(&certs);
    let body: Vec<u8> = (0..2048u32).map(|i| (i * 7 % 256) as u8).collect();
    let headers: [(&str, &[u8]); 5] = [
        ("content-type", b"application/json"),
        ("x-dup", b"first"),
        ("x-dup", b"second"),
        ("x-bin", b"caf\xe9 \x80"),
        ("hooktap-event-uid", b"sender-chose-this"),
    ];
    let url = format!("https://localhost:{port}/c/alice/hooks/ayrshare?x=1&y=%2F");
    let reply = post(&client, &url, &headers, body.clone()).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.headers["x-app"], "yes");
    assert_eq!(&reply.body[..], b"app-ok");

    let got = target.got.lock().unwrap()[0].clone();
    assert_eq!(target.count(), 1);
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/hooks/ayrshare?x=1&y=%2F");
    assert_eq!(&got.body[..], &body[..]);
    let values = |name: &str| -> Vec<Vec<u8>> {
        got.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(values("x-dup"), vec![b"first".to_vec(), b"second".to_vec()]);
    assert_eq!(values("x-bin"), vec![b"caf\xe9 \x80".to_vec()]);
    assert_eq!(
        values("hooktap-event-uid"),
        vec![b"sender-chose-this".to_vec()]
    );
    assert_eq!(values("x-forwarded-proto"), vec![b"https".to_vec()]);

    wait(&mut agent, "POST /hooks/ayrshare?x=1&y=%2F  201", 5);
    let on_relay = relay_events(dir.path());
    let on_agent = agent_events(dir.path(), "alice");
    assert_eq!((on_relay.len(), on_agent.len()), (1, 1));
    assert_eq!(on_relay[0].uid, on_agent[0].uid, "same uid in both Stores");
    assert_eq!(
        on_relay[0].headers, on_agent[0].headers,
        "same header list in both Stores"
    );
    assert_eq!(on_relay[0].body, body);
    assert_eq!(on_agent[0].body, body);
    assert_eq!(on_agent[0].extra.as_deref(), Some("relay"), "ingress");
    assert!(eventually(SECS(5), || relay_queued(dir.path()) == 0).await);
}

/// Posts `n` numbered Events to `channel` one after another; returns their statuses.
async fn post_numbered(
    client: &harness::HttpsClient,
    port: u16,
    channel: &str,
    from: usize,
    n: usize,
) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in from..from + n {
        let url = format!("https://localhost:{port}/c/{channel}/hooks/n");
        statuses.push(
            post(
                client,
                &url,
                &[("content-type", b"application/json")],
                format!("{{\"n\":{i}}}"),
            )
            .await
            .status,
        );
    }
    statuses
}

fn numbered(from: usize, n: usize) -> Vec<String> {
    (from..from + n).map(|i| format!("{{\"n\":{i}}}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_events_reach_the_target_in_order_once_each_when_the_agent_comes() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    let (mut relay, port) = relay(dir.path(), &certs, 0, &[]);
    let client = provider(&certs);

    // Round 1: the Agent was never started.
    assert_eq!(
        post_numbered(&client, port, "alice", 0, 100).await,
        vec![202; 100]
    );
    assert_eq!(relay_queued(dir.path()), 100);
    let mut agent1 = agent(dir.path(), &certs, port, "alice", &token, &target.url, &[]);
    let line = wait(&mut agent1, "tunnel connected", 20);
    assert!(line.contains("(100 Events waiting on the relay)"), "{line}");
    assert!(
        eventually(SECS(30), || relay_queued(dir.path()) == 0).await,
        "queue drained"
    );
    assert_eq!(
        target.bodies(),
        numbered(0, 100),
        "all 100, in order, once each"
    );

    // Round 2: the Agent is killed with -9 while connected, 100 more arrive, it comes back.
    agent1.kill9();
    wait(&mut relay, "alice  Agent gone", 10);
    assert_eq!(
        post_numbered(&client, port, "alice", 100, 100).await,
        vec![202; 100]
    );
    let mut agent2 = agent(dir.path(), &certs, port, "alice", &token, &target.url, &[]);
    wait(&mut agent2, "tunnel connected", 20);
    assert!(
        eventually(SECS(30), || relay_queued(dir.path()) == 0).await,
        "queue drained"
    );
    assert_eq!(target.bodies(), numbered(0, 200));
    // Nothing more arrives later: each went exactly once.
    let live = post(
        &client,
        &format!("https://localhost:{port}/c/alice/live"),
        &[],
        "live",
    )
    .await;
    assert_eq!(live.status, 201);
    assert_eq!(target.count(), 201);
    assert_eq!(agent_events(dir.path(), "alice").len(), 201);
}

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
async fn refusals_are_clear_and_a_good_agent_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let alice = channel(dir.path(), &["add", "alice"]);
    let bob = channel(dir.path(), &["add", "bob"]);
    let (mut relay, port) = relay(dir.path(), &certs, 0, &[]);
    let mut good = agent(dir.path(), &certs, port, "alice", &alice, &target.url, &[]);
    wait(&mut good, "tunnel connected", 20);
    let client = provider(&certs);
    let mut sent = 0;
    let mut still_works = async || {
        sent += 1;
        let r = post(
            &client,
            &format!("https://localhost:{port}/c/alice/check"),
            &[],
            "ok",
        )
        .await;
        assert_eq!(r.status, 201, "the good Agent stopped working");
        assert!(eventually(SECS(5), || target.count() == sent).await);
    };

    let refused = |channel: &str, token: &str, extra: &[&str], expect: &str| {
        let mut a = agent(dir.path(), &certs, port, channel, token, &target.url, extra);
        let status = tokio::task::block_in_place(|| a.wait_exit(SECS(20)));
        assert_eq!(status.code(), Some(1), "{}", a.output());
        assert!(
            a.output().contains(expect),
            "expected {expect:?} in:\n{}",
            a.output()
        );
    };
    refused(
        "bob",
        "ht_wrong",
        &[],
        "wrong or revoked token for channel 'bob'",
    );
    still_works().await;
    refused("carol", &bob, &[], "no channel named 'carol'");
    still_works().await;
    refused("alice", &alice, &[], "already has an Agent connected");
    still_works().await;

    // Silent: TCP that never starts TLS, and TLS that never sends a request.
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (_, took, closed) = read_until_closed(&mut tcp, SECS(10)).await;
    assert!(
        closed && took >= Duration::from_millis(800) && took < SECS(3),
        "silent TCP closed after {took:?}"
    );
    let mut tls = tls_connect(&certs, port).await;
    let (_, took, closed) = read_until_closed(&mut tls, SECS(10)).await;
    assert!(closed && took < SECS(3), "silent TLS closed after {took:?}");
    still_works().await;

    // Oversized handshake: refused (431) and closed, long before a megabyte.
    let mut tls = tls_connect(&certs, port).await;
    let head = format!(
        "GET /_hooktap/tunnel HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\nupgrade: hooktap-tunnel/1\r\nx-pad: {}\r\n\r\n",
        "a".repeat(100 << 10)
    );
    let _ = tokio::io::AsyncWriteExt::write_all(&mut tls, head.as_bytes()).await;
    let (answer, _, closed) = read_until_closed(&mut tls, SECS(5)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(closed && !answer.contains(" 101 "), "{answer}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    still_works().await;

    // The Tunnel endpoint and unknown paths are not webhook paths; unknown Channels are 404.
    let r = post(
        &client,
        &format!("https://localhost:{port}/_hooktap/tunnel"),
        &[],
        "x",
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post(
        &client,
        &format!("https://localhost:{port}/c/carol/x"),
        &[],
        "x",
    )
    .await;
    assert_eq!(r.status, 404);
    let r = post(
        &client,
        &format!("https://localhost:{port}/hooks/x"),
        &[],
        "x",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        relay_events(dir.path()).len(),
        target.count(),
        "refused requests are not stored"
    );

    // Revoked: rotating bob's token closes bob's Tunnel and the old token is refused.
    let mut b = agent(dir.path(), &certs, port, "bob", &bob, &target.url, &[]);
    wait(&mut b, "tunnel connected", 20);
    let new_bob = channel(dir.path(), &["rotate", "bob"]);
    assert_ne!(new_bob, bob);
    wait(&mut relay, "bob  token revoked", 5);
    let status = tokio::task::block_in_place(|| b.wait_exit(SECS(20)));
    assert_eq!(status.code(), Some(1));
    assert!(
        b.output()
            .contains("wrong or revoked token for channel 'bob'"),
        "{}",
        b.output()
    );
    still_works().await;

    // Takeover: a second Agent with --takeover replaces the first, which stops and says why.
    let mut second = agent(
        dir.path(),
        &certs,
        port,
        "alice",
        &alice,
        &target.url,
        &["--takeover"],
    );
    wait(&mut second, "tunnel connected", 20);
    let status = tokio::task::block_in_place(|| good.wait_exit(SECS(20)));
    assert_eq!(status.code(), Some(1));
    assert!(
        good.output().contains("already has an Agent connected"),
        "{}",
        good.output()
    );
    let r = post(
        &client,
        &format!("https://localhost:{port}/c/alice/x"),
        &[],
        "x",
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(agent_events(dir.path(), "alice").len(), target.count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_reject_and_a_full_queue_answer_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    channel(dir.path(), &["add", "alice"]);
    let client = provider(&certs);
    {
        let (_relay, port) = relay(dir.path(), &certs, 0, &["--offline", "reject"]);
        let r = post(
            &client,
            &format!("https://localhost:{port}/c/alice/x"),
            &[],
            "x",
        )
        .await;
        assert_eq!(r.status, 503);
        assert_eq!(r.headers["retry-after"], "30");
        assert_eq!(relay_queued(dir.path()), 0, "refused, not queued");
    }
    let (_relay, port) = relay(dir.path(), &certs, 0, &["--max-queue", "3"]);
    assert_eq!(
        post_numbered(&client, port, "alice", 0, 4).await,
        vec![202, 202, 202, 503]
    );
    assert_eq!(relay_queued(dir.path()), 3, "the oldest are kept");
}
