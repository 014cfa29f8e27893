//! The Relay between tenants: no Event crosses from one Channel to another whatever the Host
//! or path says (B6), and abusive Tunnel handshakes are refused while good Agents keep working
//! (B7). Extends `tests/relay/refusals.rs` (wrong, revoked and silent handshakes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::common::Rng;
use crate::harness::{Proc, agent, certs, channel, relay};
use crate::web::{Target, post, provider, read_until_closed, tls_connect};

fn wait(p: &mut Proc, needle: &str) {
    tokio::task::block_in_place(|| p.wait_for(needle, Duration::from_secs(20)));
}

/// B6. Pass: with Agents for `alice` and `bob` (each with its own Target), 1,000 webhooks
/// posted 16 at a time to a random Channel path (`/c/alice/...`, `/c/bob/...`, with `..`
/// segments and odd paths) under random `Host` headers (the other tenant's name, an unknown
/// host, an IP) are acknowledged and reach exactly their own Channel's Target: 0
/// cross-deliveries, every sent body
/// arrives once; `/c/carol/`, `/c/Alice/` and `/c/` answer 404 and reach nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_crosses_between_channels() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let (ta, tb) = (Target::start().await, Target::start().await);
    let alice = channel(dir.path(), &["add", "alice"]);
    let bob = channel(dir.path(), &["add", "bob"]);
    let (_relay, port) = relay(dir.path(), &certs, 0, &[]);
    let mut a = agent(dir.path(), &certs, port, "alice", &alice, &ta.url, &[]);
    let mut b = agent(dir.path(), &certs, port, "bob", &bob, &tb.url, &[]);
    wait(&mut a, "tunnel connected");
    wait(&mut b, "tunnel connected");
    let client = provider(&certs);
    let hosts = [
        "localhost",
        "alice",
        "bob",
        "bob.relay.example",
        "127.0.0.1",
        "evil.example:443",
    ];
    let tails = [
        "/hooks/x",
        "/../bob/x",
        "/../alice/x",
        "//c/bob/x",
        "/c/alice/x",
        "",
    ];
    let mut rng = Rng(0xB6);
    let plan: Vec<(bool, &str, &str)> = (0..1000)
        .map(|_| {
            let to_alice = rng.below(2) == 0;
            let host = hosts[rng.below(hosts.len() as u64) as usize];
            let tail = tails[rng.below(tails.len() as u64) as usize];
            (to_alice, host, tail)
        })
        .collect();
    let plan = Arc::new(plan);
    let mut senders = Vec::new();
    for s in 0..16 {
        let (client, plan) = (client.clone(), plan.clone());
        senders.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in (s..plan.len()).step_by(16) {
                let (to_alice, host, tail) = plan[i];
                let name = if to_alice { "alice" } else { "bob" };
                let url = format!("https://localhost:{port}/c/{name}{tail}");
                let body = format!("{{\"for\":\"{name}\",\"n\":{i}}}");
                let r = post(&client, &url, &[("host", host.as_bytes())], body).await;
                statuses.push(r.status);
            }
            statuses
        }));
    }
    for s in senders {
        for status in s.await.unwrap() {
            // 202: stored and queued while a fresh Tunnel still drains; delivered right after.
            assert!(status == 201 || status == 202, "status {status}");
        }
    }
    let for_alice = plan.iter().filter(|p| p.0).count();
    let arrived = crate::web::eventually(Duration::from_secs(20), || {
        ta.count() == for_alice && tb.count() == plan.len() - for_alice
    })
    .await;
    assert!(
        arrived,
        "alice's Target got {}, bob's {}",
        ta.count(),
        tb.count()
    );
    assert_eq!(ta.count(), for_alice);
    assert_eq!(tb.count(), plan.len() - for_alice);
    assert!(
        ta.bodies().iter().all(|b| b.contains("\"for\":\"alice\"")),
        "bob's Event at alice's Target"
    );
    assert!(
        tb.bodies().iter().all(|b| b.contains("\"for\":\"bob\"")),
        "alice's Event at bob's Target"
    );
    let mut seen: Vec<String> = ta.bodies();
    seen.extend(tb.bodies());
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), plan.len(), "every body once");

    for path in ["/c/carol/x", "/c/Alice/x", "/c/", "/c", "/alice/x"] {
        let r = post(
            &client,
            &format!("https://localhost:{port}{path}"),
            &[],
            "x",
        )
        .await;
        assert_eq!(r.status, 404, "{path}");
    }
    assert_eq!(ta.count() + tb.count(), plan.len(), "404s reached nobody");
}

/// A Tunnel handshake for `channel` with `auth` as the Authorization header; the status.
async fn handshake(certs: &crate::harness::Certs, port: u16, channel: &str, auth: &str) -> String {
    let mut tls = tls_connect(certs, port).await;
    let head = format!(
        "GET /_hooktap/tunnel HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\n\
         upgrade: hooktap-tunnel/1\r\nauthorization: {auth}\r\nhooktap-channel: {channel}\r\n\r\n"
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    let (got, _, _) = read_until_closed(&mut tls, Duration::from_secs(5)).await;
    String::from_utf8_lossy(&got)
        .get(9..12)
        .unwrap_or("")
        .to_string()
}

/// B7. Pass: while alice's Agent delivers webhooks back to back (all acknowledged, all at
/// alice's Target in the end), handshakes with an
/// empty token, a token of another Channel (bob's for alice), alice's token again (taken: 409)
/// and a bare `Bearer` are refused; 40 such handshakes at once do not disturb alice; a
/// handshake head of 10 x 100 KB without an end is cut (connection closed) before 1 MB is
/// taken; the good Agent never dropped its Tunnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_abuse_is_refused_while_a_good_agent_works() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Arc::new(certs(dir.path()));
    let ta = Target::start().await;
    let alice = channel(dir.path(), &["add", "alice"]);
    let bob = channel(dir.path(), &["add", "bob"]);
    let (_relay, port) = relay(dir.path(), &certs, 0, &[]);
    let mut a = agent(dir.path(), &certs, port, "alice", &alice, &ta.url, &[]);
    wait(&mut a, "tunnel connected");

    let client = provider(&certs);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let steady = {
        let (client, stop) = (client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let url = format!("https://localhost:{port}/c/alice/steady");
                statuses.push(post(&client, &url, &[], "steady").await.status);
            }
            statuses
        })
    };

    assert_eq!(
        handshake(&certs, port, "alice", "Bearer ").await,
        "401",
        "empty token"
    );
    assert_eq!(
        handshake(&certs, port, "alice", "Bearer").await,
        "401",
        "bare Bearer"
    );
    assert_eq!(
        handshake(&certs, port, "alice", "Basic YTpi").await,
        "401",
        "not a bearer token"
    );
    assert_eq!(
        handshake(&certs, port, "alice", &format!("Bearer {bob}")).await,
        "401",
        "bob's token for alice"
    );
    assert_eq!(
        handshake(&certs, port, "alice", &format!("Bearer {alice}")).await,
        "409",
        "alice is taken"
    );

    let mut crowd = Vec::new();
    for i in 0..40 {
        let (certs, bob) = (certs.clone(), bob.clone());
        crowd.push(tokio::spawn(async move {
            let token = if i % 2 == 0 {
                format!("Bearer {bob}")
            } else {
                "Bearer ht_wrong".into()
            };
            handshake(&certs, port, "alice", &token).await
        }));
    }
    for c in crowd {
        let status = c.await.unwrap();
        assert!(
            ["401", "429", "503", ""].contains(&status.as_str()),
            "crowd handshake got {status}"
        );
    }

    // 10 x 100 KB of head without an end, 20 ms apart.
    let mut tls = tls_connect(&certs, port).await;
    let started = Instant::now();
    let mut sent = 0usize;
    let _ = tls
        .write_all(b"GET /_hooktap/tunnel HTTP/1.1\r\nx-pad: ")
        .await;
    for _ in 0..10 {
        if tls.write_all(&vec![b'a'; 100 << 10]).await.is_err() || tls.flush().await.is_err() {
            break;
        }
        sent += 100 << 10;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (answer, _, closed) = read_until_closed(&mut tls, Duration::from_secs(5)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(closed, "an endless handshake head must be cut");
    assert!(
        sent < 1 << 20,
        "{sent} bytes taken before the cut ({:?})",
        started.elapsed()
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let statuses = steady.await.unwrap();
    assert!(!statuses.is_empty(), "no steady webhooks during the abuse");
    // 202: stored and queued while the fresh Tunnel still drains (under load, the first ones).
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 202),
        "the good Agent was disturbed: {statuses:?}"
    );
    let after = post(
        &client,
        &format!("https://localhost:{port}/c/alice/after"),
        &[],
        "x",
    )
    .await;
    assert!(
        after.status == 201 || after.status == 202,
        "after the abuse: {}",
        after.status
    );
    let all = statuses.len() + 1;
    assert!(
        crate::web::eventually(Duration::from_secs(10), || ta.count() == all).await,
        "{} of {all} webhooks reached alice's Target",
        ta.count()
    );
    assert!(!a.output().contains("tunnel down"), "{}", a.output());
}
