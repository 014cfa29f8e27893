//! Providers through the real binary: signatures made here with the `hmac` crate directly (not
//! hooktap's signer) verify, tampered ones do not; `--verify-enforce`; secrets from env and the
//! config file; every Ayrshare fixture's type and summary; drift, retries and TikTok links in
//! `show`; a re-signed Stripe Event; `trigger`; and `demo`.

#[path = "providers_support/mod.rs"]
mod support;

use serde_json::Value;
use support::fixtures::{FIXTURES, fixture};
use support::signed::{hmac, now, secret_flags, signed_requests};
use support::{App, Listen, hooktap, post};

#[test]
fn signed_requests_of_every_provider_verify_and_tampered_ones_do_not() {
    let app = App::start();
    let mut listen = Listen::start(&app, &secret_flags(), &[]);
    for (name, provider, kind, headers, body) in signed_requests(now()) {
        let (status, _) = post(listen.port, &format!("/{name}/ok"), &headers, &body);
        assert_eq!(status, 200, "{name}");
        let e = listen.next_event();
        assert_eq!(e["path"], format!("/{name}/ok"));
        assert_eq!(e["provider"], provider, "{name}");
        assert_eq!(e["event_type"], kind, "{name}");
        assert_eq!(e["signature"], "valid", "{name}: {e}");
        let mut tampered = body.clone();
        tampered.push(b' ');
        post(
            listen.port,
            &format!("/{name}/tampered"),
            &headers,
            &tampered,
        );
        let e = listen.next_event();
        assert_eq!(e["signature"], "invalid", "{name} tampered: {e}");
    }
    // Stale timestamps (301 s) are refused where the provider signs one.
    for (name, _, _, headers, body) in signed_requests(now() - 301) {
        post(listen.port, &format!("/{name}/stale"), &headers, &body);
        let e = listen.next_event();
        let want = if ["stripe", "standard-webhooks", "svix", "slack"].contains(&name) {
            "invalid"
        } else {
            "valid"
        };
        assert_eq!(e["signature"], want, "{name} stale: {e}");
    }
}

#[test]
fn verify_enforce_answers_401_and_records_a_rejected_delivery() {
    let app = App::start();
    let mut listen = Listen::start(&app, &secret_flags(), &["--verify-enforce"]);
    let (_, _, _, headers, body) = signed_requests(now()).swap_remove(2);
    let (status, answer) = post(listen.port, "/stripe", &headers, b"{}");
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("signature invalid"), "{answer}");
    let e = listen.next_event();
    assert_eq!(
        (e["outcome"].as_str(), e["status"].is_null()),
        (Some("rejected"), true)
    );
    assert_eq!(app.count(), 0, "a rejected Event never reaches the app");
    let (status, _) = post(
        listen.port,
        "/stripe",
        &[],
        br#"{"action":"feed","hookId":"h"}"#,
    );
    assert_eq!(
        status, 401,
        "a missing signature is refused for a provider with a secret"
    );
    listen.next_event();
    let (status, _) = post(listen.port, "/stripe", &headers, &body);
    assert_eq!(status, 200);
    assert_eq!(listen.next_event()["outcome"], "ok");
    assert_eq!(app.count(), 1);
}

#[test]
fn secrets_come_from_env_and_a_config_file_which_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = App::start();
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("hooktap").join("config.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "[providers.ayrshare]\nsecret = \"ayr-secret\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = [("HOOKTAP_SECRET_GITHUB", "gh-secret")];
    let mut listen = Listen::start_with(&app, &[], &[], config.path(), &env);
    assert!(listen.banner.contains("chmod 600"), "{}", listen.banner);
    assert!(!listen.banner.contains("ayr-secret"));
    for (name, _, _, headers, body) in signed_requests(now()).into_iter().take(2) {
        post(listen.port, "/", &headers, &body);
        assert_eq!(listen.next_event()["signature"], "valid", "{name}");
    }
    let out = hooktap(&[
        "listen",
        "--forward",
        "http://127.0.0.1:9",
        "--secret",
        "gitlab=x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown provider 'gitlab'"));
}

#[test]
fn every_ayrshare_fixture_gets_its_type_and_summary() {
    let app = App::start();
    let mut listen = Listen::start(&app, &[], &[]);
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/ayrshare"))
        .unwrap()
        .count();
    assert_eq!(files, FIXTURES.len(), "every fixture has an expectation");
    for (name, kind, summary) in FIXTURES {
        let sig = hex::encode(hmac(b"x", &[&fixture(name)]));
        post(
            listen.port,
            "/hooks/ayrshare",
            &[("X-Authorization-Content-SHA256".into(), sig)],
            &fixture(name),
        );
        let e = listen.next_event();
        assert_eq!(e["provider"], "ayrshare", "{name}");
        assert_eq!(e["event_type"], *kind, "{name}");
        assert_eq!(e["summary"], *summary, "{name}");
        assert_eq!(e["signature"], "unchecked", "{name}");
    }
}

#[test]
fn show_names_retries_tiktok_follow_ups_and_payload_drift() {
    let app = App::start();
    let mut listen = Listen::start(&app, &[], &[]);
    listen.post_samples(&[
        "scheduled",
        "scheduled-tiktok-published",
        "social-unlink-system",
        "social-unlink-system",
    ]);
    let drifted = br#"{"action":"social","type":"unlink","platform":"x","refId":"r","hookId":"new1","details":{"code":"349","message":"Account locked"},"extra":{"a":1}}"#;
    post(listen.port, "/hooks/ayrshare", &[], drifted);
    listen.next_event();
    assert!(
        listen
            .show("2")
            .contains("follow-up of #1, the scheduled Event of post Qm7xT2pLk9VbR4sNw8Ze")
    );
    assert!(
        listen
            .show("1")
            .contains("TikTok published post Qm7xT2pLk9VbR4sNw8Ze later: #2")
    );
    assert!(
        listen
            .show("4")
            .contains("provider retry: same hookId hkS4uF7jH2aK9qL1wE3r as #3")
    );
    assert!(!listen.show("3").contains("provider retry"));
    let s5 = listen.show("5");
    assert!(
        s5.contains("payload drift: new field `extra`; `details.code` is now string (was number)"),
        "{s5}"
    );
    assert!(s5.contains("`displayName`"), "{s5}");
    assert!(
        !listen.show("4").contains("payload drift"),
        "a known shape is no drift"
    );
}

/// Pass: a follow-up names the nearest earlier `scheduled` Event of its post, and when that one
/// is Ayrshare's retry (same hookId), the first delivery of it; the scheduled Event names the
/// follow-up after it.
#[test]
fn a_follow_up_names_the_first_delivery_of_its_scheduled_event() {
    let app = App::start();
    let mut listen = Listen::start(&app, &[], &[]);
    listen.post_samples(&[
        "scheduled",
        "social-unlink-system",
        "scheduled",
        "scheduled-tiktok-published",
    ]);
    let s4 = listen.show("4");
    assert!(
        s4.contains("follow-up of #1, the scheduled Event of post Qm7xT2pLk9VbR4sNw8Ze"),
        "{s4}"
    );
    assert!(
        listen.show("3").contains("provider retry"),
        "#3 is the retry"
    );
    assert!(
        listen
            .show("1")
            .contains("TikTok published post Qm7xT2pLk9VbR4sNw8Ze later: #4")
    );
    // Once the first delivery is pruned, the retry that is left stands for it.
    assert!(listen.cli(&["prune", "--keep", "2"]).status.success());
    let s4 = listen.show("4");
    assert!(
        s4.contains("follow-up of #3, the scheduled Event of post Qm7xT2pLk9VbR4sNw8Ze"),
        "{s4}"
    );
}

/// Pass: `replay --resign` of a stale Stripe Event sends a fresh signature that verifies against
/// the current clock (the replay goes back into hooktap, which checks it), with the same event id.
#[test]
fn a_resigned_stripe_replay_verifies_against_the_current_clock() {
    let app = App::start();
    let mut listen = Listen::start(&app, &secret_flags(), &[]);
    let (_, _, _, headers, body) = signed_requests(now() - 3600).swap_remove(2);
    post(listen.port, "/stripe", &headers, &body);
    let e = listen.next_event();
    assert_eq!(e["signature"], "invalid", "an hour old: stale");
    let id = e["id"].to_string();
    let db = listen.db.to_str().unwrap().to_string();
    let to = format!("http://127.0.0.1:{}", listen.port);

    // Without a secret, --resign says how to configure one.
    let out = hooktap(&["replay", &id, "--resign", "--to", &to, "--db", &db]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stripe"), "{err}");

    let out = hooktap(&[
        "replay",
        &id,
        "--resign",
        "--secret",
        "stripe=whsec_stripe",
        "--to",
        &to,
        "--db",
        &db,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = listen.next_event();
    assert_eq!(e["signature"], "valid", "{e}");
    assert_eq!(e["provider_event_id"], "evt_1");
    assert_eq!(e["body_sha256"], hex_sha256(&body));
}

fn hex_sha256(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

#[test]
fn trigger_sends_a_sample_that_an_independent_hmac_verifies() {
    let app = App::start();
    let url = format!("http://127.0.0.1:{}/hooks/ayrshare", app.port);
    let out = hooktap(&[
        "trigger",
        "ayrshare",
        "social-unlink",
        "--to",
        &url,
        "--secret",
        "trig",
        "--set",
        "details.message=Account locked",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("answer: 200"));
    let (headers, body) = app.last().unwrap();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("x-authorization-content-sha256"),
        Some(hex::encode(hmac(b"trig", &[&body])))
    );
    assert_eq!(
        get("x-forwarded-proto"),
        None,
        "sent as the provider, not a proxy"
    );
    let ts: i64 = get("x-authorization-timestamp").unwrap().parse().unwrap();
    assert!((now() - ts).abs() < 60);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["details"]["message"], "Account locked");
    assert_ne!(json["hookId"], "hkS4uF7jH2aK9qL1wE3r", "fresh hookId");
    assert!(
        std::str::from_utf8(&body)
            .unwrap()
            .starts_with("{\n  \"action\": \"social\"")
    );

    let list = String::from_utf8(hooktap(&["trigger", "--list"]).stdout).unwrap();
    for name in [
        "scheduled",
        "scheduled-error",
        "tiktok-published",
        "social-link",
        "social-unlink",
        "social-refresh",
        "message",
        "message-read-facebook",
        "message-read-instagram",
        "reaction-created",
        "reaction-deleted",
        "batch",
        "feed",
        "comments",
    ] {
        assert!(list.contains(&format!("  {name} ")), "--list names {name}");
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = hooktap(&[
        "trigger",
        "ayrshare",
        "feed",
        "--to",
        &format!("http://127.0.0.1:{closed}/"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
    assert_eq!(
        hooktap(&["trigger", "ayrshare", "nope"]).status.code(),
        Some(2)
    );
}

#[test]
fn demo_runs_its_story_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (lines, child) = support::spawn_lines(&["demo", "--no-tui", "--db", db.to_str().unwrap()]);
    let mut deliveries = 0;
    while deliveries < 10 {
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("demo output");
        if line.contains("  #") {
            deliveries += 1;
        }
    }
    support::interrupt(&child);
    assert!(child.wait_with_output().unwrap().status.success());
    let out = hooktap(&["list", "--json", "--db", db.to_str().unwrap()]);
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 10);
    assert!(events.iter().all(|e| e["provider"] == "ayrshare"));
    assert_eq!(events.iter().filter(|e| e["status"] == 500).count(), 1);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["signature"] == "invalid")
            .count(),
        1
    );
    assert_eq!(
        events.iter().filter(|e| e["signature"] == "valid").count(),
        9
    );
}

/// Pass: `demo --for` ends by itself (what was sent by then kept), and says so at the start;
/// without it, the start says how to leave.
#[test]
fn demo_says_how_to_leave_and_for_ends_it_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = hooktap(&[
        "demo",
        "--no-tui",
        "--for",
        "1s",
        "--db",
        db.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("ends by itself in 1s"), "{err}");
    let listed = hooktap(&["list", "--json", "--db", db.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&listed.stdout).lines().count() >= 1);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hooktap"))
        .args(["demo", "--no-tui"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let said = stderr
        .by_ref()
        .map_while(Result::ok)
        .take(6)
        .any(|l| l.contains("q in the UI, or Ctrl-C, ends it"));
    support::interrupt(&child);
    // Read to the end: a closed stderr would fail the demo's last lines.
    stderr.for_each(drop);
    assert!(child.wait().unwrap().success());
    assert!(said, "the start lines say how to leave");
}

/// Every provider and event `trigger` knows: sent to a plain app, it arrives with the provider's
/// headers; its signature verifies with an HMAC computed here (not hooktap's signer) and by
/// hooktap's provider checks, which also name the provider and event type. `--set json:` edits
/// an existing field; a missing path is an error.
#[test]
fn trigger_every_provider_and_event_signed_as_the_provider_signs() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let app = App::start();
    let cases = [
        (
            "github",
            &["push", "pull_request.opened", "issues.opened", "ping"][..],
        ),
        (
            "stripe",
            &[
                "payment_intent.succeeded",
                "checkout.session.completed",
                "invoice.paid",
                "customer.subscription.updated",
            ][..],
        ),
        ("standard-webhooks", &["user.created", "invoice.paid"][..]),
        ("shopify", &["orders/create", "app/uninstalled"][..]),
        ("slack", &["url_verification", "event_callback"][..]),
    ];
    let secrets = [
        ("github", "gh-secret"),
        ("stripe", "whsec_stripe"),
        (
            "standard-webhooks",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("shopify", "shpss_secret"),
        ("slack", "slack-secret"),
    ];
    for (provider, events) in cases {
        let secret = secrets.iter().find(|(p, _)| *p == provider).unwrap().1;
        for event in events {
            let url = format!("http://127.0.0.1:{}/hooks/{provider}", app.port);
            let out = hooktap(&["trigger", provider, event, "--to", &url, "--secret", secret]);
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{provider} {event}: {said} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(said.contains("answer: 200"), "{said}");
            let (headers, body) = app.last().unwrap();
            let get = |n: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("{provider} {event}: no {n} header"))
            };
            let key = secret.as_bytes();
            match provider {
                "github" => {
                    let want = format!("sha256={}", hex::encode(hmac(key, &[&body])));
                    assert_eq!(get("x-hub-signature-256"), want);
                    assert_eq!(get("x-github-event"), event.split('.').next().unwrap());
                }
                "stripe" => {
                    let sig = get("stripe-signature");
                    let t = sig
                        .split(',')
                        .next()
                        .unwrap()
                        .strip_prefix("t=")
                        .unwrap()
                        .to_string();
                    let v1 = hex::encode(hmac(key, &[t.as_bytes(), b".", &body]));
                    assert_eq!(sig, format!("t={t},v1={v1}"));
                }
                "standard-webhooks" => {
                    let raw = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
                    let (id, ts) = (get("webhook-id"), get("webhook-timestamp"));
                    let mac = hmac(&raw, &[id.as_bytes(), b".", ts.as_bytes(), b".", &body]);
                    assert_eq!(get("webhook-signature"), format!("v1,{}", b64.encode(mac)));
                }
                "shopify" => {
                    assert_eq!(
                        get("x-shopify-hmac-sha256"),
                        b64.encode(hmac(key, &[&body]))
                    );
                    assert_eq!(get("x-shopify-topic"), *event);
                }
                "slack" => {
                    let ts = get("x-slack-request-timestamp");
                    let mac = hmac(key, &[b"v0:", ts.as_bytes(), b":", &body]);
                    assert_eq!(get("x-slack-signature"), format!("v0={}", hex::encode(mac)));
                }
                _ => unreachable!(),
            }
            let mut list = hooktap::event::HeaderList::default();
            for (n, v) in &headers {
                list.push(n.as_str(), v.as_bytes().to_vec());
            }
            let p =
                hooktap::providers::Providers::new([(provider.to_string(), secret.to_string())]);
            let c = p.classify_at(&list, &body, now());
            assert_eq!(c.provider, provider, "{event}");
            assert_eq!(
                c.signature,
                hooktap::event::Signature::Valid,
                "{provider} {event}: {:?}",
                c.signature_detail
            );
            // GitHub and a Slack event_callback are typed by what is inside (push, app_mention).
            if provider != "github" && *event != "event_callback" {
                assert_eq!(c.event_type.as_deref(), Some(*event), "{provider}");
            }
        }
    }
    let url = format!("http://127.0.0.1:{}/hooks/stripe", app.port);
    let set = "json:.data.object.amount=4242";
    let out = hooktap(&[
        "trigger",
        "stripe",
        "payment_intent.succeeded",
        "--to",
        &url,
        "--set",
        set,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed with a new secret"));
    let json: Value = serde_json::from_slice(&app.last().unwrap().1).unwrap();
    assert_eq!(json["data"]["object"]["amount"], 4242);
    let out = hooktap(&[
        "trigger",
        "stripe",
        "invoice.paid",
        "--to",
        &url,
        "--set",
        "json:.nope.x=1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}
