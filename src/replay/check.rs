//! `replay --check`: compare the app's new answer to an Event with the answer recorded for it
//! (status always; with `--check body`, the body too, JSON compared as values without the
//! fields `--ignore json:.path` names). A difference is a few lines for people.

use serde_json::Value;

use crate::event::{Delivery, DeliveryKind, DeliveryResult, Outcome};
use crate::filter::JsonStep;

/// What `--check` compares.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// Compare bodies too.
    pub body: bool,
    /// JSON paths left out of both bodies.
    pub ignore: Vec<Vec<JsonStep>>,
}

impl Spec {
    /// Parses an `--ignore` value: `json:.path`.
    pub fn ignore_path(text: &str) -> Result<Vec<JsonStep>, String> {
        text.strip_prefix("json:")
            .and_then(crate::filter::json_path)
            .ok_or_else(|| format!("--ignore '{text}': write json:.path, e.g. json:.requestId"))
    }
}

/// The answer recorded for an Event: its first original Delivery the app answered, else its
/// latest answered one that hooktap did not make up (not a mock).
pub fn recorded(deliveries: &[Delivery]) -> Option<&Delivery> {
    let answered = |d: &&Delivery| d.result.outcome == Outcome::Ok && d.kind != DeliveryKind::Mock;
    deliveries
        .iter()
        .filter(answered)
        .find(|d| d.kind == DeliveryKind::Original)
        .or_else(|| deliveries.iter().rev().find(answered))
}

/// The differences between `old` and `new` under `spec`; empty when they agree.
pub fn differences(old: &DeliveryResult, new: &DeliveryResult, spec: &Spec) -> Vec<String> {
    let mut out = Vec::new();
    let show = |r: &DeliveryResult| match r.status {
        Some(s) => s.to_string(),
        None => r.outcome.as_str().to_string(),
    };
    if old.status != new.status || (old.status.is_none() && old.outcome != new.outcome) {
        out.push(format!("status: {} -> {}", show(old), show(new)));
    }
    if spec.body {
        let (a, b) = (comparable(&old.body, spec), comparable(&new.body, spec));
        if a != b {
            out.push("body:".into());
            let diff = similar::TextDiff::from_lines(&a, &b);
            for change in diff.iter_all_changes() {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "-",
                    similar::ChangeTag::Insert => "+",
                    similar::ChangeTag::Equal => continue,
                };
                let line =
                    crate::text::sanitize(change.value().trim_end_matches('\n')).into_owned();
                out.push(format!("  {sign} {line}"));
            }
        }
    }
    out
}

/// A body as text to compare: JSON pretty-printed with its keys sorted and the ignored paths
/// removed, anything else as it is.
fn comparable(body: &[u8], spec: &Spec) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            for path in &spec.ignore {
                remove(&mut v, path);
            }
            let sorted: Value = serde_json::from_str(&v.to_string()).unwrap_or(v);
            serde_json::to_string_pretty(&sort(sorted)).unwrap_or_default()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

fn sort(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut pairs: Vec<(String, Value)> = map.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, sort(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort).collect()),
        other => other,
    }
}

/// Removes what `path` names from `v` (every element for `[*]`).
fn remove(v: &mut Value, path: &[JsonStep]) {
    let Some((step, rest)) = path.split_first() else {
        return;
    };
    match (v, step) {
        (Value::Object(map), JsonStep::Key(k)) if rest.is_empty() => {
            map.remove(k);
        }
        (Value::Object(map), JsonStep::Key(k)) => {
            if let Some(child) = map.get_mut(k) {
                remove(child, rest);
            }
        }
        (Value::Array(items), JsonStep::Index(i)) if rest.is_empty() && *i < items.len() => {
            items.remove(*i);
        }
        (Value::Array(items), JsonStep::Index(i)) => {
            if let Some(child) = items.get_mut(*i) {
                remove(child, rest);
            }
        }
        (Value::Array(items), JsonStep::Any) => {
            for child in items {
                remove(child, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::HeaderList;

    fn answer(status: u16, body: &str) -> DeliveryResult {
        DeliveryResult {
            outcome: Outcome::Ok,
            status: Some(status),
            headers: HeaderList::default(),
            body: bytes::Bytes::from(body.to_string()),
            error: None,
            duration_us: 1,
        }
    }

    #[test]
    fn status_always_body_on_request_ignoring_named_fields() {
        let status_only = Spec::default();
        let a = answer(
            200,
            r#"{"ok":true,"requestId":"a","items":[{"at":1,"n":1}]}"#,
        );
        let b = answer(
            200,
            r#"{"requestId":"b","ok":true,"items":[{"at":2,"n":1}]}"#,
        );
        assert!(differences(&a, &b, &status_only).is_empty());
        assert_eq!(
            differences(&a, &answer(500, "x"), &status_only),
            ["status: 200 -> 500"]
        );
        let mut body = Spec {
            body: true,
            ignore: vec![],
        };
        let d = differences(&a, &b, &body);
        assert!(
            d.iter().any(|l| l.contains("- ") && l.contains("\"a\"")),
            "{d:?}"
        );
        body.ignore = vec![
            Spec::ignore_path("json:.requestId").unwrap(),
            Spec::ignore_path("json:.items[*].at").unwrap(),
        ];
        assert!(differences(&a, &b, &body).is_empty());
        assert!(Spec::ignore_path(".x").is_err());
    }
}
