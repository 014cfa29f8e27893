//! The prefixed signatures: GitHub `X-Hub-Signature-256: sha256=<hex>` (and legacy
//! `X-Hub-Signature`), Slack `X-Slack-Signature: v0=<hex>` with `X-Slack-Request-Timestamp`,
//! and Shopify's base64 `X-Shopify-Hmac-Sha256`; none panics, and a re-signed Event verifies.
#![no_main]

use hooktap_fuzz::{NOW, fields, headers, resigned_verifies, with_secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let f = fields(data, 4);
    let get = |i: usize| f.get(i).copied();
    let body = get(3).unwrap_or_default();
    let (providers, h) = match selector % 3 {
        0 => (
            with_secret("github", "It's a Secret to Everybody", "other"),
            headers(&[
                ("X-GitHub-Event", get(0)),
                ("X-Hub-Signature-256", get(1)),
                ("X-Hub-Signature", get(2)),
            ]),
        ),
        1 => (
            with_secret("slack", "8f742231b10e8888abcd99yyyzzz85a5", "other"),
            headers(&[
                ("X-Slack-Signature", get(0)),
                ("X-Slack-Request-Timestamp", get(1)),
                ("content-type", get(2)),
            ]),
        ),
        _ => (
            with_secret("shopify", "shpss_secret", "other"),
            headers(&[
                ("X-Shopify-Topic", get(0)),
                ("X-Shopify-Hmac-Sha256", get(1)),
                ("X-Shopify-Webhook-Id", get(2)),
            ]),
        ),
    };
    let _ = providers.classify_at(&h, body, NOW);
    resigned_verifies(&providers, h, body);
});
