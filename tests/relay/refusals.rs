//! Refusals: bad handshakes, revoked tokens, busy Channels, offline reject and a full queue.

use std::time::Duration;

use crate::harness::*;
use crate::web::*;
use crate::{SECS, post_numbered, wait};
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
        // The lines are read by threads of their own: wait for them rather than look at once.
        tokio::task::block_in_place(|| a.wait_for(expect, SECS(5)));
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

/// Pass: a plain-HTTP Relay (behind a TLS proxy) at `--max-connections 1` answers a second
/// connection `503` and closes it, while the first still gets its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_get_503() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = [
        "relay",
        "--bind",
        "127.0.0.1:0",
        "--db",
        dir.path().join("relay.db").to_str().unwrap(),
        "--max-connections",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut relay = Proc::spawn("relay", &args);
    let line = wait(&mut relay, "listening on http://127.0.0.1:", 20);
    let addr = format!("127.0.0.1:{}", line.rsplit(':').next().unwrap().trim());
    let mut first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Accepts happen in order: once the first is answered, it holds the only slot.
    let request = b"GET /c/nobody/x HTTP/1.1\r\nhost: x\r\n\r\n";
    first.write_all(request).await.unwrap();
    let mut head = [0u8; 12];
    first.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 404");
    let mut second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // The request goes out before the answer is read: a close with it unread would be a reset.
    second.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(SECS(5), second.read_to_end(&mut answer))
        .await
        .expect("the connection over the cap is closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");
}

/// Pass: `channel list` (and rotate, remove) on a database that does not exist says so and
/// makes nothing; only `channel add` makes one.
#[test]
fn channel_commands_do_not_make_a_database_by_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo/relay.db");
    for args in [&["list"][..], &["rotate", "alice"], &["remove", "alice"]] {
        let out = std::process::Command::new(BIN)
            .args(["relay", "channel"])
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no relay database at"), "{err}");
        assert!(!db.parent().unwrap().exists(), "{args:?} made a folder");
    }
}

/// Pass: a token rotated, or a Channel added, while the Relay runs works at once (the Relay
/// looks the Channel up again before refusing a handshake); the periodic re-read is off here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_token_works_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    channel(dir.path(), &["add", "alice"]);
    // No periodic re-read during the test: only the lookup on a refused handshake can help.
    let (_relay, port) = relay(dir.path(), &certs, 0, &["--reload-every", "1h"]);
    let rotated = channel(dir.path(), &["rotate", "alice"]);
    let mut a = agent(
        dir.path(),
        &certs,
        port,
        "alice",
        &rotated,
        &target.url,
        &[],
    );
    wait(&mut a, "tunnel connected", 20);
    let carol = channel(dir.path(), &["add", "carol"]);
    let mut c = agent(dir.path(), &certs, port, "carol", &carol, &target.url, &[]);
    wait(&mut c, "tunnel connected", 20);
    assert!(!c.output().contains("refused"), "{}", c.output());
    assert!(!a.output().contains("refused"), "{}", a.output());
    // Rotated again while `a` is connected: the new token's Agent gets in, and the old one
    // loses its Tunnel and is refused from then on.
    let again = channel(dir.path(), &["rotate", "alice"]);
    let mut b = agent(dir.path(), &certs, port, "alice", &again, &target.url, &[]);
    wait(&mut b, "tunnel connected", 20);
    let said = wait(&mut a, "refused", 20);
    assert!(said.contains("wrong or revoked token"), "{said}");
}
