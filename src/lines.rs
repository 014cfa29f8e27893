//! Log lines: one line per finished Delivery (or one JSON object with `--json`), for `listen`
//! without the TUI.

use std::io::Write;

use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};

use crate::config::format_size;
use crate::event::DeliveryKind;
use crate::store::{Change, EventSummary};
use crate::text::{sanitize, to_json_string};

/// How each Delivery is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `18:03:12.481  POST /hooks/ayrshare  200  3.1 ms  812 B  #42`
    Text,
    /// The guide's JSON object, one per line.
    Json,
}

/// Prints every finished Delivery until the bus closes. Lines are written in batches: all that
/// are waiting, then one flush, so a busy stream costs one write, not one per line.
pub async fn print(mut bus: broadcast::Receiver<Change>, format: Format) {
    let mut out = std::io::BufWriter::new(std::io::stdout());
    loop {
        let mut next = bus.recv().await;
        loop {
            match next {
                Ok(Change::Delivery {
                    summary,
                    error,
                    kind,
                }) => {
                    let line = match format {
                        Format::Text if kind == DeliveryKind::Retry => {
                            text_line(&summary, error.as_deref()) + "  (redelivery)"
                        }
                        Format::Text => text_line(&summary, error.as_deref()),
                        Format::Json => to_json_string(&*summary),
                    };
                    if writeln!(out, "{line}").is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(
                        "{n} lines skipped: output could not keep up (`hooktap list` shows them)"
                    );
                }
                Err(RecvError::Closed) => {
                    let _ = out.flush();
                    return;
                }
            }
            match bus.try_recv() {
                Ok(change) => next = Ok(change),
                Err(TryRecvError::Lagged(n)) => next = Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => next = Err(RecvError::Closed),
                Err(TryRecvError::Empty) => break,
            }
        }
        if out.flush().is_err() {
            return;
        }
    }
}

/// One line for people: what arrived, the answer, what the Event is, and whether it is a
/// provider's retry or failed its signature check.
pub fn text_line(s: &EventSummary, error: Option<&str>) -> String {
    let time = crate::event::local_list_time(s.received_at);
    let path = match &s.query {
        Some(q) => format!("{}?{}", s.path, q),
        None => s.path.clone(),
    };
    let status = s.status_word();
    let duration = s
        .duration_us
        .map(|us| format!("{:.1} ms", us as f64 / 1000.0))
        .unwrap_or_default();
    // Every field a sender wrote is shown on this one line, escaped (crate::text).
    let mut line = format!(
        "{time}  {} {}  {status}  {duration}  {}  #{}",
        sanitize(&s.method),
        sanitize(&path),
        format_size(s.body_size),
        s.id
    );
    if let Some(kind) = s.event_type.as_deref() {
        line.push_str(&format!("  {} {}", sanitize(&s.provider), sanitize(kind)));
    }
    if let Some(first) = s.duplicate_of {
        line.push_str(&format!("  retry of #{first}"));
    }
    if s.outcome.as_deref() == Some("mocked") {
        line.push_str("  mocked by hooktap");
    }
    // A refusal (--verify-enforce) says it in its own words.
    if s.signature == "invalid" && !error.is_some_and(|e| e.starts_with("signature invalid")) {
        line.push_str("  signature invalid");
    }
    if let Some(e) = error {
        line.push_str(&format!("  {}", sanitize(e)));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> EventSummary {
        EventSummary {
            id: 6,
            remote_addr: None,
            provider_event_id: Some("hk1".into()),
            duration_us: Some(3_100),
            ..EventSummary::sample()
        }
    }

    #[test]
    fn a_line_says_what_arrived_and_what_it_is() {
        let line = text_line(&summary(), None);
        assert!(
            line.ends_with(
                "  POST /hooks/ayrshare?a=1  200  3.1 ms  812 B  #6  ayrshare social.unlink"
            ),
            "{line}"
        );
    }

    #[test]
    fn retries_and_bad_signatures_are_flagged() {
        let s = EventSummary {
            duplicate_of: Some(5),
            signature: "invalid".into(),
            ..summary()
        };
        let line = text_line(&s, Some("cannot reach the app"));
        assert!(
            line.ends_with(
                "#6  ayrshare social.unlink  retry of #5  signature invalid  cannot reach the app"
            ),
            "{line}"
        );
    }

    #[test]
    fn a_refusal_says_signature_invalid_once() {
        let s = EventSummary {
            signature: "invalid".into(),
            ..summary()
        };
        let why = "signature invalid: wrong MAC; not forwarded (--verify-enforce)";
        let line = text_line(&s, Some(why));
        assert_eq!(line.matches("signature invalid").count(), 1, "{line}");
        assert!(line.ends_with(why), "{line}");
    }

    #[test]
    fn a_hostile_field_stays_on_its_line_and_shows_its_escapes() {
        let s = EventSummary {
            path: "/h\x1b]0;pwn\x07".into(),
            event_type: Some("opened\n$(touch /tmp/x)\u{202e}".into()),
            ..summary()
        };
        let line = text_line(&s, Some("bad\r\nforged"));
        assert!(!line.chars().any(crate::text::is_unsafe), "{line:?}");
        assert!(line.contains("/h\\x1b]0;pwn\\x07?a=1"), "{line}");
        assert!(line.contains("opened\\n$(touch /tmp/x)\\u202e"), "{line}");
        assert!(line.ends_with("bad\\r\\nforged"), "{line}");
    }
}
