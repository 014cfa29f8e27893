//! Standard Webhooks and Svix: `webhook-*` or `svix-*` headers; `v1,<base64>` entries over
//! `<id>.<timestamp>.<body>`, keyed with the base64 after `whsec_`; ±300 s tolerance.

use serde::Deserialize;

use super::json::{self, Raw, Text, nested};
use super::mac::{self, Verdict};
use crate::event::{Classification, HeaderList};

#[derive(Default, Deserialize)]
#[serde(default)]
struct Body<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    data: Raw<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Data<'a> {
    #[serde(borrow)]
    id: Text<'a>,
}

/// The header names in use: `webhook-` (the standard) or `svix-`.
fn prefix(headers: &HeaderList) -> &'static str {
    if headers.contains("webhook-id") {
        "webhook"
    } else {
        "svix"
    }
}

/// Provider, event type, message id, summary and signature verdict.
pub(crate) fn classify(
    headers: &HeaderList,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Classification {
    let p = prefix(headers);
    let b: Body = json::object(body).unwrap_or_default();
    let kind = b.kind.get().map(str::to_string);
    let data: Data = nested(b.data).unwrap_or_default();
    let mut summary = kind.clone().unwrap_or_else(|| "webhook message".into());
    if let Some(id) = data.id.get() {
        summary.push_str(&format!(" for {id}"));
    }
    if p == "svix" {
        summary.push_str(" (via Svix)");
    }
    super::classification(
        "standard-webhooks",
        kind,
        headers.get_str(&format!("{p}-id")).map(str::to_string),
        Some(summary),
        verify(headers, body, secrets, now),
    )
}

/// The HMAC key of a `whsec_<base64>` secret (a bare base64 secret works too).
fn key(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    mac::decode_base64(b64).ok_or_else(|| {
        "the configured standard-webhooks secret is not whsec_<base64>; copy it whole from \
         the provider's dashboard"
            .to_string()
    })
}

fn verify(headers: &HeaderList, body: &[u8], secrets: &[String], now: i64) -> Verdict {
    let p = prefix(headers);
    let sig_name = format!("{p}-signature");
    let Some(header) = headers.get_str(&sig_name) else {
        return Verdict::unsigned(format!("no {sig_name} header"));
    };
    if secrets.is_empty() {
        return Verdict::unchecked("standard-webhooks");
    }
    let (Some(id), Some(ts)) = (
        headers.get_str(&format!("{p}-id")),
        headers.get_str(&format!("{p}-timestamp")),
    ) else {
        return Verdict::invalid(format!("malformed: {p}-id or {p}-timestamp is missing"));
    };
    let given: Vec<Vec<u8>> = header
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter(|s| !s.is_empty())
        .filter_map(mac::decode_base64)
        .collect();
    if given.is_empty() {
        return Verdict::invalid(format!("malformed header: {sig_name} has no v1,<base64>"));
    }
    let mut key_error = None;
    let mut matched = false;
    for secret in secrets {
        match key(secret) {
            Ok(k) => {
                let expected =
                    mac::hmac_sha256(&k, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
                matched |= given.iter().any(|g| mac::macs_equal(&expected, g));
            }
            Err(e) => key_error = Some(e),
        }
    }
    if !matched {
        return Verdict::invalid(key_error.unwrap_or_else(|| {
            format!("wrong MAC: no v1 in {sig_name} matches id.timestamp.body")
        }));
    }
    match mac::check_timestamp(ts, now, true) {
        Ok(age) => Verdict::valid(format!("v1 matches; timestamp {}", mac::describe_age(age))),
        Err(why) => Verdict::invalid(why),
    }
}

/// A fresh timestamp and signature; the message id stays.
pub(crate) fn sign(
    headers: &mut HeaderList,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), String> {
    let p = prefix(headers);
    let id = headers
        .get_str(&format!("{p}-id"))
        .ok_or_else(|| format!("this Event has no {p}-id header to sign with"))?
        .to_string();
    let ts = now.to_string();
    let sig = mac::hmac_sha256(
        &key(secret)?,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
    );
    headers.set(&format!("{p}-timestamp"), ts);
    headers.set(
        &format!("{p}-signature"),
        format!("v1,{}", mac::encode_base64(&sig)),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Signature::{self, *};

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn headers(p: &str, sig: &str) -> HeaderList {
        let mut h = HeaderList::default();
        h.push(format!("{p}-id"), ID);
        h.push(format!("{p}-timestamp"), TS.to_string());
        h.push(format!("{p}-signature"), sig);
        h
    }

    fn check(sig: &str, now: i64) -> Signature {
        verify(&headers("webhook", sig), BODY, &[SECRET.into()], now).signature
    }

    #[test]
    fn known_answer_vector_both_prefixes() {
        assert_eq!(check(SIG, TS), Valid);
        let svix = verify(&headers("svix", SIG), BODY, &[SECRET.into()], TS);
        assert_eq!(svix.signature, Valid);
        assert_eq!(check(&format!("v1a,abcd v1,AAAA {SIG}"), TS), Valid);
        let mut h = headers("webhook", "");
        sign(&mut h, BODY, SECRET, TS).unwrap();
        assert_eq!(h.get_str("webhook-signature"), Some(SIG));
    }

    #[test]
    fn tolerance_both_ways() {
        assert_eq!(check(SIG, TS + 300), Valid);
        assert_eq!(check(SIG, TS - 300), Valid);
        assert_eq!(check(SIG, TS + 301), Invalid);
        assert_eq!(check(SIG, TS - 301), Invalid);
    }

    #[test]
    fn negative_cases() {
        // The empty and truncated signatures that the reference library once accepted.
        assert_eq!(check("v1,", TS), Invalid);
        assert_eq!(
            check("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3", TS),
            Invalid
        );
        assert_eq!(
            check("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=AAAA", TS),
            Invalid
        );
        assert_eq!(
            check("v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=", TS),
            Invalid
        );
        let other = verify(&headers("webhook", SIG), b"{}", &[SECRET.into()], TS);
        assert_eq!(other.signature, Invalid);
        let bad_key = verify(&headers("webhook", SIG), BODY, &["whsec_!!".into()], TS);
        assert!(bad_key.detail.unwrap().contains("whsec_<base64>"));
    }

    #[test]
    fn type_id_summary() {
        let body = br#"{"type":"invoice.paid","data":{"id":"inv_1"}}"#;
        let c = classify(&headers("svix", SIG), body, &[], TS);
        assert_eq!(c.event_type.as_deref(), Some("invoice.paid"));
        assert_eq!(c.provider_event_id.as_deref(), Some(ID));
        assert_eq!(
            c.summary.as_deref(),
            Some("invoice.paid for inv_1 (via Svix)")
        );
        assert_eq!(c.signature, Unchecked);
    }
}
