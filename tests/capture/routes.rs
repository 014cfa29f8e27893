//! Where each Event goes: `--route` by prefix and by filter, `--forward` as the default or
//! none at all, `--mock` answers and delays, `--fail` schedules over a provider's retries,
//! `--only`, `-H`, and a config file's `[listen]` under the flags.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{Behaviour, Binary, TestTarget, hooktap, ok_on, post};
use hooktap::store::Reader;

/// `listen --port 0 --no-tui --db DB EXTRA...` (no `--forward` unless in `extra`).
fn listen(db: &Path, extra: &[&str]) -> Binary {
    let mut cmd = hooktap();
    cmd.args(["listen", "--port", "0", "--no-tui", "--db"])
        .arg(db)
        .args(extra);
    Binary::spawn(cmd)
}

fn port(t: &TestTarget) -> String {
    t.addr.port().to_string()
}

/// `show ID --json`'s deliveries.
fn deliveries(db: &Path, id: i64) -> Vec<serde_json::Value> {
    let out = ok_on(db, &["show", &id.to_string(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["deliveries"].as_array().unwrap().clone()
}

const AYRSHARE: &[u8] = br#"{"action":"social","hookId":"hook-1","type":"unlink"}"#;

/// Pass: prefix routes (longest first, strip), a filter route, and the default each get what
/// they should, with the path as sent (or stripped).
#[tokio::test]
async fn prefix_and_filter_routes_then_the_default() {
    let mut gh = TestTarget::start(Behaviour::Status(201)).await;
    let mut app = TestTarget::start(Behaviour::Status(202)).await;
    let mut ayr = TestTarget::start(Behaviour::Status(203)).await;
    let mut default = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let r1 = format!("/gh -> {}", port(&gh));
    let r2 = format!("/gh/app -> {} strip", app.url());
    let r3 = format!("provider:ayrshare -> :{}", port(&ayr));
    let bin = listen(
        &db,
        &[
            "--route",
            &r1,
            "--route",
            &r2,
            "--route",
            &r3,
            "--forward",
            &port(&default),
        ],
    );
    assert_eq!(
        post(&bin.url("/gh/push?a=1"), &[], b"{}".to_vec()).await.0,
        201
    );
    assert_eq!(gh.received.recv().await.unwrap().uri, "/gh/push?a=1");
    assert_eq!(
        post(&bin.url("/gh/app/x"), &[], b"{}".to_vec()).await.0,
        202
    );
    assert_eq!(app.received.recv().await.unwrap().uri, "/x");
    assert_eq!(
        post(&bin.url("/hooks/a"), &[], AYRSHARE.to_vec()).await.0,
        203
    );
    assert_eq!(ayr.received.recv().await.unwrap().uri, "/hooks/a");
    assert_eq!(post(&bin.url("/ghx"), &[], b"{}".to_vec()).await.0, 200);
    assert_eq!(default.received.recv().await.unwrap().uri, "/ghx");
    let d = deliveries(&db, 2);
    assert_eq!(d[0]["target"], format!("{}/x", app.url()));
    assert_eq!(d[0]["kind"], "original");
}

/// Pass: with no `--forward`, what no route takes is answered by `--mock` (after its delay),
/// stored with a `mock` Delivery recording that answer; `list` says `mocked`.
#[tokio::test]
async fn no_default_is_answered_by_the_mock_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let body = dir.path().join("reply.json");
    std::fs::write(&body, br#"{"ok":false}"#).unwrap();
    let spec = format!(
        "status=503,delay=300ms,body=@{},header=Retry-After:5",
        body.display()
    );
    let bin = listen(
        &db,
        &["--route", "/legacy -> mock:status=410", "--mock", &spec],
    );
    let started = Instant::now();
    let (status, headers, reply) = post(&bin.url("/hooks"), &[], b"{}".to_vec()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the delay is kept"
    );
    assert_eq!((status, &reply[..]), (503, &br#"{"ok":false}"#[..]));
    assert!(headers.iter().any(|(n, v)| n == "retry-after" && v == "5"));
    assert_eq!(
        post(&bin.url("/legacy/x"), &[], b"{}".to_vec()).await.0,
        410
    );
    let d = deliveries(&db, 1);
    assert_eq!(d[0]["kind"], "mock");
    assert_eq!(d[0]["status"], 503);
    assert_eq!(d[0]["outcome"], "mocked");
    assert_eq!(d[0]["body"], r#"{"ok":false}"#);
    assert!(
        d[0]["target"]
            .as_str()
            .unwrap()
            .starts_with("mock:status=503")
    );
    let list = ok_on(&db, &["list", "--json"]);
    assert!(
        list.lines().all(|l| l.contains(r#""outcome":"mocked""#)),
        "{list}"
    );
    // Without a route or --forward, the default mock answers 200.
    let db2 = dir.path().join("bare.db");
    let bare = listen(&db2, &[]);
    assert_eq!(post(&bare.url("/x"), &[], b"{}".to_vec()).await.0, 200);
    assert_eq!(deliveries(&db2, 1)[0]["target"], "mock:status=200");
}

/// Pass: `--fail first:2` fails the first two deliveries of each provider event id (a provider
/// retrying the same hookId), then forwards; another id starts its own count.
#[tokio::test]
async fn fail_first_n_follows_a_provider_retry_sequence() {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = Binary::listen(&db, &target.url(), &["--fail", "first:2"]);
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(post(&bin.url("/hooks"), &[], AYRSHARE.to_vec()).await.0);
    }
    let other = br#"{"action":"social","hookId":"hook-2","type":"unlink"}"#;
    got.push(post(&bin.url("/hooks"), &[], other.to_vec()).await.0);
    assert_eq!(got, [503, 503, 200, 503]);
    assert_eq!(target.count(), 1);
    let kinds: Vec<String> = (1..=4)
        .map(|id| deliveries(&db, id)[0]["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["mock", "mock", "original", "mock"]);
    assert_eq!(deliveries(&db, 1)[0]["target"], "fail:first:2");
}

/// Pass: `--only` forwards what matches; the rest is stored and mocked. `-H` reaches the app
/// but is not stored as part of the Event.
#[tokio::test]
async fn only_and_extra_headers() {
    let mut target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let args = [
        "--only",
        "provider:ayrshare",
        "-H",
        "X-Env: dev",
        "--mock",
        "status=204",
    ];
    let bin = Binary::listen(&db, &target.url(), &args);
    assert_eq!(post(&bin.url("/other"), &[], b"{}".to_vec()).await.0, 204);
    assert_eq!(
        post(&bin.url("/hooks"), &[], AYRSHARE.to_vec()).await.0,
        200
    );
    let seen = target.received.recv().await.unwrap();
    assert_eq!(seen.uri, "/hooks");
    assert!(
        seen.headers
            .iter()
            .any(|(n, v)| n == "x-env" && v == b"dev")
    );
    assert_eq!(target.count(), 1);
    let shown = ok_on(&db, &["show", "2", "--json"]);
    let event: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert!(!event["headers"].to_string().contains("x-env"), "{shown}");
    assert_eq!(deliveries(&db, 1)[0]["kind"], "mock");
}

/// Pass: a config file's `[listen]` gives routes and the default; a flag wins over it; a bad
/// route in it is a usage error naming the file.
#[tokio::test]
async fn config_file_under_the_flags() {
    let mut from_file = TestTarget::start(Behaviour::Status(201)).await;
    let mut from_flag = TestTarget::start(Behaviour::Status(202)).await;
    let routed = TestTarget::start(Behaviour::Status(203)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let config = dir.path().join("hooktap.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\nforward = \"{}\"\nroutes = [\"/r -> {}\"]\n",
            port(&from_file),
            routed.url()
        ),
    )
    .unwrap();
    let conf = config.to_str().unwrap();
    let bin = listen(&db, &["--config", conf]);
    assert_eq!(post(&bin.url("/a"), &[], b"{}".to_vec()).await.0, 201);
    assert_eq!(post(&bin.url("/r/a"), &[], b"{}".to_vec()).await.0, 203);
    from_file.received.recv().await.unwrap();
    drop(bin);
    let bin = listen(&db, &["--config", conf, "--forward", &from_flag.url()]);
    assert_eq!(post(&bin.url("/b"), &[], b"{}".to_vec()).await.0, 202);
    from_flag.received.recv().await.unwrap();
    std::fs::write(&config, "[listen]\nroutes = [\"/r 4000\"]\n").unwrap();
    let out = hooktap()
        .args([
            "listen", "--no-tui", "--port", "0", "--config", conf, "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no ' -> '") && err.contains("hooktap.toml"),
        "{err}"
    );
    let _ = Reader::open(&db).unwrap();
}

/// Pass: `trigger` without `--to` finds the `listen` running on the same Store through its
/// runtime file (0600), whatever port it got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_finds_the_running_listen() {
    use std::os::unix::fs::PermissionsExt;
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = Binary::listen(&db, &target.url(), &[]);
    let runtime = dir.path().join("events.db.runtime.json");
    let mode = std::fs::metadata(&runtime).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let out = hooktap()
        .args(["trigger", "github", "ping", "--secret", "s", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(":{}/hooks/github", bin.addr.port())),
        "{said}"
    );
    let list = ok_on(&db, &["list", "--json"]);
    assert!(list.contains(r#""provider":"github""#), "{list}");
}
