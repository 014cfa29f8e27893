//! Limits: the rate of the Relay's refusal lines, and the body limit Relay and Agent agree on
//! (the Agent states its `--max-body` in the handshake, the Relay keeps it per Channel across
//! restarts and refuses larger webhooks at ingress; an Event it acknowledged before it knew
//! stays queued and visible until an Agent can take it).

use crate::harness::*;
use crate::web::*;
use crate::{SECS, wait};

async fn post_size(client: &HttpsClient, port: u16, bytes: usize) -> Reply {
    let url = format!("https://localhost:{port}/c/alice/hooks/size");
    post(client, &url, &[], vec![b'x'; bytes]).await
}

/// The row of `channel` in `relay channel list`, split into columns: CHANNEL, AGENT, QUEUED,
/// OLDEST, TOO LARGE, REFUSED, AGENTS REFUSED, LAST SEEN, AGENT MAX BODY, CREATED.
pub fn listed(dir: &std::path::Path, channel_name: &str) -> Vec<String> {
    let out = channel(dir, &["list"]);
    let line = out
        .lines()
        .find(|l| l.starts_with(channel_name))
        .unwrap_or_else(|| panic!("no {channel_name} in:\n{out}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_event_over_the_agents_limit_stays_queued_visible_and_is_delivered_later() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    let (mut relay1, port) = relay(dir.path(), &certs, 0, &["--max-body", "1MiB"]);
    let client = provider(&certs);

    // No Agent ever connected: the Relay's own --max-body holds, so 10 KiB is stored.
    assert_eq!(post_size(&client, port, 10 << 10).await.status, 202);
    let small = ["--max-body", "1KiB"];
    let mut agent1 = agent(
        dir.path(),
        &certs,
        port,
        "alice",
        &token,
        &target.url,
        &small,
    );
    wait(&mut agent1, "tunnel connected", 20);
    let warned = wait(&mut agent1, "warning: the relay holds 1 Event", 10);
    assert!(
        warned.contains("--max-body of 1.0 KiB (largest 10.0 KiB)") && warned.contains("10KiB"),
        "{warned}"
    );
    wait(&mut relay1, "1 Event over the Agent's --max-body", 10);
    // Live traffic within the limit flows; the large one is neither refused nor sent.
    // (202 while the drain that follows the hello is still running.)
    let live = post_size(&client, port, 100).await.status;
    assert!(live == 201 || live == 202, "{live}");
    assert!(eventually(SECS(5), || target.count() == 1).await);
    assert!(eventually(SECS(5), || relay_queued(dir.path()) == 1).await);
    let states: Vec<_> = relay_events(dir.path())
        .into_iter()
        .map(|e| (e.body.len(), e.extra.unwrap()))
        .collect();
    assert_eq!(
        states,
        [(10 << 10, "queued".to_string()), (100, "delivered".into())]
    );
    let row = listed(dir.path(), "alice");
    assert_eq!(
        [&row[2], &row[4], &row[8]],
        ["1", "1", "1.0 KiB"],
        "{row:?}"
    );

    // From now on the Relay refuses what the Agent could not take, and says how to raise it.
    let over = post_size(&client, port, 2 << 10).await;
    assert_eq!(over.status, 413);
    let text = String::from_utf8_lossy(&over.body);
    assert!(
        text.contains("1.0 KiB, the limit of the Agent of channel 'alice'")
            && text.contains("hooktap listen --max-body"),
        "{text}"
    );
    wait(&mut relay1, "refused POST /hooks/size", 5);

    // The limit survives a Relay restart, with no Agent connected.
    agent1.kill9();
    relay1.kill9();
    let (_relay2, port) = relay(dir.path(), &certs, 0, &["--max-body", "1MiB"]);
    assert_eq!(post_size(&client, port, 2 << 10).await.status, 413);

    // An Agent with a larger limit gets the held Event, once.
    let large = ["--max-body", "1MiB"];
    let mut agent2 = agent(
        dir.path(),
        &certs,
        port,
        "alice",
        &token,
        &target.url,
        &large,
    );
    wait(&mut agent2, "tunnel connected", 20);
    assert!(eventually(SECS(10), || relay_queued(dir.path()) == 0).await);
    assert_eq!(target.count(), 2);
    assert_eq!(target.got.lock().unwrap()[1].body.len(), 10 << 10);
    assert!(!agent2.output().contains("warning"), "{}", agent2.output());
    let row = listed(dir.path(), "alice");
    assert_eq!(
        [&row[2], &row[4], &row[8]],
        ["0", "0", "1.0 MiB"],
        "{row:?}"
    );
    let now = post_size(&client, port, 2 << 10).await.status;
    assert!(now == 201 || now == 202, "{now}");
}

/// A bad handshake, sent by hand: a wrong token for `alice`; returns the Relay's answer.
async fn bad_handshake(certs: &Certs, port: u16) -> String {
    let mut tls = tls_connect(certs, port).await;
    let head = "GET /_hooktap/tunnel HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\n\
                upgrade: hooktap-tunnel/1\r\nhooktap-channel: alice\r\n\
                authorization: Bearer ht_wrong\r\n\r\n";
    tokio::io::AsyncWriteExt::write_all(&mut tls, head.as_bytes())
        .await
        .unwrap();
    let (answer, _, _) = read_until_closed(&mut tls, SECS(5)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Pass: an Agent refused in a loop leaves about one line a second in the Relay's log, then a
/// count of the lines held back (listen's refusal lines work the same way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_handshakes_are_logged_at_most_once_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    channel(dir.path(), &["add", "alice"]);
    let (mut relay, port) = relay(dir.path(), &certs, 0, &[]);
    let started = std::time::Instant::now();
    for _ in 0..20 {
        let answer = bad_handshake(&certs, port).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
    wait(&mut relay, "refused an Agent", 5);
    let lines = |relay: &Proc| relay.output().matches("refused an Agent").count();
    let seconds = started.elapsed().as_secs() as usize;
    assert!(
        lines(&relay) <= seconds + 1,
        "{} lines in {seconds} s:\n{}",
        lines(&relay),
        relay.output()
    );
    // Once a second has passed, the next refusal is logged with the count of the rest.
    let mut counted = false;
    for _ in 0..10 {
        bad_handshake(&certs, port).await;
        if eventually(SECS(1), || {
            relay.output().contains("more refused since the last")
        })
        .await
        {
            counted = true;
            break;
        }
    }
    assert!(counted, "{}", relay.output());
}
