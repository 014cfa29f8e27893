//! Matching a filter in Rust: every term, so the TUI can test a new Event without a query and
//! queries can check the terms SQL cannot (headers, JSON, text).

use serde_json::Value;

use super::{Filter, JsonStep, Test};
use crate::event::Event;
use crate::store::EventSummary;

impl Filter {
    /// Tests an Event by its summary alone: `Some(answer)` when that settles it, `None` when a
    /// term needs headers or body (then call [`Filter::matches`]).
    pub fn matches_summary(&self, s: &EventSummary) -> Option<bool> {
        let mut undecided = false;
        for term in &self.terms {
            match summary_test(&term.test, s) {
                Some(hit) if hit == term.negated => return Some(false),
                Some(_) => {}
                None => undecided = true,
            }
        }
        (!undecided).then_some(true)
    }

    /// Tests an Event in full.
    pub fn matches(&self, s: &EventSummary, event: &Event) -> bool {
        self.terms.iter().all(|term| {
            let hit = summary_test(&term.test, s).unwrap_or_else(|| event_test(&term.test, event));
            hit != term.negated
        })
    }
}

fn summary_test(test: &Test, s: &EventSummary) -> Option<bool> {
    Some(match test {
        Test::Method(m) => s.method.eq_ignore_ascii_case(m),
        Test::Path(g) => glob(g, &s.path),
        Test::Status { low, high } => s.status.is_some_and(|c| (*low..=*high).contains(&c)),
        Test::Outcome(o) => s.outcome.as_deref() == Some(o.as_str()),
        Test::Provider(p) => s.provider == *p,
        Test::Type(g) => s.event_type.as_deref().is_some_and(|t| glob(g, t)),
        Test::Sig(sig) => s.signature == sig.as_str(),
        Test::After(t) => s.received_at >= *t,
        Test::Before(t) => s.received_at < *t,
        Test::Id { low, high } => (*low..=*high).contains(&s.id),
        Test::Replayed => s.replayed,
        Test::Header { .. } | Test::Json { .. } | Test::Text(_) => return None,
    })
}

fn event_test(test: &Test, e: &Event) -> bool {
    match test {
        Test::Header { name, value } => e.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case(name)
                && value
                    .as_deref()
                    .is_none_or(|g| glob(g, &String::from_utf8_lossy(v)))
        }),
        Test::Json { path, value } => match serde_json::from_slice::<Value>(&e.body) {
            Ok(root) => json_match(&root, path, value.as_deref()),
            Err(_) => false,
        },
        Test::Text(needle) => {
            let needle = needle.as_bytes();
            contains_ignore_case(e.path.as_bytes(), needle)
                || e.query
                    .as_deref()
                    .is_some_and(|q| contains_ignore_case(q.as_bytes(), needle))
                || contains_ignore_case(&e.body, needle)
        }
        _ => false,
    }
}

fn json_match(node: &Value, path: &[JsonStep], wanted: Option<&str>) -> bool {
    let Some((step, rest)) = path.split_first() else {
        return match wanted {
            None => true,
            Some(g) => match node {
                Value::String(s) => glob(g, s),
                other => glob(g, &other.to_string()),
            },
        };
    };
    match (step, node) {
        (JsonStep::Key(k), Value::Object(map)) => {
            map.get(k).is_some_and(|v| json_match(v, rest, wanted))
        }
        (JsonStep::Index(i), Value::Array(items)) => {
            items.get(*i).is_some_and(|v| json_match(v, rest, wanted))
        }
        (JsonStep::Any, Value::Array(items)) => items.iter().any(|v| json_match(v, rest, wanted)),
        _ => false,
    }
}

/// Whether `haystack` contains `needle`, ignoring ASCII case.
fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// A glob with `*` (any run) and `?` (any one character), case-sensitive like SQLite's GLOB.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
