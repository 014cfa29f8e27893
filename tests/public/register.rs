//! `--register ayrshare` against the fake API: list first, the secret rules, re-registering a
//! new URL, unregistering and restoring on exit and after a crash, and errors as one line.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::fake_api::{FakeApi, KEY};
use crate::fakes::{Fakes, command, start, wait_line};

const HOOK1: &str = "https://quiet-forest-1.trycloudflare.com/hooks/ayrshare";
const HOOK2: &str = "https://quiet-forest-2.trycloudflare.com/hooks/ayrshare";

fn sigterm_and_wait(bin: &mut crate::common::Binary) {
    std::process::Command::new("kill")
        .args(["-TERM", &bin.child.id().to_string()])
        .status()
        .unwrap();
    assert!(
        bin.child.wait().unwrap().success(),
        "{:?}",
        bin.stderr.lock().unwrap()
    );
}

fn stderr(bin: &crate::common::Binary) -> String {
    bin.stderr.lock().unwrap().join("\n")
}

/// Pass: on a clean account every default action is registered but the one the plan refuses
/// (one line); a secret is made, sent and stored 0600 in the user's config; a restarted
/// tunnel's URL is re-registered without it; a clean stop unregisters; the key never shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_every_action_with_a_new_secret_then_follows_the_url_and_unregisters() {
    let api = FakeApi::start(&[]).await;
    let fakes = Fakes::new();
    let db = fakes.dir.path().join("events.db");
    let base = api.base();
    let env = [
        ("AYRSHARE_API_KEY", KEY),
        ("HOOKTAP_AYRSHARE_API", base.as_str()),
        ("AYRSHARE_PROFILE_KEY", "prof-1"),
    ];
    let args = ["--public", "cloudflared", "--register", "ayrshare"];
    let (mut bin, _) = start(command(&fakes, &db, "http://127.0.0.1:9", &args, &env));
    let line = wait_line(&bin, "registered ", Duration::from_secs(10));
    assert_eq!(
        line,
        format!("{HOOK1} for scheduled, social, messages, batch, feed, accountActivity")
    );
    let err = stderr(&bin);
    assert!(err.contains("skipped Ayrshare's comments webhook: Ayrshare answered 403: Webhooks for comments are not available on your plan."), "{err}");
    assert!(
        err.contains("a new signing secret was sent to Ayrshare and stored in"),
        "{err}"
    );

    let config = fakes.dir.path().join("config/hooktap/config.toml");
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let secret = table["providers"]["ayrshare"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let posts = api.calls("POST");
    assert_eq!(posts.len(), 7);
    assert!(
        posts
            .iter()
            .all(|c| c.body["secret"] == secret.as_str() && c.profile.as_deref() == Some("prof-1"))
    );
    assert_eq!(api.calls("GET").len(), 1, "listed first");

    // The first real webhook verifies with the secret hooktap made.
    let body =
        br#"{"action":"social","type":"link","platform":"instagram","hookId":"h1"}"#.to_vec();
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    hmac::Mac::update(&mut mac, &body);
    let sig = hex::encode(hmac::Mac::finalize(mac).into_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let port = crate::fakes::forwarded_port(&fakes.args());
    let headers: &[(&str, &[u8])] = &[
        ("content-type", b"application/json"),
        ("x-authorization-content-sha256", sig.as_bytes()),
        ("x-authorization-timestamp", now.as_bytes()),
    ];
    crate::common::post(
        &format!("http://127.0.0.1:{port}/hooks/ayrshare"),
        headers,
        body,
    )
    .await;
    let out = crate::common::hooktap()
        .args(["list", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let event: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(event["signature"], "valid", "{event}");

    let first = fakes.pid().unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    let again = wait_line(&bin, "re-registered ", Duration::from_secs(20));
    assert_eq!(
        again,
        format!("{HOOK2} for scheduled, social, messages, batch, feed, accountActivity")
    );
    let reposts = &api.calls("POST")[7..];
    assert_eq!(reposts.len(), 6);
    assert!(
        reposts
            .iter()
            .all(|c| c.body["url"] == HOOK2 && c.body.get("secret").is_none())
    );

    sigterm_and_wait(&mut bin);
    assert_eq!(api.calls("DELETE").len(), 6);
    assert!(
        api.hooks.lock().unwrap().is_empty(),
        "what hooktap registered is gone"
    );
    let err = stderr(&bin);
    assert!(!err.contains(KEY) && !err.contains(&secret), "{err}");
}

/// Pass: someone else's webhook is left alone and no secret is sent (the profile shares it);
/// with --register-replace it is taken over and restored on exit, and after `kill -9`, at the
/// next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_webhook_is_left_alone_or_replaced_and_restored() {
    let prod = "https://prod.example.com/ayrshare";
    let api = FakeApi::start(&[("social", prod)]).await;
    let fakes = Fakes::new();
    let db = fakes.dir.path().join("events.db");
    let base = api.base();
    let env = [
        ("AYRSHARE_API_KEY", KEY),
        ("HOOKTAP_AYRSHARE_API", base.as_str()),
    ];

    let args = [
        "--public",
        "cloudflared",
        "--register",
        "ayrshare=scheduled,social",
    ];
    let (mut bin, _) = start(command(&fakes, &db, "http://127.0.0.1:9", &args, &env));
    assert_eq!(
        wait_line(&bin, "registered ", Duration::from_secs(10)),
        format!("{HOOK1} for scheduled")
    );
    let err = stderr(&bin);
    assert!(
        err.contains(&format!(
            "left Ayrshare's social webhook alone: it points to {prod}"
        )),
        "{err}"
    );
    assert!(
        err.contains("no signing secret sent: its social webhook points to"),
        "{err}"
    );
    assert!(
        api.calls("POST")
            .iter()
            .all(|c| c.body.get("secret").is_none())
    );
    sigterm_and_wait(&mut bin);
    assert_eq!(
        api.hooks.lock().unwrap().get("social").map(String::as_str),
        Some(prod)
    );

    // Replaced, then restored on a clean stop.
    let args = [
        "--public",
        "cloudflared",
        "--register",
        "ayrshare=social",
        "--register-replace",
    ];
    let (mut bin, _) = start(command(&fakes, &db, "http://127.0.0.1:9", &args, &env));
    let hook3 = "https://quiet-forest-2.trycloudflare.com/hooks/ayrshare";
    assert_eq!(
        wait_line(&bin, "registered ", Duration::from_secs(10)),
        format!("{hook3} for social")
    );
    assert!(stderr(&bin).contains("--register-replace never changes the profile's signing secret"));
    assert_eq!(api.hooks.lock().unwrap()["social"], hook3);
    sigterm_and_wait(&mut bin);
    assert!(stderr(&bin).contains(&format!("restored Ayrshare's social webhook to {prod}")));
    assert_eq!(api.hooks.lock().unwrap()["social"], prod);

    // Replaced, hooktap killed: the next start restores it first.
    let (mut bin, _) = start(command(&fakes, &db, "http://127.0.0.1:9", &args, &env));
    wait_line(&bin, "registered ", Duration::from_secs(10));
    bin.kill9();
    assert_ne!(api.hooks.lock().unwrap()["social"], prod);
    let args = [
        "--public",
        "cloudflared",
        "--register",
        "ayrshare=scheduled",
    ];
    let (mut bin, _) = start(command(&fakes, &db, "http://127.0.0.1:9", &args, &env));
    assert!(stderr(&bin).contains(&format!(
        "restored Ayrshare's social webhook to {prod} (hooktap stopped before it could)"
    )));
    assert_eq!(api.hooks.lock().unwrap()["social"], prod);
    sigterm_and_wait(&mut bin);
}

/// Pass: a bad key is one line, nothing is registered, and listen goes on capturing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_is_one_line_and_listen_goes_on() {
    let api = FakeApi::start(&[]).await;
    let fakes = Fakes::new();
    let db = fakes.dir.path().join("events.db");
    let base = api.base();
    let env = [
        ("AYRSHARE_API_KEY", "wrong-key-123"),
        ("HOOKTAP_AYRSHARE_API", base.as_str()),
    ];
    let args = ["--public", "cloudflared", "--register", "ayrshare"];
    let (mut bin, url) = start(command(&fakes, &db, "http://127.0.0.1:9", &args, &env));
    assert_eq!(url, "https://quiet-forest-1.trycloudflare.com");
    let err = stderr(&bin);
    assert!(err.contains("could not list Ayrshare's webhooks: Ayrshare answered 401: API Key not valid.; nothing registered"), "{err}");
    assert!(!err.contains("wrong-key-123"), "{err}");
    assert!(api.calls("POST").is_empty());
    assert!(bin.child.try_wait().unwrap().is_none(), "still listening");
    sigterm_and_wait(&mut bin);

    let out = command(&fakes, &db, "http://127.0.0.1:9", &args, &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AYRSHARE_API_KEY"));
}
