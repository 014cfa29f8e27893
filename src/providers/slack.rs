//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:<timestamp>:<body>` with
//! `X-Slack-Request-Timestamp`; ±300 s tolerance. Events API bodies are JSON; slash commands
//! and interactions are form-encoded.

use serde::Deserialize;

use super::json::{self, Raw, Text, nested};
use super::mac::{self, Verdict, clip};
use crate::event::{Classification, HeaderList};

const SIGNATURE: &str = "X-Slack-Signature";
const TIMESTAMP: &str = "X-Slack-Request-Timestamp";

#[derive(Default, Deserialize)]
#[serde(default)]
struct Body<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    event_id: Text<'a>,
    #[serde(borrow)]
    trigger_id: Text<'a>,
    #[serde(borrow)]
    event: Raw<'a>,
    #[serde(borrow)]
    user: Raw<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Inner<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    user: Text<'a>,
    #[serde(borrow)]
    username: Text<'a>,
    #[serde(borrow)]
    channel: Text<'a>,
    #[serde(borrow)]
    text: Text<'a>,
}

/// Provider, event type, event id, summary and signature verdict of a Slack Event.
pub(crate) fn classify(
    headers: &HeaderList,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Classification {
    let (event_type, id, mut summary) = describe(body);
    if let Some(n) = headers.get_str("X-Slack-Retry-Num") {
        let why = headers.get_str("X-Slack-Retry-Reason").unwrap_or("retry");
        summary.push_str(&format!(" (Slack retry {n}: {why})"));
    }
    super::classification(
        "slack",
        event_type,
        id,
        Some(summary),
        verify(headers, body, secrets, now),
    )
}

fn describe(body: &[u8]) -> (Option<String>, Option<String>, String) {
    if json::starts_with_brace(body) {
        let b: Body = json::object(body).unwrap_or_default();
        return from_json(&b);
    }
    if let Some(command) = json::form_value(body, "command") {
        let field = |k| json::form_value(body, k).unwrap_or_default();
        let text = field("text");
        let text = if text.is_empty() {
            String::new()
        } else {
            format!(": \"{}\"", clip(&text, 80))
        };
        let summary = format!(
            "{command} by {} in #{}{text}",
            field("user_name"),
            field("channel_name")
        );
        return (Some(command), json::form_value(body, "trigger_id"), summary);
    }
    if let Some(payload) = json::form_value(body, "payload") {
        let b: Body = serde_json::from_str(&payload).unwrap_or_default();
        return from_json(&b);
    }
    (None, None, "Slack request".into())
}

fn from_json(b: &Body<'_>) -> (Option<String>, Option<String>, String) {
    let outer = b.kind.get();
    match outer {
        Some("event_callback") => {
            let e: Inner = nested(b.event).unwrap_or_default();
            let kind = e.kind.or("event");
            let mut s = kind.to_string();
            if let Some(c) = e.channel.get() {
                s.push_str(&format!(" in {c}"));
            }
            if let Some(u) = e.user.get() {
                s.push_str(&format!(" from {u}"));
            }
            if let Some(t) = e.text.get() {
                s.push_str(&format!(": \"{}\"", clip(t, 80)));
            }
            let id = b.event_id.get().map(str::to_string);
            (Some(kind.to_string()), id, s)
        }
        Some("url_verification") => (
            Some("url_verification".into()),
            None,
            "URL verification: answer with the challenge".into(),
        ),
        Some(kind) => {
            let u: Inner = nested(b.user).unwrap_or_default();
            let by = u
                .username
                .get()
                .map(|n| format!(" by {n}"))
                .unwrap_or_default();
            let id = b.trigger_id.get().map(str::to_string);
            (Some(kind.to_string()), id, format!("{kind}{by}"))
        }
        None => (None, None, "Slack request".into()),
    }
}

fn verify(headers: &HeaderList, body: &[u8], secrets: &[String], now: i64) -> Verdict {
    let Some(header) = headers.get_str(SIGNATURE) else {
        return Verdict::unsigned(format!("no {SIGNATURE} header"));
    };
    if secrets.is_empty() {
        return Verdict::unchecked("slack");
    }
    let Some(ts) = headers.get_str(TIMESTAMP) else {
        return Verdict::invalid(format!("malformed: no {TIMESTAMP} header"));
    };
    let Some(given) = header
        .trim()
        .strip_prefix("v0=")
        .filter(|h| !h.is_empty())
        .and_then(mac::decode_hex)
    else {
        return Verdict::invalid(format!("malformed header: {SIGNATURE} is not v0=<hex>"));
    };
    let matched = secrets.iter().any(|s| {
        let expected = mac::hmac_sha256(s.as_bytes(), &[b"v0:", ts.trim().as_bytes(), b":", body]);
        mac::macs_equal(&expected, &given)
    });
    if !matched {
        return Verdict::invalid(format!(
            "wrong MAC: {SIGNATURE} does not match v0:timestamp:body with the signing secret"
        ));
    }
    match mac::check_timestamp(ts, now, true) {
        Ok(age) => Verdict::valid(format!("v0 matches; timestamp {}", mac::describe_age(age))),
        Err(why) => Verdict::invalid(why),
    }
}

/// A fresh timestamp and signature.
pub(crate) fn sign(headers: &mut HeaderList, body: &[u8], secret: &str, now: i64) {
    let ts = now.to_string();
    let sig = mac::hmac_sha256(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body]);
    headers.set(TIMESTAMP, ts);
    headers.set(SIGNATURE, format!("v0={}", hex::encode(sig)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Signature::{self, *};

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: i64 = 1_531_420_618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn headers(sig: &str) -> HeaderList {
        let mut h = HeaderList::default();
        h.push(TIMESTAMP, TS.to_string());
        h.push(SIGNATURE, sig);
        h
    }

    fn check(sig: &str, now: i64) -> Signature {
        verify(&headers(sig), BODY.as_bytes(), &[SECRET.into()], now).signature
    }

    #[test]
    fn known_answer_vector() {
        assert_eq!(check(SIG, TS), Valid);
        let mut h = HeaderList::default();
        sign(&mut h, BODY.as_bytes(), SECRET, TS);
        assert_eq!(h.get_str(SIGNATURE), Some(SIG));
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
        assert_eq!(check("v0=", TS), Invalid);
        assert_eq!(check(&SIG[..SIG.len() - 2], TS), Invalid);
        assert_eq!(check(&format!("{SIG}ab"), TS), Invalid);
        assert_eq!(check(&SIG.replace("v0=", "v1="), TS), Invalid);
        let tampered = verify(&headers(SIG), b"token=x", &[SECRET.into()], TS);
        assert_eq!(tampered.signature, Invalid);
        let mut no_ts = headers(SIG);
        no_ts.remove(TIMESTAMP);
        assert_eq!(
            verify(&no_ts, BODY.as_bytes(), &[SECRET.into()], TS).signature,
            Invalid
        );
    }

    #[test]
    fn command_and_event() {
        let c = classify(&headers(SIG), BODY.as_bytes(), &[], TS);
        assert_eq!(c.event_type.as_deref(), Some("/webhook-collect"));
        assert_eq!(
            c.summary.as_deref(),
            Some("/webhook-collect by roadrunner in #foobar")
        );
        let body = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","channel":"C1","text":"hi"}}"#;
        let mut h = headers(SIG);
        h.push("X-Slack-Retry-Num", "1");
        h.push("X-Slack-Retry-Reason", "http_timeout");
        let c = classify(&h, body, &[], TS);
        assert_eq!(c.event_type.as_deref(), Some("app_mention"));
        assert_eq!(c.provider_event_id.as_deref(), Some("Ev1"));
        assert_eq!(
            c.summary.as_deref(),
            Some("app_mention in C1 from U1: \"hi\" (Slack retry 1: http_timeout)")
        );
    }
}
