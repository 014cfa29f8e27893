//! Ayrshare: recognise (signature header, or a JSON body with a known `action`), name the event
//! type, verify the HMAC (plain header and every `v1=` of the rotation header), and sign.

mod inbox;
mod summary;

use serde::Deserialize;

use super::json::{self, Raw, Text};
use super::mac::{self, Verdict};
use crate::event::{Classification, HeaderList};

/// The signature: lowercase hex HMAC-SHA256 of the raw body.
pub const SIGNATURE: &str = "X-Authorization-Content-SHA256";
/// During a secret rotation: `v1=<hex>,v1=<hex>`, one per valid secret.
pub const SIGNATURE_V2: &str = "X-Authorization-Content-SHA256-V2";
/// Unix seconds of the send; not covered by the signature.
pub const TIMESTAMP: &str = "X-Authorization-Timestamp";

/// Actions recognised from the body alone (no signature header).
const ACTIONS: &[&str] = &[
    "scheduled",
    "social",
    "messages",
    "message",
    "batch",
    "feed",
    "comments",
    "accountActivity",
];

/// The fields of an Ayrshare body that hooktap reads; everything else is skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Body<'a> {
    #[serde(borrow)]
    pub action: Text<'a>,
    #[serde(borrow)]
    pub sub_action: Text<'a>,
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub status: Text<'a>,
    #[serde(borrow)]
    pub code: Text<'a>,
    #[serde(borrow)]
    pub platform: Text<'a>,
    #[serde(borrow)]
    pub source: Text<'a>,
    #[serde(borrow)]
    pub hook_id: Text<'a>,
    #[serde(borrow)]
    pub ref_id: Text<'a>,
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow)]
    pub post_id: Text<'a>,
    #[serde(borrow)]
    pub display_name: Text<'a>,
    #[serde(borrow)]
    pub title: Text<'a>,
    #[serde(borrow)]
    pub created: Text<'a>,
    #[serde(borrow)]
    pub read: Text<'a>,
    #[serde(borrow)]
    pub conversation_id: Text<'a>,
    #[serde(borrow)]
    pub sender_id: Text<'a>,
    #[serde(borrow)]
    pub mid: Text<'a>,
    #[serde(borrow)]
    pub message_id: Text<'a>,
    #[serde(borrow)]
    pub reaction: Text<'a>,
    #[serde(borrow)]
    pub emoji: Text<'a>,
    #[serde(borrow)]
    pub refresh_by: Text<'a>,
    #[serde(borrow)]
    pub batch_id: Text<'a>,
    #[serde(borrow)]
    pub url: Text<'a>,
    #[serde(borrow)]
    pub article_url: Text<'a>,
    #[serde(borrow)]
    pub text: Text<'a>,
    #[serde(borrow)]
    pub total: Text<'a>,
    #[serde(borrow)]
    pub succeeded: Text<'a>,
    #[serde(borrow)]
    pub failed: Text<'a>,
    /// Text for `messages`; an object for the legacy `message` action.
    #[serde(borrow)]
    pub message: Raw<'a>,
    #[serde(borrow)]
    pub sender_details: Raw<'a>,
    #[serde(borrow)]
    pub errors: Raw<'a>,
    #[serde(borrow)]
    pub post_ids: Raw<'a>,
    #[serde(borrow)]
    pub details: Raw<'a>,
    #[serde(borrow)]
    pub from: Raw<'a>,
}

/// Reads an Ayrshare body; `None` unless it is a JSON object.
pub(crate) fn parse(body: &[u8]) -> Option<Body<'_>> {
    json::object(body)
}

/// Recognises an Ayrshare body without its signature header: a known `action` plus the
/// envelope's `refId` or `hookId` (so another app's `{"action": "message"}` is not taken).
pub(crate) fn from_body(body: &[u8]) -> Option<Body<'_>> {
    // Cheap pre-check before any parsing: most bodies on the hot path are not Ayrshare's.
    if !json::starts_with_brace(body) || memchr::memmem::find(body, b"\"action\"").is_none() {
        return None;
    }
    let parsed = parse(body)?;
    let known = parsed.action.get().is_some_and(|a| ACTIONS.contains(&a));
    let envelope = parsed.ref_id.get().is_some() || parsed.hook_id.get().is_some();
    (known && envelope).then_some(parsed)
}

/// Provider, event type, `hookId`, summary and signature verdict of an Ayrshare Event.
pub(crate) fn classify(
    headers: &HeaderList,
    body: &[u8],
    parsed: Option<Body<'_>>,
    secrets: &[String],
    now: i64,
) -> Classification {
    let parsed = parsed.or_else(|| parse(body));
    let verdict = verify(headers, body, secrets, now);
    let (event_type, id, summary) = match &parsed {
        Some(b) => (
            event_type(b),
            b.hook_id.get().map(str::to_string),
            summary::summary(b),
        ),
        None => (None, None, Some("not a JSON object".to_string())),
    };
    super::classification("ayrshare", event_type, id, summary, verdict)
}

/// `action`, `action.subAction`, or `social.<type>`.
fn event_type(b: &Body<'_>) -> Option<String> {
    let action = b.action.get()?;
    if action == "social"
        && let Some(kind) = b.kind.get()
    {
        return Some(format!("social.{kind}"));
    }
    Some(match b.sub_action.get() {
        Some(sub) => format!("{action}.{sub}"),
        None => action.to_string(),
    })
}

/// The Ayrshare post id of a `scheduled` Event (the link between a post and its
/// `tikTokPublished` follow-up).
pub fn post_id(body: &[u8]) -> Option<String> {
    parse(body).and_then(|b| b.id.get().map(str::to_string))
}

/// Verifies against every configured secret; reports the timestamp's age (it is not signed).
pub(crate) fn verify(headers: &HeaderList, body: &[u8], secrets: &[String], now: i64) -> Verdict {
    let plain = headers.get_str(SIGNATURE);
    let rotation = headers.get_str(SIGNATURE_V2);
    if plain.is_none() && rotation.is_none() {
        return Verdict::unsigned(format!(
            "no {SIGNATURE} header (Ayrshare signs only once a webhook secret is set)"
        ));
    }
    let age = match headers.get_str(TIMESTAMP).map(str::trim) {
        Some(ts) => match ts.parse::<i64>() {
            // Saturating: any i64 is a valid header value (found by fuzzing).
            Ok(ts) => format!("{TIMESTAMP} {}", mac::describe_age(now.saturating_sub(ts))),
            Err(_) => format!("{TIMESTAMP} '{}' is not unix seconds", mac::clip(ts, 20)),
        },
        None => format!("no {TIMESTAMP}"),
    };
    if secrets.is_empty() {
        let mut v = Verdict::unchecked("ayrshare");
        v.detail = v.detail.map(|d| format!("{d}; {age}"));
        return v;
    }
    let candidates: Vec<(String, &str)> = plain
        .map(|s| (SIGNATURE.to_string(), s))
        .into_iter()
        .chain(rotation.into_iter().flat_map(|v| {
            v.split(',')
                .filter_map(|e| e.trim().strip_prefix("v1="))
                .enumerate()
                .map(|(i, s)| (format!("{SIGNATURE_V2} entry {}", i + 1), s))
        }))
        .collect();
    let decoded: Vec<(&str, Vec<u8>)> = candidates
        .iter()
        .filter_map(|(name, sig)| decode(sig).map(|mac| (name.as_str(), mac)))
        .collect();
    if decoded.is_empty() {
        return Verdict::invalid(format!(
            "malformed header: no hex or base64 HMAC-SHA256 in {SIGNATURE} or {SIGNATURE_V2}; {age}"
        ));
    }
    for secret in secrets {
        let expected = mac::hmac_sha256(secret.as_bytes(), &[body]);
        if let Some((name, _)) = decoded.iter().find(|(_, m)| mac::macs_equal(&expected, m)) {
            return Verdict::valid(format!("HMAC-SHA256 of the body matches {name}; {age}"));
        }
    }
    let short = decoded.iter().find(|(_, m)| m.len() != 32);
    let why = match short {
        Some((name, m)) => format!(
            "wrong MAC: {name} is {} bytes, an HMAC-SHA256 is 32",
            m.len()
        ),
        None => "wrong MAC: the body's HMAC-SHA256 with the configured secret differs (body \
                 changed, or another profile's secret?)"
            .to_string(),
    };
    Verdict::invalid(format!("{why}; {age}"))
}

/// Hex (either case) when it looks like hex, else base64; `None` for empty or neither.
fn decode(sig: &str) -> Option<Vec<u8>> {
    let sig = sig.trim();
    if sig.is_empty() {
        return None;
    }
    if sig.len().is_multiple_of(2) && sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        return mac::decode_hex(sig);
    }
    mac::decode_base64(sig)
}

/// Sets a fresh timestamp and the body's signature (and the rotation header, when present).
pub(crate) fn sign(headers: &mut HeaderList, body: &[u8], secret: &str, now: i64) {
    let sig = hex::encode(mac::hmac_sha256(secret.as_bytes(), &[body]));
    headers.set(TIMESTAMP, now.to_string());
    headers.set(SIGNATURE, sig.clone());
    if headers.contains(SIGNATURE_V2) {
        headers.set(SIGNATURE_V2, format!("v1={sig}"));
    }
}

#[cfg(test)]
mod tests;
