//! GitHub: `X-GitHub-Event` names the event, the body's `action` refines it; the signature is
//! `X-Hub-Signature-256: sha256=<hex>` over the raw body (no timestamp).

use serde::Deserialize;

use super::json::{self, Raw, Text, nested};
use super::mac::{self, Verdict, clip};
use crate::event::{Classification, HeaderList};

const EVENT: &str = "X-GitHub-Event";
const DELIVERY: &str = "X-GitHub-Delivery";
const SIGNATURE: &str = "X-Hub-Signature-256";
const LEGACY: &str = "X-Hub-Signature";

#[derive(Default, Deserialize)]
#[serde(default)]
struct Body<'a> {
    #[serde(borrow)]
    action: Text<'a>,
    #[serde(borrow, rename = "ref")]
    git_ref: Text<'a>,
    #[serde(borrow)]
    zen: Text<'a>,
    /// The pull request's or issue's number, also given at the top of `pull_request` events.
    #[serde(borrow)]
    number: Text<'a>,
    #[serde(borrow)]
    repository: Raw<'a>,
    #[serde(borrow)]
    sender: Raw<'a>,
    #[serde(borrow)]
    pull_request: Raw<'a>,
    #[serde(borrow)]
    issue: Raw<'a>,
    #[serde(borrow)]
    commits: Raw<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Named<'a> {
    #[serde(borrow)]
    full_name: Text<'a>,
    #[serde(borrow)]
    login: Text<'a>,
    #[serde(borrow)]
    number: Text<'a>,
    #[serde(borrow)]
    title: Text<'a>,
}

/// Provider, event type, delivery id, summary and signature verdict of a GitHub Event.
pub(crate) fn classify(
    headers: &HeaderList,
    body: &[u8],
    secrets: &[String],
    _now: i64,
) -> Classification {
    let event = headers.get_str(EVENT).unwrap_or("unknown").trim();
    // Webhooks with content type `form` send the JSON in a `payload` field.
    let form;
    let parsed: Body = if json::starts_with_brace(body) {
        json::object(body).unwrap_or_default()
    } else {
        form = json::form_value(body, "payload").unwrap_or_default();
        serde_json::from_str(&form).unwrap_or_default()
    };
    let event_type = match parsed.action.get() {
        Some(action) => format!("{event}.{action}"),
        None => event.to_string(),
    };
    let summary = summary(event, &parsed);
    super::classification(
        "github",
        Some(event_type),
        headers.get_str(DELIVERY).map(str::to_string),
        Some(summary),
        verify(headers, body, secrets),
    )
}

fn summary(event: &str, b: &Body<'_>) -> String {
    let repo: Named = nested(b.repository).unwrap_or_default();
    let sender: Named = nested(b.sender).unwrap_or_default();
    let repo = repo.full_name.or("a repository");
    let by = sender
        .login
        .get()
        .map(|l| format!(" by {l}"))
        .unwrap_or_default();
    let action = b.action.get().map(|a| format!(" {a}")).unwrap_or_default();
    match event {
        "ping" => format!("ping from GitHub for {repo}: \"{}\"", b.zen.or("")),
        "push" => {
            let commits: Vec<serde::de::IgnoredAny> = nested(b.commits).unwrap_or_default();
            let target = b.git_ref.or("?");
            let target = target
                .strip_prefix("refs/heads/")
                .map(str::to_string)
                .or_else(|| {
                    target
                        .strip_prefix("refs/tags/")
                        .map(|t| format!("tag {t}"))
                })
                .unwrap_or_else(|| target.to_string());
            let n = commits.len();
            let s = if n == 1 { "" } else { "s" };
            format!("push to {target} in {repo}{by}: {n} commit{s}")
        }
        "pull_request" | "issues" => {
            let item: Named = nested(b.pull_request)
                .or_else(|| nested(b.issue))
                .unwrap_or_default();
            let noun = if event == "issues" {
                "issue"
            } else {
                "pull request"
            };
            format!(
                "{noun}{action}: #{} \"{}\" in {repo}{by}",
                item.number.get().or(b.number.get()).unwrap_or("?"),
                clip(item.title.or(""), 80)
            )
        }
        _ => format!("{event}{action} in {repo}{by}"),
    }
}

fn verify(headers: &HeaderList, body: &[u8], secrets: &[String]) -> Verdict {
    let Some(header) = headers.get_str(SIGNATURE) else {
        if headers.contains(LEGACY) {
            return Verdict::unsigned(format!(
                "only the SHA-1 {LEGACY} is present; hooktap checks {SIGNATURE}"
            ));
        }
        return Verdict::unsigned(format!("no {SIGNATURE} header (is a webhook secret set?)"));
    };
    if secrets.is_empty() {
        return Verdict::unchecked("github");
    }
    let Some(given) = header
        .trim()
        .strip_prefix("sha256=")
        .filter(|h| !h.is_empty())
        .and_then(mac::decode_hex)
    else {
        return Verdict::invalid(format!("malformed header: {SIGNATURE} is not sha256=<hex>"));
    };
    for secret in secrets {
        if mac::macs_equal(&mac::hmac_sha256(secret.as_bytes(), &[body]), &given) {
            return Verdict::valid(format!("HMAC-SHA256 of the body matches {SIGNATURE}"));
        }
    }
    Verdict::invalid(format!(
        "wrong MAC: {SIGNATURE} does not match the body with the configured secret"
    ))
}

/// Recomputes `X-Hub-Signature-256` (GitHub signs no timestamp). The SHA-1 `X-Hub-Signature`
/// is removed: hooktap cannot recompute it, and a stale one would mislead.
pub(crate) fn sign(headers: &mut HeaderList, body: &[u8], secret: &str) {
    let sig = hex::encode(mac::hmac_sha256(secret.as_bytes(), &[body]));
    headers.set(SIGNATURE, format!("sha256={sig}"));
    headers.remove(LEGACY);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(sig: &str) -> HeaderList {
        let mut h = HeaderList::default();
        h.push("X-GitHub-Event", "ping");
        h.push("X-Hub-Signature-256", sig);
        h
    }

    const VECTOR: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    const SECRET: &str = "It's a Secret to Everybody";

    #[test]
    fn known_answer_vector() {
        let s = [SECRET.to_string()];
        let v = verify(&headers(VECTOR), b"Hello, World!", &s);
        assert_eq!(v.signature, crate::event::Signature::Valid, "{v:?}");
        let mut h = HeaderList::default();
        sign(&mut h, b"Hello, World!", SECRET);
        assert_eq!(h.get_str(SIGNATURE), Some(VECTOR));
    }

    #[test]
    fn negative_cases() {
        use crate::event::Signature::*;
        let s = [SECRET.to_string()];
        let body = b"Hello, World!";
        let cut = &VECTOR[..VECTOR.len() - 2];
        let long = format!("{VECTOR}00");
        for (sig, want) in [
            ("sha256=", Invalid),
            (cut, Invalid),
            (long.as_str(), Invalid),
            ("sha1=757107ea", Invalid),
            ("sha256=zz", Invalid),
        ] {
            assert_eq!(verify(&headers(sig), body, &s).signature, want, "{sig}");
        }
        assert_eq!(
            verify(&headers(VECTOR), b"Hello, World?", &s).signature,
            Invalid
        );
        assert_eq!(
            verify(&headers(VECTOR), body, &["other".into()]).signature,
            Invalid
        );
        assert_eq!(verify(&headers(VECTOR), body, &[]).signature, Unchecked);
        assert_eq!(verify(&HeaderList::default(), body, &s).signature, Unsigned);
    }

    #[test]
    fn a_pull_request_numbered_only_at_the_top_keeps_its_number() {
        let mut h = HeaderList::default();
        h.push("X-GitHub-Event", b"pull_request".to_vec());
        let body = br#"{"action":"opened","number":7,"pull_request":{"title":"Fix"},
            "repository":{"full_name":"o/r"}}"#;
        let c = classify(&h, body, &[], 0);
        assert_eq!(
            c.summary.as_deref(),
            Some("pull request opened: #7 \"Fix\" in o/r")
        );
    }

    #[test]
    fn types_and_summaries() {
        let mut h = headers(VECTOR);
        h.set("X-GitHub-Event", "pull_request");
        h.push("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        let body = br#"{"action":"opened","pull_request":{"number":42,"title":"Add hooks"},
            "repository":{"full_name":"acme/shop"},"sender":{"login":"dana"}}"#;
        let c = classify(&h, body, &[], 0);
        assert_eq!(c.event_type.as_deref(), Some("pull_request.opened"));
        assert_eq!(
            c.provider_event_id.as_deref(),
            Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        assert_eq!(
            c.summary.as_deref(),
            Some("pull request opened: #42 \"Add hooks\" in acme/shop by dana")
        );
        h.set("X-GitHub-Event", "push");
        let body = br#"{"ref":"refs/heads/main","commits":[{},{}],"repository":{"full_name":"acme/shop"}}"#;
        let c = classify(&h, body, &[], 0);
        assert_eq!(c.event_type.as_deref(), Some("push"));
        assert_eq!(
            c.summary.as_deref(),
            Some("push to main in acme/shop: 2 commits")
        );
        let form = b"payload=%7B%22action%22%3A%22created%22%7D";
        h.set("X-GitHub-Event", "star");
        assert_eq!(
            classify(&h, form, &[], 0).event_type.as_deref(),
            Some("star.created")
        );
    }
}
