//! Trigger: realistic, correctly signed Ayrshare sample events, with fresh ids and times, sent
//! through the one HTTP client (`forward`). The samples are embedded in the binary.

mod doc;
pub mod others;

use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use doc::Doc;

use crate::event::{DeliveryResult, Event, HeaderList, Ingress, Outcome, new_uid};
use crate::forward::{self, Forwarder, Target};
use crate::providers::ayrshare;

/// Where `trigger` sends when `--to` is not given: `hooktap listen` on its default port.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8787/hooks/ayrshare";

/// One sample event.
#[derive(Debug)]
pub struct Sample {
    /// The name given on the command line, e.g. `social-unlink`.
    pub name: &'static str,
    /// What it is, for `trigger --list`.
    pub about: &'static str,
    /// The body as Ayrshare sends it (ids and times are refreshed on each send).
    pub template: &'static str,
}

macro_rules! sample {
    ($name:literal, $file:literal, $about:literal) => {
        Sample {
            name: $name,
            about: $about,
            template: include_str!(concat!("../assets/ayrshare/", $file)),
        }
    };
}

/// Every Ayrshare sample, in the order `--list` shows them.
pub const SAMPLES: &[Sample] = &[
    sample!(
        "scheduled",
        "scheduled.json",
        "a scheduled post published to two networks"
    ),
    sample!(
        "scheduled-error",
        "scheduled-error.json",
        "a scheduled post that failed on Instagram"
    ),
    sample!(
        "tiktok-published",
        "scheduled-tiktok-published.json",
        "TikTok finished processing a post (--set id=POST links it)"
    ),
    sample!(
        "social-link",
        "social-link-user.json",
        "the user linked Instagram"
    ),
    sample!(
        "social-unlink",
        "social-unlink-system.json",
        "Ayrshare unlinked Facebook: tell the user"
    ),
    sample!(
        "social-refresh",
        "social-refresh-system.json",
        "LinkedIn needs re-authorizing by a date"
    ),
    sample!(
        "message",
        "messages-new-facebook.json",
        "a new Facebook direct message"
    ),
    sample!(
        "message-read-facebook",
        "messages-read-facebook.json",
        "Facebook read receipt for a whole conversation"
    ),
    sample!(
        "message-read-instagram",
        "messages-read-instagram.json",
        "Instagram read receipt for one message"
    ),
    sample!(
        "reaction-created",
        "reaction-created.json",
        "an Instagram reaction added"
    ),
    sample!(
        "reaction-deleted",
        "reaction-deleted.json",
        "an Instagram reaction removed"
    ),
    sample!(
        "message-legacy",
        "message-legacy-create.json",
        "the older `message` action (X direct message)"
    ),
    sample!(
        "comments",
        "comments-instagram.json",
        "a new Instagram comment on a post"
    ),
    sample!("batch", "batch.json", "a finished batch with its file URL"),
    sample!("feed", "feed.json", "a new RSS item posted"),
];

/// The sample called `name`.
pub fn sample(name: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|s| s.name == name)
}

/// The body to send: the sample with a fresh `hookId`, new ids, `created` (and `read`) set to
/// `now`, then every `--set` applied in order. Pretty-printed like Ayrshare's.
pub fn render(
    sample: &Sample,
    sets: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let mut doc: Doc = serde_json::from_str(sample.template)
        .map_err(|e| format!("the {} sample is broken: {e}", sample.name))?;
    let mut rng = Rng::new();
    for key in ["hookId", "id", "batchId", "feedId"] {
        if let Some(old) = doc.get(key).and_then(Doc::as_str) {
            let fresh = rng.fresh_like(old);
            doc.replace(key, Doc::Scalar(fresh.into()));
        }
    }
    let stamp = |t: DateTime<Utc>| Doc::Scalar(t.format("%Y-%m-%dT%H:%M:%SZ").to_string().into());
    doc.replace("created", stamp(now));
    doc.replace("read", stamp(now - chrono::Duration::seconds(1)));
    for (path, value) in sets {
        doc.set_path(path, value)?;
    }
    serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())
}

/// The headers Ayrshare sends: JSON, and with a secret its timestamp and signature.
pub fn headers(body: &[u8], secret: Option<&str>, now_secs: i64) -> HeaderList {
    let mut h = HeaderList::default();
    h.push("Content-Type", "application/json");
    h.push(
        "User-Agent",
        concat!("hooktap-trigger/", env!("CARGO_PKG_VERSION")),
    );
    if let Some(secret) = secret {
        ayrshare::sign(&mut h, body, secret, now_secs);
    }
    h
}

/// Sends one request to `url` and waits for the answer. A Target that cannot be reached is an
/// `Err` with words for people; any HTTP answer is `Ok`.
pub async fn send(
    forwarder: &Forwarder,
    url: &str,
    headers: HeaderList,
    body: Vec<u8>,
) -> Result<DeliveryResult, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("'{url}' is not a URL (try {DEFAULT_URL})"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(format!(
            "'{url}' needs a scheme and host (try {DEFAULT_URL})"
        ));
    };
    let target = Target::parse(&format!("{scheme}://{authority}"))?;
    let event = Event {
        uid: new_uid(),
        received_at: 0,
        ingress: Ingress::Local,
        method: "POST".into(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        remote_addr: None,
        headers,
        body: Bytes::from(body),
        class: Default::default(),
        derived_from: None,
    };
    let outgoing = forward::request(&target, &event)?;
    let result = forwarder.send(outgoing).await;
    match result.outcome {
        Outcome::Ok => Ok(result),
        _ => Err(result
            .error
            .unwrap_or_else(|| format!("cannot send to {url}"))),
    }
}

/// A small xorshift generator for sample ids (not for secrets), seeded from a ULID's random
/// bits.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = ulid::Ulid::generate().random() as u64;
        Rng(seed | 1)
    }

    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }

    /// A new id shaped like `old`: a short prefix such as `hk` or `t_` kept, every other digit
    /// and letter replaced by a random one of the same kind.
    fn fresh_like(&mut self, old: &str) -> String {
        let keep = match old.find('_') {
            Some(at) if at <= 3 => at + 1,
            _ if old.starts_with("hk") => 2,
            _ => 0,
        };
        let mut out = old[..keep].to_string();
        for c in old[keep..].chars() {
            out.push(match c {
                '0'..='9' => (b'0' + self.next(10) as u8) as char,
                'a'..='z' => (b'a' + self.next(26) as u8) as char,
                'A'..='Z' => (b'A' + self.next(26) as u8) as char,
                other => other,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Providers;

    #[test]
    fn every_sample_renders_fresh_and_classifies() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T18:00:00Z")
            .unwrap()
            .to_utc();
        for s in SAMPLES {
            let body = render(s, &[], now).unwrap();
            let old: Doc = serde_json::from_str(s.template).unwrap();
            let new: Doc = serde_json::from_str(std::str::from_utf8(&body).unwrap()).unwrap();
            if let Some(hook) = old.get("hookId") {
                assert_ne!(new.get("hookId"), Some(hook), "{}: fresh hookId", s.name);
                assert_eq!(new.get("hookId").and_then(Doc::as_str).unwrap().len(), 20);
            }
            if old.get("created").is_some() {
                assert_eq!(
                    new.get("created").and_then(Doc::as_str),
                    Some("2026-11-27T18:00:00Z")
                );
            }
            let c = Providers::default().classify_at(&headers(&body, None, 0), &body, 0);
            assert_eq!(c.provider, "ayrshare", "{}", s.name);
        }
    }

    #[test]
    fn sets_apply_after_refresh() {
        let s = sample("tiktok-published").unwrap();
        let sets = [("id".to_string(), "Post1".to_string())];
        let body = render(s, &sets, Utc::now()).unwrap();
        assert_eq!(ayrshare::post_id(&body).as_deref(), Some("Post1"));
        assert!(render(s, &[("postIds.9.id".into(), "x".into())], Utc::now()).is_err());
    }

    #[test]
    fn signed_headers_verify() {
        let body = render(sample("feed").unwrap(), &[], Utc::now()).unwrap();
        let h = headers(&body, Some("s3"), 1_000);
        let p = Providers::new([("ayrshare".to_string(), "s3".to_string())]);
        let c = p.classify_at(&h, &body, 1_002);
        assert_eq!(c.signature, crate::event::Signature::Valid);
        assert!(c.signature_detail.unwrap().contains("2 s old"));
    }

    #[test]
    fn fresh_ids_keep_their_look() {
        let mut rng = Rng::new();
        let id = rng.fresh_like("t_10229384756473829");
        assert!(id.starts_with("t_") && id[2..].bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(id.len(), 19);
        assert!(rng.fresh_like("hk8Rz2LqW5tYv3NcX1pA").starts_with("hk"));
    }
}
