//! Relay and Agent end to end: a real `hooktap relay` and `hooktap listen --relay` talking TLS
//! on 127.0.0.1 with certificates made here, a recording Target, and webhooks posted over TLS.

mod acme;
#[path = "../common/mod.rs"]
mod common;
mod fault;
mod faults;
mod harness;
mod limits;
mod nginx;
mod refusals;
mod status;
mod transport;
mod trust;
mod web;

use std::time::Duration;

use harness::*;
use web::*;

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
    client: &HttpsClient,
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
