//! `hooktap relay channel list` beside a running Relay: whether an Agent is connected, Events
//! queued and the oldest one's age, webhooks and Agents refused.

use crate::harness::*;
use crate::limits::listed;
use crate::web::*;
use crate::{SECS, wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_list_shows_the_agent_the_queue_and_refusals_of_the_running_relay() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    channel(dir.path(), &["add", "bob"]);
    let fast = ["--status-every", "100ms", "--max-body", "1KiB"];
    let (mut relay, port) = relay(dir.path(), &certs, 0, &fast);
    let client = provider(&certs);
    let cols = listed(dir.path(), "alice");
    assert_eq!(
        (cols[1].as_str(), cols[2].as_str(), cols[3].as_str()),
        ("no", "0", "-")
    );

    // bob has no Agent: two Events wait; one too large for the Relay is refused.
    for body in ["one", "two"] {
        let url = format!("https://localhost:{port}/c/bob/x");
        assert_eq!(post(&client, &url, &[], body).await.status, 202);
    }
    let big = vec![b'x'; 4096];
    let url = format!("https://localhost:{port}/c/bob/big");
    assert_eq!(post(&client, &url, &[], big).await.status, 413);
    assert!(eventually(SECS(10), || listed(dir.path(), "bob")[5] == "1").await);
    let bob = listed(dir.path(), "bob");
    assert_eq!(bob[2], "2", "{bob:?}");
    assert!(bob[3].ends_with(" s"), "oldest queued age: {bob:?}");

    // alice's Agent connects; a second one with a wrong token is refused.
    let mut agent1 = agent(dir.path(), &certs, port, "alice", &token, &target.url, &[]);
    wait(&mut agent1, "tunnel connected", 20);
    let cols = listed(dir.path(), "alice");
    assert!(cols[1].starts_with("connected (seen "), "{cols:?}");
    let mut wrong = agent(
        dir.path(),
        &certs,
        port,
        "alice",
        "ht_wrong",
        &target.url,
        &[],
    );
    wait(&mut wrong, "wrong or revoked token", 20);
    assert!(eventually(SECS(10), || listed(dir.path(), "alice")[6] == "1").await);

    // The Agent goes: no longer connected.
    agent1.kill9();
    wait(&mut relay, "alice  Agent gone", 10);
    assert!(eventually(SECS(10), || listed(dir.path(), "alice")[1] == "no").await);

    // A Relay killed with an Agent connected cannot say so; the next one clears it at start.
    let mut agent2 = agent(dir.path(), &certs, port, "alice", &token, &target.url, &[]);
    wait(&mut agent2, "tunnel connected", 20);
    assert!(eventually(SECS(10), || listed(dir.path(), "alice")[1] != "no").await);
    relay.kill9();
    let cols = listed(dir.path(), "alice");
    assert!(cols[1].starts_with("connected (seen "), "{cols:?}");
    // On another port: agent2 does not find it.
    let (_relay, _) = crate::harness::relay(dir.path(), &certs, 0, &fast);
    let cols = listed(dir.path(), "alice");
    assert_eq!(cols[1], "no", "{cols:?}");
}
