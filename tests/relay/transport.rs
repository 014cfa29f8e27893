//! The Tunnel's transports: WebSocket (the Agent's default) and the older `hooktap-tunnel/1`
//! Upgrade side by side on one Relay, and a new Agent meeting an older Relay.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;
use crate::web::*;
use crate::{SECS, wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_agents_upgrade_and_a_websocket_agent_both_deliver() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let old_token = channel(dir.path(), &["add", "old"]);
    let new_token = channel(dir.path(), &["add", "new"]);
    let (mut relay, port) = relay(dir.path(), &certs, 0, &[]);
    let upgrade = ["--relay-transport", "upgrade"];
    let mut old = agent(
        dir.path(),
        &certs,
        port,
        "old",
        &old_token,
        &target.url,
        &upgrade,
    );
    let mut new = agent(
        dir.path(),
        &certs,
        port,
        "new",
        &new_token,
        &target.url,
        &[],
    );
    wait(&mut old, "tunnel connected", 20);
    wait(&mut new, "tunnel connected", 20);
    wait(&mut relay, "Agent connected", 5);
    let client = provider(&certs);
    for name in ["old", "new"] {
        let url = format!("https://localhost:{port}/c/{name}/hooks/{name}");
        let reply = post(&client, &url, &[], format!("via {name}")).await;
        assert_eq!(reply.status, 201, "{name}: {:?}", reply.body);
    }
    let mut bodies = target.bodies();
    bodies.sort();
    assert_eq!(bodies, vec!["via new".to_string(), "via old".to_string()]);
}

/// An older Relay refuses `Upgrade: websocket` with `400 expected Upgrade: hooktap-tunnel/1`
/// (and no header naming its transports): the Agent stops and says to upgrade the Relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_agent_meeting_an_older_relay_says_to_upgrade_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::start().await;
    let old_relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = old_relay.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = old_relay.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "hooktap: expected Upgrade: hooktap-tunnel/1\n";
                let answer = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    let db = dir.path().join("agent.db");
    let mut args = crate::common::listen_args(&target.url, &db);
    args.extend(
        [
            "--relay",
            &format!("http://127.0.0.1:{port}"),
            "--channel",
            "alice",
            "--token",
            "ht_x",
        ]
        .map(String::from),
    );
    let mut agent = Proc::spawn("agent", &args);
    let line = wait(&mut agent, "runs an older hooktap", 20);
    assert!(line.contains("upgrade it"), "{line}");
    assert!(
        line.contains("expected Upgrade: hooktap-tunnel/1"),
        "{line}"
    );
    let status = tokio::task::block_in_place(|| agent.wait_exit(SECS(10)));
    assert!(!status.success(), "the Agent stops: retrying cannot help");
}
