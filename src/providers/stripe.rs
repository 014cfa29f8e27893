//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>` over `<t>.<body>`, keyed with the whole
//! `whsec_…` string as bytes; 300 s tolerance for old timestamps (as Stripe's libraries).

use serde::Deserialize;

use super::json::{self, Raw, Text, nested};
use super::mac::{self, Verdict};
use crate::event::{Classification, HeaderList};

const SIGNATURE: &str = "Stripe-Signature";

#[derive(Default, Deserialize)]
#[serde(default)]
struct Body<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    livemode: Text<'a>,
    #[serde(borrow)]
    data: Raw<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Data<'a> {
    #[serde(borrow)]
    object: Raw<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Object<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    object: Text<'a>,
    #[serde(borrow)]
    amount: Text<'a>,
    #[serde(borrow)]
    amount_total: Text<'a>,
    #[serde(borrow)]
    currency: Text<'a>,
}

/// Provider, event type, `evt_` id, summary and signature verdict of a Stripe Event.
pub(crate) fn classify(
    headers: &HeaderList,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Classification {
    let b: Body = json::object(body).unwrap_or_default();
    let data: Data = nested(b.data).unwrap_or_default();
    let obj: Object = nested(data.object).unwrap_or_default();
    let kind = b.kind.get().map(str::to_string);
    let mut summary = kind.clone().unwrap_or_else(|| "Stripe event".into());
    if let Some(id) = obj.id.get() {
        summary.push_str(&format!(": {} {id}", obj.object.or("object")));
    }
    let amount = obj.amount.int().or(obj.amount_total.int());
    if let (Some(amount), Some(cur)) = (amount, obj.currency.get()) {
        summary.push_str(&format!(", {}", money(amount, cur)));
    }
    if b.livemode.get() == Some("false") {
        summary.push_str(" (test mode)");
    }
    super::classification(
        "stripe",
        kind,
        b.id.get().map(str::to_string),
        Some(summary),
        verify(headers, body, secrets, now),
    )
}

/// Minor units as people read them: `2000 usd` is `20.00 USD`, `500 jpy` is `500 JPY`.
fn money(amount: i64, currency: &str) -> String {
    const ZERO_DECIMAL: &[&str] = &[
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    let cur = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&currency.to_ascii_lowercase().as_str()) {
        format!("{amount} {cur}")
    } else {
        let sign = if amount < 0 { "-" } else { "" };
        let a = amount.unsigned_abs();
        format!("{sign}{}.{:02} {cur}", a / 100, a % 100)
    }
}

fn verify(headers: &HeaderList, body: &[u8], secrets: &[String], now: i64) -> Verdict {
    let Some(header) = headers.get_str(SIGNATURE) else {
        return Verdict::unsigned(format!("no {SIGNATURE} header"));
    };
    if secrets.is_empty() {
        return Verdict::unchecked("stripe");
    }
    let mut ts = None;
    let mut sigs = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", v)) => ts = Some(v),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let Some(ts) = ts else {
        return Verdict::invalid(format!(
            "malformed header: {SIGNATURE} has no t=<timestamp>"
        ));
    };
    let decoded: Vec<Vec<u8>> = sigs
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| mac::decode_hex(s))
        .collect();
    if decoded.is_empty() {
        return Verdict::invalid(format!("malformed header: {SIGNATURE} has no v1=<hex>"));
    }
    let matched = secrets.iter().any(|secret| {
        let expected = mac::hmac_sha256(secret.as_bytes(), &[ts.as_bytes(), b".", body]);
        decoded.iter().any(|d| mac::macs_equal(&expected, d))
    });
    if !matched {
        return Verdict::invalid(format!(
            "wrong MAC: no v1 in {SIGNATURE} matches t.body with the configured whsec_ secret"
        ));
    }
    match mac::check_timestamp(ts, now, false) {
        Ok(age) => Verdict::valid(format!("v1 matches; timestamp {}", mac::describe_age(age))),
        Err(why) => Verdict::invalid(why),
    }
}

/// A fresh `Stripe-Signature` for `now`.
pub(crate) fn sign(headers: &mut HeaderList, body: &[u8], secret: &str, now: i64) {
    let t = now.to_string();
    let sig = mac::hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", body]);
    headers.set(SIGNATURE, format!("t={t},v1={}", hex::encode(sig)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Signature::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    // From Python's hmac module (an independent oracle), frozen here.
    const V1: &str = "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31";
    const T: i64 = 1_700_000_000;

    fn headers(value: &str) -> HeaderList {
        let mut h = HeaderList::default();
        h.push(SIGNATURE, value);
        h
    }

    fn check(value: &str, body: &[u8], now: i64) -> crate::event::Signature {
        verify(&headers(value), body, &[SECRET.into()], now).signature
    }

    #[test]
    fn frozen_vector_and_tolerance() {
        let good = format!("t={T},v1={V1}");
        assert_eq!(check(&good, BODY, T), Valid);
        assert_eq!(check(&good, BODY, T + 300), Valid);
        assert_eq!(check(&good, BODY, T + 301), Invalid);
        // Stripe's libraries accept timestamps ahead of the clock.
        assert_eq!(check(&good, BODY, T - 301), Valid);
        assert_eq!(check(&format!("t={T},v1=00,v1={V1},v0=ab"), BODY, T), Valid);
    }

    #[test]
    fn negative_cases() {
        assert_eq!(check(&format!("t={T},v1="), BODY, T), Invalid);
        assert_eq!(check(&format!("t={T},v1={}", &V1[..62]), BODY, T), Invalid);
        assert_eq!(check(&format!("t={T},v1={V1}00"), BODY, T), Invalid);
        assert_eq!(check(&format!("v1={V1}"), BODY, T), Invalid);
        assert_eq!(check(&format!("t={},v1={V1}", T + 1), BODY, T), Invalid);
        assert_eq!(check(&format!("t={T},v0={V1}"), BODY, T), Invalid);
        assert_eq!(check(&format!("t={T},v1={V1}"), b"{}", T), Invalid);
        let v = verify(&headers(&format!("t={T},v1={V1}")), BODY, &[], T);
        assert_eq!(v.signature, Unchecked);
    }

    #[test]
    fn signing_round_trips() {
        let mut h = HeaderList::default();
        sign(&mut h, BODY, SECRET, T);
        assert_eq!(
            h.get_str(SIGNATURE),
            Some(format!("t={T},v1={V1}").as_str())
        );
    }

    #[test]
    fn summary_names_object_and_amount() {
        let body = br#"{"id":"evt_9","type":"charge.succeeded","livemode":false,
            "data":{"object":{"id":"ch_1","object":"charge","amount":2000,"currency":"usd"}}}"#;
        let c = classify(&HeaderList::default(), body, &[], T);
        assert_eq!(c.event_type.as_deref(), Some("charge.succeeded"));
        assert_eq!(c.provider_event_id.as_deref(), Some("evt_9"));
        assert_eq!(
            c.summary.as_deref(),
            Some("charge.succeeded: charge ch_1, 20.00 USD (test mode)")
        );
        assert_eq!(money(500, "jpy"), "500 JPY");
        assert_eq!(money(-5, "eur"), "-0.05 EUR");
    }
}
