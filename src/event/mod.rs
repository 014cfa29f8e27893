//! Pure data: Events, Deliveries, ordered header lists and their on-disk encoding.
//!
//! This module imports nothing from the rest of the crate; everything else speaks its words.

mod headers;

use std::fmt;

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use headers::HeaderList;

/// Microseconds since the Unix epoch, UTC. The one time unit of the Store.
pub type Micros = i64;

/// The current wall-clock time in [`Micros`].
pub fn now_micros() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

/// Formats [`Micros`] as RFC 3339 with microseconds, e.g. `2026-11-27T18:00:00.123456Z`.
pub fn format_time(micros: Micros) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => micros.to_string(),
    }
}

/// A time for a row in a list, in `tz`: `22:55:04.188` on the day of `now`, `Nov 27 22:55:04`
/// earlier in the same year, `2025-01-02 03:04:05` before (12, 15 and 19 characters).
pub fn list_time<Tz: chrono::TimeZone>(at: Micros, now: Micros, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    use chrono::Datelike;
    let (Some(at), Some(now)) = (
        chrono::DateTime::from_timestamp_micros(at),
        chrono::DateTime::from_timestamp_micros(now),
    ) else {
        return at.to_string();
    };
    let (at, now) = (at.with_timezone(tz), now.with_timezone(tz));
    let format = if at.date_naive() == now.date_naive() {
        "%H:%M:%S%.3f"
    } else if at.year() == now.year() {
        "%b %d %H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    at.format(format).to_string()
}

/// [`list_time`] in the local time zone, against the current time.
pub fn local_list_time(at: Micros) -> String {
    list_time(at, now_micros(), &chrono::Local)
}

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word used in the Store, the JSON and the filter language.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the word written by [`Self::as_str`].
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum! {
    /// How an Event reached the Store.
    Ingress {
        /// A request to the port `listen` serves.
        Local = "local",
        /// Through the Tunnel from a Relay.
        Relay = "relay",
        /// From `hooktap import`.
        Import = "import",
        /// An edited copy of another Event (`derived_from` says which).
        Edit = "edit",
    }
}

word_enum! {
    /// How a Delivery ended.
    Outcome {
        /// The Target answered (any status).
        Ok = "ok",
        /// The Target could not be reached, or the connection broke.
        Failed = "failed",
        /// The Target did not answer within the forward timeout.
        Timeout = "timeout",
        /// Still in flight.
        Pending = "pending",
        /// In flight when hooktap stopped; found at the next start.
        Interrupted = "interrupted",
        /// Not forwarded on purpose (e.g. an enforced signature check failed).
        Rejected = "rejected",
        /// Not forwarded: hooktap answered instead of an app (a mock, or `--fail`).
        Mocked = "mocked",
    }
}

word_enum! {
    /// Why a Delivery was made.
    DeliveryKind {
        /// The first hand-over of a live Event.
        Original = "original",
        /// A re-send on demand.
        Replay = "replay",
        /// An automatic retry.
        Retry = "retry",
        /// Answered by hooktap instead of an app (`--mock`, a `mock:` route, `--only`, `--fail`).
        Mock = "mock",
    }
}

word_enum! {
    /// The result of checking an Event's signature.
    Signature {
        /// A configured secret verified it.
        Valid = "valid",
        /// It did not verify (the Event's `signature_detail` says why).
        Invalid = "invalid",
        /// The provider signs, but this Event carries no signature.
        Unsigned = "unsigned",
        /// No secret configured (or the provider is unknown).
        Unchecked = "unchecked",
    }
}

/// Who sent an Event and what it means, as worked out by the providers module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// `ayrshare`, `github`, `stripe`, `standard-webhooks`, `shopify`, `slack` or `unknown`.
    pub provider: String,
    /// The provider's name for what happened, e.g. `social.unlink`.
    pub event_type: Option<String>,
    /// The provider's id for the event, stable across its retries.
    pub provider_event_id: Option<String>,
    /// One line for people.
    pub summary: Option<String>,
    /// Signature verdict.
    pub signature: Signature,
    /// Why the signature is invalid, or other notes on it.
    pub signature_detail: Option<String>,
}

impl Default for Classification {
    fn default() -> Self {
        Classification {
            provider: "unknown".into(),
            event_type: None,
            provider_event_id: None,
            summary: None,
            signature: Signature::Unchecked,
            signature_detail: None,
        }
    }
}

/// One captured incoming request.
#[derive(Clone, Debug)]
pub struct Event {
    /// Unique id across Stores (a ULID), kept through the Tunnel and exports.
    pub uid: String,
    /// When hooktap (or the Relay) received it.
    pub received_at: Micros,
    /// How it arrived.
    pub ingress: Ingress,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path, e.g. `/hooks/ayrshare`.
    pub path: String,
    /// Query string without `?`, if any.
    pub query: Option<String>,
    /// The sender's address, e.g. `127.0.0.1:50312`.
    pub remote_addr: Option<String>,
    /// Headers as received.
    pub headers: HeaderList,
    /// The exact body bytes.
    pub body: Bytes,
    /// Provider, type, summary and signature verdict.
    pub class: Classification,
    /// The Event this one was edited from.
    pub derived_from: Option<i64>,
}

impl Event {
    /// SHA-256 of the body.
    pub fn body_sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.body).into()
    }

    /// Path plus `?query` when there is one.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q),
            None => self.path.clone(),
        }
    }
}

/// A new unique Event id (ULID text).
pub fn new_uid() -> String {
    ulid::Ulid::generate().to_string()
}

/// What a finished Delivery attempt produced: a response, or a failure.
#[derive(Clone, Debug)]
pub struct DeliveryResult {
    /// How it ended.
    pub outcome: Outcome,
    /// The Target's status, when it answered.
    pub status: Option<u16>,
    /// The Target's response headers.
    pub headers: HeaderList,
    /// The Target's response body.
    pub body: Bytes,
    /// What went wrong, in words for people.
    pub error: Option<String>,
    /// Time from sending to the end of the response body, in microseconds.
    pub duration_us: i64,
}

/// One stored attempt to hand an Event to a Target.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Store id.
    pub id: i64,
    /// The Event it delivers.
    pub event_id: i64,
    /// Original, replay or retry.
    pub kind: DeliveryKind,
    /// The URL it was sent to.
    pub target: String,
    /// When it started.
    pub started_at: Micros,
    /// Its result (outcome `pending` while in flight).
    pub result: DeliveryResult,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_times_say_the_day_when_it_is_not_today() {
        let tz = chrono::FixedOffset::east_opt(3600).unwrap();
        let at = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text)
                .unwrap()
                .timestamp_micros()
        };
        let now = at("2026-11-27T23:30:00Z"); // 00:30 on the 28th at +01:00
        let show = |text: &str| list_time(at(text), now, &tz);
        assert_eq!(show("2026-11-27T23:10:04.188Z"), "00:10:04.188");
        assert_eq!(show("2026-11-27T22:55:04.188Z"), "Nov 27 23:55:04");
        assert_eq!(show("2026-01-01T00:00:00Z"), "Jan 01 01:00:00");
        assert_eq!(show("2025-01-02T02:04:05Z"), "2025-01-02 03:04:05");
        assert_eq!(list_time(i64::MAX, now, &tz), i64::MAX.to_string());
    }

    #[test]
    fn words_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
        }
        assert_eq!(Signature::parse("nope"), None);
    }

    #[test]
    fn time_formats_with_micros() {
        assert_eq!(
            format_time(1_764_266_400_123_456),
            "2025-11-27T18:00:00.123456Z"
        );
    }
}
