//! Two Deliveries of one Event side by side (status, headers, body as a unified
//! diff with JSON normalised), to answer "did my fix change what the app answers?".

use std::io::Write;

use similar::TextDiff;

use super::body;
use crate::event::{Delivery, DeliveryKind, HeaderList};
use crate::text::{sanitize, sanitize_block, sanitize_bytes};

/// Response headers that differ on every answer and would only be noise.
const IGNORED: &[&str] = &["date"];

/// Picks the two Deliveries to compare: the ones named, or else the original and the latest
/// replay (falling back to the first and the last).
pub fn pick(
    deliveries: &[Delivery],
    event_id: i64,
    named: Option<(i64, i64)>,
) -> anyhow::Result<(&Delivery, &Delivery)> {
    let find = |id: i64| {
        deliveries.iter().find(|d| d.id == id).ok_or_else(|| {
            let ids: Vec<String> = deliveries.iter().map(|d| format!("#{}", d.id)).collect();
            anyhow::anyhow!(
                "event #{event_id} has no Delivery #{id} (its Deliveries: {})",
                if ids.is_empty() {
                    "none".into()
                } else {
                    ids.join(", ")
                }
            )
        })
    };
    if let Some((a, b)) = named {
        return Ok((find(a)?, find(b)?));
    }
    if deliveries.len() < 2 {
        anyhow::bail!(
            "event #{event_id} has {} Delivery; replay it first (hooktap replay {event_id}) to \
             have two to compare",
            deliveries.len()
        );
    }
    let a = deliveries
        .iter()
        .find(|d| d.kind == DeliveryKind::Original)
        .unwrap_or(&deliveries[0]);
    let b = deliveries
        .iter()
        .rev()
        .find(|d| d.kind == DeliveryKind::Replay && d.id != a.id)
        .unwrap_or(&deliveries[deliveries.len() - 1]);
    Ok((a, b))
}

/// Writes the comparison of `a` and `b`.
pub fn write(out: &mut impl Write, a: &Delivery, b: &Delivery) -> std::io::Result<()> {
    let (ra, rb) = (&a.result, &b.result);
    writeln!(
        out,
        "Delivery #{} ({}, {}) vs #{} ({}, {})",
        a.id,
        a.kind,
        sanitize(&a.target),
        b.id,
        b.kind,
        sanitize(&b.target)
    )?;
    let status = |d: &Delivery| match d.result.status {
        Some(s) => s.to_string(),
        None => format!(
            "{} ({})",
            d.result.outcome,
            sanitize(d.result.error.as_deref().unwrap_or("no answer"))
        ),
    };
    if ra.status == rb.status && ra.outcome == rb.outcome {
        writeln!(out, "status: {} (same)", status(a))?;
    } else {
        writeln!(out, "status: {} -> {}", status(a), status(b))?;
    }
    let (ha, hb) = (header_text(&ra.headers), header_text(&rb.headers));
    if ha == hb {
        writeln!(out, "headers: same (date ignored)")?;
    } else {
        writeln!(out, "headers (date ignored):")?;
        for change in TextDiff::from_lines(&ha, &hb).iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => continue,
            };
            write!(out, "{sign} {change}")?;
        }
    }
    let (ba, bb) = (
        body_text(&ra.headers, &ra.body),
        body_text(&rb.headers, &rb.body),
    );
    if ba == bb {
        return writeln!(out, "body: same ({} bytes)", rb.body.len());
    }
    writeln!(out, "body:")?;
    TextDiff::from_lines(&ba, &bb)
        .unified_diff()
        .context_radius(3)
        .header(&format!("#{}", a.id), &format!("#{}", b.id))
        .to_writer(out)
}

/// The comparison of `a` and `b` as lines (what [`write()`] writes), for a screen.
pub fn lines(a: &Delivery, b: &Delivery) -> Vec<String> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(&mut out, a, b);
    String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Headers as sorted `name: value` lines (names lowercased), so order alone is no difference.
fn header_text(headers: &HeaderList) -> String {
    let mut lines: Vec<String> = headers
        .iter()
        .filter(|(n, _)| !IGNORED.iter().any(|i| n.eq_ignore_ascii_case(i)))
        .map(|(n, v)| {
            format!(
                "{}: {}\n",
                sanitize(&n.to_ascii_lowercase()),
                sanitize_bytes(v)
            )
        })
        .collect();
    lines.sort();
    lines.concat()
}

/// A body as text to diff: decoded, and JSON re-serialised with sorted keys and indentation.
fn body_text(headers: &HeaderList, bytes: &[u8]) -> String {
    let decoded = match body::decode(headers, bytes) {
        Some(Ok((_, d))) => d,
        _ => bytes.to_vec(),
    };
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&decoded) {
        // Two answers that differ only in key order are the same answer.
        value.sort_all_objects();
        if let Ok(text) = serde_json::to_string_pretty(&value) {
            return sanitize_block(&text).into_owned() + "\n";
        }
    }
    match String::from_utf8(decoded) {
        Ok(text) => {
            let mut text = sanitize_block(&text).into_owned();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        }
        Err(e) => body::hex_dump(e.as_bytes()).join("\n") + "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DeliveryResult, Outcome};
    use bytes::Bytes;

    fn delivery(id: i64, kind: DeliveryKind, status: u16, body: &str, hdr: &str) -> Delivery {
        let mut headers = HeaderList::default();
        headers.push("Date", format!("now {id}").into_bytes());
        headers.push("X-App", hdr.as_bytes().to_vec());
        Delivery {
            id,
            event_id: 1,
            kind,
            target: "http://t/x".into(),
            started_at: 0,
            result: DeliveryResult {
                outcome: Outcome::Ok,
                status: Some(status),
                headers,
                body: Bytes::from(body.to_string()),
                error: None,
                duration_us: 1,
            },
        }
    }

    #[test]
    fn key_order_alone_is_no_difference() {
        let h = HeaderList::default();
        assert_eq!(
            body_text(&h, br#"{"b":1,"a":{"y":2,"x":3}}"#),
            body_text(&h, br#"{"a":{"x":3,"y":2},"b":1}"#)
        );
    }

    #[test]
    fn compares_original_with_latest_replay() {
        let ds = vec![
            delivery(
                3,
                DeliveryKind::Original,
                500,
                r#"{"error":"boom","n":1}"#,
                "a",
            ),
            delivery(5, DeliveryKind::Replay, 500, "x", "a"),
            delivery(7, DeliveryKind::Replay, 200, r#"{"n":1,"ok":true}"#, "b"),
        ];
        let (a, b) = pick(&ds, 1, None).unwrap();
        assert_eq!((a.id, b.id), (3, 7));
        let mut out = Vec::new();
        write(&mut out, a, b).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("status: 500 -> 200"), "{text}");
        assert!(text.contains("- x-app: a\n+ x-app: b\n"), "{text}");
        assert!(!text.contains("date:"), "{text}");
        assert!(text.contains("--- #3\n+++ #7\n"), "{text}");
        assert!(text.contains("-  \"error\": \"boom\",\n"), "{text}");
        assert!(text.contains("+  \"ok\": true\n"), "{text}");
        assert!(text.contains("-  \"n\": 1\n+  \"n\": 1,\n"), "{text}");
    }

    #[test]
    fn same_answers_say_so_and_bad_ids_are_named() {
        let ds = vec![
            delivery(1, DeliveryKind::Original, 200, r#"{"a":1,"b":2}"#, "a"),
            delivery(2, DeliveryKind::Replay, 200, r#"{"b":2, "a":1}"#, "a"),
        ];
        let mut out = Vec::new();
        write(&mut out, &ds[0], &ds[1]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("status: 200 (same)"));
        assert!(text.contains("body: same"), "{text}");
        let err = pick(&ds, 1, Some((1, 9))).unwrap_err().to_string();
        assert!(
            err.contains("no Delivery #9 (its Deliveries: #1, #2)"),
            "{err}"
        );
        assert!(
            pick(&ds[..1], 1, None)
                .unwrap_err()
                .to_string()
                .contains("replay it first")
        );
    }
}
