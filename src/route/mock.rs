//! What hooktap answers instead of an app: `--mock 'status=503,delay=2s,body=@reply.json,
//! header=Retry-After:5'`, a route's `mock:...`, and the `--fail` chaos switch.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use crate::event::{Event, HeaderList};

/// A canned answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Mock {
    /// The status (200 unless given).
    pub status: u16,
    /// How long to wait before answering.
    pub delay: Duration,
    /// The body (empty unless given).
    pub body: Bytes,
    /// The headers, in order.
    pub headers: HeaderList,
    /// The spec as written, for the Delivery's target (`mock:status=503`).
    pub label: String,
}

impl Default for Mock {
    fn default() -> Mock {
        Mock {
            status: 200,
            delay: Duration::ZERO,
            body: Bytes::new(),
            headers: HeaderList::default(),
            label: "mock:status=200".into(),
        }
    }
}

impl Mock {
    /// Parses `status=N,delay=D,body=@FILE|TEXT,header=Name:value` (each part optional,
    /// `header=` repeatable; a body given inline cannot hold a comma: use `@FILE`).
    pub fn parse(spec: &str) -> Result<Mock, String> {
        let mut mock = Mock {
            label: format!("mock:{spec}"),
            ..Mock::default()
        };
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!(
                    "mock part '{part}' has no '=': use status=N, delay=D, body=@FILE or \
                     header=Name:value"
                ));
            };
            match key.trim() {
                "status" => mock.status = status(value)?,
                "delay" => mock.delay = crate::config::parse_duration(value)?,
                "body" => {
                    mock.body = match value.strip_prefix('@') {
                        Some(file) => std::fs::read(file)
                            .map_err(|e| format!("cannot read the mock body {file}: {e}"))?
                            .into(),
                        None => Bytes::from(value.to_string()),
                    }
                }
                "header" => {
                    let (name, v) = value.split_once(':').ok_or_else(|| {
                        format!("mock header '{value}' has no ':': use header=Name:value")
                    })?;
                    let name = name.trim();
                    http::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("'{name}' is not a header name"))?;
                    mock.headers.push(name, v.trim().as_bytes().to_vec());
                }
                other => {
                    return Err(format!(
                        "unknown mock part '{other}': use status, delay, body or header"
                    ));
                }
            }
        }
        Ok(mock)
    }
}

fn status(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(s) if (100..=999).contains(&s) => Ok(s),
        _ => Err(format!("'{text}' is not an HTTP status (100 to 999)")),
    }
}

/// `--fail`: deliveries that fail on purpose, answered by hooktap with a status.
#[derive(Debug)]
pub struct Fail {
    rule: FailRule,
    status: u16,
    label: String,
    seen: Mutex<HashMap<String, u32>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum FailRule {
    /// This share (0 to 100) of deliveries, at random.
    Percent(u8),
    /// The first N deliveries of each provider event id.
    First(u32),
}

impl Fail {
    /// Parses `30%` or `30%:503`, `first:2` or `first:2:500` (the status is 503 unless given).
    pub fn parse(spec: &str) -> Result<Fail, String> {
        let usage = || format!("--fail '{spec}': use 30% (or 30%:503) or first:2 (or first:2:500)");
        let (rule, status_text) = if let Some(rest) = spec.strip_prefix("first:") {
            let (n, s) = rest
                .split_once(':')
                .map_or((rest, None), |(n, s)| (n, Some(s)));
            let n: u32 = n.trim().parse().map_err(|_| usage())?;
            (FailRule::First(n), s)
        } else {
            let (p, s) = spec
                .split_once(':')
                .map_or((spec, None), |(p, s)| (p, Some(s)));
            let p = p.trim().strip_suffix('%').ok_or_else(usage)?;
            let p: u8 = p.parse().ok().filter(|p| *p <= 100).ok_or_else(usage)?;
            (FailRule::Percent(p), s)
        };
        let status = match status_text {
            Some(s) => status(s)?,
            None => 503,
        };
        Ok(Fail {
            rule,
            status,
            label: format!("fail:{spec}"),
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// The answer for `event` if its delivery is to fail: counts one more delivery of its
    /// provider event id (or, without one, of its body, as a provider retry sends it again).
    pub fn check(&self, event: &Event) -> Option<Mock> {
        let fails = match self.rule {
            FailRule::Percent(p) => (ulid::Ulid::generate().random() % 100) < u128::from(p),
            FailRule::First(n) => {
                let key = match &event.class.provider_event_id {
                    Some(id) => format!("{}:{id}", event.class.provider),
                    None => hex::encode(event.body_sha256()),
                };
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                let count = seen.entry(key).or_insert(0);
                *count += 1;
                *count <= n
            }
        };
        fails.then(|| Mock {
            status: self.status,
            body: Bytes::from(format!("hooktap: failed on purpose ({})\n", self.label)),
            label: self.label.clone(),
            ..Mock::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_specs() {
        let m = Mock::parse("status=503,delay=2s,body=hi,header=Retry-After:5").unwrap();
        assert_eq!(m.status, 503);
        assert_eq!(m.delay, Duration::from_secs(2));
        assert_eq!(&m.body[..], b"hi");
        assert_eq!(m.headers.get("retry-after"), Some(&b"5"[..]));
        assert_eq!(
            m.label,
            "mock:status=503,delay=2s,body=hi,header=Retry-After:5"
        );
        assert_eq!(Mock::parse("").unwrap().status, 200);
        assert!(
            Mock::parse("status=42")
                .unwrap_err()
                .contains("not an HTTP status")
        );
        assert!(
            Mock::parse("colour=red")
                .unwrap_err()
                .contains("unknown mock part")
        );
        assert!(
            Mock::parse("body=@/no/such/file")
                .unwrap_err()
                .contains("cannot read")
        );
        assert!(Mock::parse("header=x").unwrap_err().contains("no ':'"));
    }

    #[test]
    fn fail_first_counts_per_provider_event_id() {
        let fail = Fail::parse("first:2").unwrap();
        let mut e = crate::route::tests::event("POST", "/x", b"{}");
        e.class.provider_event_id = Some("evt_1".into());
        assert_eq!(fail.check(&e).unwrap().status, 503);
        assert!(fail.check(&e).is_some());
        assert!(fail.check(&e).is_none());
        e.class.provider_event_id = Some("evt_2".into());
        assert!(fail.check(&e).is_some());
        assert_eq!(
            Fail::parse("first:1:500")
                .unwrap()
                .check(&e)
                .unwrap()
                .status,
            500
        );
        assert!(Fail::parse("0%").unwrap().check(&e).is_none());
        assert_eq!(
            Fail::parse("100%:502").unwrap().check(&e).unwrap().status,
            502
        );
        assert!(Fail::parse("30").is_err());
        assert!(Fail::parse("101%").is_err());
        assert!(Fail::parse("first:x").is_err());
    }
}
