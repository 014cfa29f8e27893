//! Requests for every provider, signed here with the `hmac` crate directly: an implementation
//! independent of hooktap's own signer.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of the concatenated parts.
pub fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

const SW_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// `(name, provider, event type, headers, body)`.
pub type Signed = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(String, String)>,
    Vec<u8>,
);

/// A request for every provider, signed independently for `ts`.
pub fn signed_requests(ts: i64) -> Vec<Signed> {
    let t = ts.to_string();
    let mut out = Vec::new();
    let body = include_bytes!("../../assets/ayrshare/social-unlink-system.json").to_vec();
    let sig = hex::encode(hmac(b"ayr-secret", &[&body]));
    out.push((
        "ayrshare",
        "ayrshare",
        "social.unlink",
        vec![
            ("X-Authorization-Content-SHA256".into(), sig),
            ("X-Authorization-Timestamp".into(), t.clone()),
        ],
        body,
    ));
    let body = br#"{"action":"opened","pull_request":{"number":7,"title":"Hooks"},"repository":{"full_name":"acme/shop"}}"#.to_vec();
    let sig = format!("sha256={}", hex::encode(hmac(b"gh-secret", &[&body])));
    out.push((
        "github",
        "github",
        "pull_request.opened",
        vec![
            ("X-GitHub-Event".into(), "pull_request".into()),
            ("X-GitHub-Delivery".into(), "d-1".into()),
            ("X-Hub-Signature-256".into(), sig),
        ],
        body,
    ));
    let body = br#"{"id":"evt_1","type":"invoice.paid"}"#.to_vec();
    let sig = hex::encode(hmac(b"whsec_stripe", &[t.as_bytes(), b".", &body]));
    out.push((
        "stripe",
        "stripe",
        "invoice.paid",
        vec![("Stripe-Signature".into(), format!("t={t},v1={sig}"))],
        body,
    ));
    let key = B64.decode(SW_SECRET.trim_start_matches("whsec_")).unwrap();
    for (name, prefix) in [("standard-webhooks", "webhook"), ("svix", "svix")] {
        let body = br#"{"type":"user.created","data":{"id":"u_1"}}"#.to_vec();
        let sig = B64.encode(hmac(&key, &[b"msg_1.", t.as_bytes(), b".", &body]));
        out.push((
            name,
            "standard-webhooks",
            "user.created",
            vec![
                (format!("{prefix}-id"), "msg_1".into()),
                (format!("{prefix}-timestamp"), t.clone()),
                (format!("{prefix}-signature"), format!("v1,{sig}")),
            ],
            body,
        ));
    }
    let body = br#"{"id":1001,"name":"1001"}"#.to_vec();
    let sig = B64.encode(hmac(b"shop-secret", &[&body]));
    out.push((
        "shopify",
        "shopify",
        "orders/create",
        vec![
            ("X-Shopify-Topic".into(), "orders/create".into()),
            ("X-Shopify-Hmac-Sha256".into(), sig),
        ],
        body,
    ));
    let body = b"command=%2Fdeploy&user_name=dana&channel_name=ops&text=now".to_vec();
    let sig = hex::encode(hmac(b"slack-secret", &[b"v0:", t.as_bytes(), b":", &body]));
    out.push((
        "slack",
        "slack",
        "/deploy",
        vec![
            ("X-Slack-Request-Timestamp".into(), t),
            ("X-Slack-Signature".into(), format!("v0={sig}")),
        ],
        body,
    ));
    out
}

pub const SECRETS: &[&str] = &[
    "ayrshare=ayr-secret",
    "github=gh-secret",
    "stripe=whsec_stripe",
    "svix=whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "shopify=shop-secret",
    "slack=slack-secret",
];

pub fn secret_flags() -> Vec<String> {
    SECRETS
        .iter()
        .flat_map(|s| ["--secret".to_string(), s.to_string()])
        .collect()
}
