//! Shopify: `X-Shopify-Topic` is the event type; `X-Shopify-Hmac-Sha256` is the base64
//! HMAC-SHA256 of the raw body (no timestamp).

use serde::Deserialize;

use super::json::{self, Text};
use super::mac::{self, Verdict};
use crate::event::{Classification, HeaderList};

const TOPIC: &str = "X-Shopify-Topic";
const SIGNATURE: &str = "X-Shopify-Hmac-Sha256";
const WEBHOOK_ID: &str = "X-Shopify-Webhook-Id";
const SHOP: &str = "X-Shopify-Shop-Domain";

#[derive(Default, Deserialize)]
#[serde(default)]
struct Body<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    title: Text<'a>,
    #[serde(borrow)]
    total_price: Text<'a>,
    #[serde(borrow)]
    currency: Text<'a>,
}

/// Provider, topic, webhook id, summary and signature verdict of a Shopify Event.
pub(crate) fn classify(
    headers: &HeaderList,
    body: &[u8],
    secrets: &[String],
    _now: i64,
) -> Classification {
    let topic = headers
        .get_str(TOPIC)
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let b: Body = json::object(body).unwrap_or_default();
    let mut summary = topic.clone();
    if let Some(shop) = headers.get_str(SHOP) {
        summary.push_str(&format!(" on {shop}"));
    }
    let what = b.name.get().or(b.title.get());
    match (what, b.id.get()) {
        (Some(name), Some(id)) => summary.push_str(&format!(": {name} (id {id})")),
        (Some(name), None) => summary.push_str(&format!(": {name}")),
        (None, Some(id)) => summary.push_str(&format!(": id {id}")),
        (None, None) => {}
    }
    if let (Some(total), Some(cur)) = (b.total_price.get(), b.currency.get()) {
        summary.push_str(&format!(", {total} {cur}"));
    }
    super::classification(
        "shopify",
        Some(topic),
        headers.get_str(WEBHOOK_ID).map(str::to_string),
        Some(summary),
        verify(headers, body, secrets),
    )
}

fn verify(headers: &HeaderList, body: &[u8], secrets: &[String]) -> Verdict {
    let Some(header) = headers.get_str(SIGNATURE) else {
        return Verdict::unsigned(format!("no {SIGNATURE} header"));
    };
    if secrets.is_empty() {
        return Verdict::unchecked("shopify");
    }
    let Some(given) = Some(header.trim())
        .filter(|h| !h.is_empty())
        .and_then(mac::decode_base64)
    else {
        return Verdict::invalid(format!("malformed header: {SIGNATURE} is not base64"));
    };
    for secret in secrets {
        if mac::macs_equal(&mac::hmac_sha256(secret.as_bytes(), &[body]), &given) {
            return Verdict::valid(format!("HMAC-SHA256 of the body matches {SIGNATURE}"));
        }
    }
    Verdict::invalid(format!(
        "wrong MAC: {SIGNATURE} does not match the body with the configured secret (after a \
         secret rotation Shopify may use the old one for up to an hour)"
    ))
}

/// Recomputes `X-Shopify-Hmac-Sha256` (Shopify signs no timestamp).
pub(crate) fn sign(headers: &mut HeaderList, body: &[u8], secret: &str) {
    let sig = mac::hmac_sha256(secret.as_bytes(), &[body]);
    headers.set(SIGNATURE, mac::encode_base64(&sig));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Signature::*;

    const SECRET: &str = "shpss_secret";
    const BODY: &[u8] = br#"{"id":820982911946154508}"#;
    // From Python's hmac and base64 modules (an independent oracle), frozen here.
    const SIG: &str = "jqbalbO3Z8mDmrF2/+wzM3KYvbgqzVBF969vgiIy80I=";

    fn check(sig: &str, body: &[u8]) -> crate::event::Signature {
        let mut h = HeaderList::default();
        h.push(TOPIC, "orders/create");
        h.push(SIGNATURE, sig);
        verify(&h, body, &[SECRET.into()]).signature
    }

    #[test]
    fn frozen_vector() {
        assert_eq!(check(SIG, BODY), Valid);
        let mut h = HeaderList::default();
        sign(&mut h, BODY, SECRET);
        assert_eq!(h.get_str(SIGNATURE), Some(SIG));
    }

    #[test]
    fn negative_cases() {
        assert_eq!(check("", BODY), Invalid);
        assert_eq!(check(&SIG[..40], BODY), Invalid);
        assert_eq!(
            check("jqbalbO3Z8mDmrF2/+wzM3KYvbgqzVBF969vgiIy80IAAA==", BODY),
            Invalid
        );
        assert_eq!(check("not base64!", BODY), Invalid);
        assert_eq!(check(SIG, b"{}"), Invalid);
        assert_eq!(
            verify(&HeaderList::default(), BODY, &[SECRET.into()]).signature,
            Unsigned
        );
    }

    #[test]
    fn topic_and_summary() {
        let mut h = HeaderList::default();
        h.push(TOPIC, "orders/create");
        h.push(SHOP, "acme.myshopify.com");
        h.push(WEBHOOK_ID, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
        let body = br##"{"id":820982911946154508,"name":"#1001","total_price":"199.00","currency":"USD"}"##;
        let c = classify(&h, body, &[], 0);
        assert_eq!(c.event_type.as_deref(), Some("orders/create"));
        assert_eq!(
            c.summary.as_deref(),
            Some("orders/create on acme.myshopify.com: #1001 (id 820982911946154508), 199.00 USD")
        );
        assert_eq!(
            c.provider_event_id.as_deref(),
            Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
        );
    }
}
