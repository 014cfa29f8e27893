//! Provider tests across providers: secrets, classification dispatch, re-signing.

use super::*;
use crate::event::{Ingress, Signature};

fn headers(pairs: &[(&str, &str)]) -> HeaderList {
    let mut h = HeaderList::default();
    for (n, v) in pairs {
        h.push(*n, *v);
    }
    h
}

fn event(provider: &str, headers: HeaderList, body: &[u8]) -> Event {
    Event {
        uid: "01TEST".into(),
        received_at: 0,
        ingress: Ingress::Local,
        method: "POST".into(),
        path: "/hooks".into(),
        query: None,
        remote_addr: None,
        headers,
        body: bytes::Bytes::copy_from_slice(body),
        class: Classification {
            provider: provider.into(),
            ..Classification::default()
        },
        derived_from: None,
    }
}

#[test]
fn recognised_by_header_in_the_guide_order() {
    let p = Providers::default();
    for (name, want) in [
        ("X-Authorization-Content-SHA256", "ayrshare"),
        ("x-github-event", "github"),
        ("Stripe-Signature", "stripe"),
        ("webhook-id", "standard-webhooks"),
        ("svix-id", "standard-webhooks"),
        ("X-Shopify-Topic", "shopify"),
        ("X-Slack-Signature", "slack"),
    ] {
        let c = p.classify_at(&headers(&[("content-type", "x"), (name, "1")]), b"", 0);
        assert_eq!(c.provider, want, "{name}");
    }
    // Two tells: the earlier provider in the guide's table wins, whatever the header order.
    let c = p.classify_at(
        &headers(&[("x-slack-signature", "v0="), ("x-github-event", "ping")]),
        b"{}",
        0,
    );
    assert_eq!(c.provider, "github");
}

#[test]
fn unknown_requests_stay_unknown_and_unchecked() {
    let p = Providers::new([("github".to_string(), "s".to_string())]);
    for body in [&b""[..], b"hello", b"{\"type\":\"x\"}", b"\xff\xfe"] {
        let c = p.classify_at(&headers(&[("content-type", "text/plain")]), body, 0);
        assert_eq!(c, Classification::default());
    }
}

#[test]
fn secrets_are_normalised_and_all_tried() {
    let p = Providers::new([
        ("SVIX".to_string(), "whsec_a".to_string()),
        ("ayrshare".to_string(), "old".to_string()),
        ("ayrshare".to_string(), "new".to_string()),
    ]);
    assert_eq!(p.secret("standard-webhooks"), Some("whsec_a"));
    assert_eq!(p.secret("ayrshare"), Some("old"));
    assert!(
        !format!("{p:?}").contains("whsec_a"),
        "Debug never shows secrets"
    );
    let body = br#"{"action":"social","refId":"r"}"#;
    let sig = hex::encode(mac::hmac_sha256(b"new", &[body]));
    let c = p.classify_at(&headers(&[(ayrshare::SIGNATURE, &sig)]), body, 0);
    assert_eq!(c.signature, Signature::Valid);
    assert_eq!(canonical("Standard_Webhooks"), Some("standard-webhooks"));
    assert_eq!(canonical("gitlab"), None);
}

#[test]
fn resigned_stripe_event_verifies_against_the_current_clock() {
    let secret = "whsec_resign";
    let p = Providers::new([("stripe".to_string(), secret.to_string())]);
    let body = br#"{"id":"evt_42","type":"invoice.paid"}"#;
    let old = headers(&[
        ("Stripe-Signature", "t=1000,v1=00"),
        ("content-type", "application/json"),
    ]);
    let captured = p.classify_at(&old, body, chrono::Utc::now().timestamp());
    assert_eq!(captured.signature, Signature::Invalid);
    let mut e = event("stripe", old, body);
    e.class = captured;
    let fresh = p.resign(&e, chrono::Utc::now().timestamp()).unwrap();
    let c = p.classify(&fresh, body);
    assert_eq!(c.signature, Signature::Valid, "{:?}", c.signature_detail);
    assert_eq!(c.provider_event_id.as_deref(), Some("evt_42"));
    assert_eq!(fresh.get_str("content-type"), Some("application/json"));
    // Independent check of the new header with the hmac crate directly.
    let value = fresh.get_str("Stripe-Signature").unwrap();
    let t = value.split(',').find_map(|p| p.strip_prefix("t=")).unwrap();
    use hmac::{KeyInit, Mac};
    let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(format!("{t}.").as_bytes());
    m.update(body);
    let want = hex::encode(m.finalize().into_bytes());
    assert!(value.ends_with(&format!("v1={want}")));
}

#[test]
fn every_provider_resigns_so_that_it_verifies_later() {
    let now = 1_800_000_000;
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [u8]);
    let cases: &[Case] = &[
        (
            "ayrshare",
            "a",
            &[(ayrshare::SIGNATURE, "x")],
            br#"{"action":"feed","hookId":"h1"}"#,
        ),
        (
            "github",
            "g",
            &[("X-GitHub-Event", "ping"), ("X-Hub-Signature", "sha1=x")],
            b"{}",
        ),
        (
            "stripe",
            "s",
            &[("Stripe-Signature", "t=1,v1=00")],
            br#"{"id":"evt_1"}"#,
        ),
        (
            "standard-webhooks",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            &[
                ("svix-id", "msg_1"),
                ("svix-timestamp", "1"),
                ("svix-signature", "v1,AA=="),
            ],
            b"{}",
        ),
        (
            "shopify",
            "sh",
            &[("X-Shopify-Topic", "orders/create")],
            b"{}",
        ),
        (
            "slack",
            "sl",
            &[
                ("X-Slack-Signature", "v0=00"),
                ("X-Slack-Request-Timestamp", "1"),
            ],
            b"command=%2Fx",
        ),
    ];
    for (provider, secret, hs, body) in cases {
        let p = Providers::new([(provider.to_string(), secret.to_string())]);
        let before = p.classify_at(&headers(hs), body, now);
        let e = event(provider, headers(hs), body);
        let fresh = p.resign(&e, now).unwrap();
        let after = p.classify_at(&fresh, body, now + 10);
        assert_eq!(
            after.signature,
            Signature::Valid,
            "{provider}: {:?}",
            after.signature_detail
        );
        assert_eq!(
            after.provider_event_id, before.provider_event_id,
            "{provider}"
        );
        assert_eq!(after.provider, *provider);
    }
}

#[test]
fn resign_without_a_secret_says_how_to_configure_one() {
    let e = event("slack", headers(&[("X-Slack-Signature", "v0=00")]), b"");
    let err = Providers::default().resign(&e, 0).unwrap_err();
    assert!(err.contains("--secret slack=SECRET"), "{err}");
    assert!(err.contains("HOOKTAP_SECRET_SLACK"), "{err}");
    let e = event("unknown", HeaderList::default(), b"");
    assert!(
        Providers::default()
            .resign(&e, 0)
            .unwrap_err()
            .contains("provider is unknown")
    );
}
