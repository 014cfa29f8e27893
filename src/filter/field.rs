//! One `field:value` term: what each field accepts (status ranges, id ranges, JSON paths, times
//! relative or absolute, the word sets of outcomes and signatures), with an example and the
//! nearest field name when a term is wrong.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};

use super::{FIELDS, JsonStep, Test};
use crate::config::parse_duration;
use crate::event::{Micros, Outcome, Signature};

pub(super) type Problem = (String, Option<String>);

pub(super) fn field_test(name: &str, value: &str, now: Micros) -> Result<Test, Problem> {
    let field = name.to_ascii_lowercase();
    if !FIELDS.contains(&field.as_str()) {
        let hint = match closest(&field, FIELDS) {
            Some(f) => format!("did you mean '{f}'?"),
            None => format!(
                "fields are {}; quote the word to search text",
                FIELDS.join(", ")
            ),
        };
        return Err((format!("unknown field '{name}'"), Some(hint)));
    }
    if value.is_empty() {
        return Err((
            format!("{field}: needs a value"),
            Some(example(&field).into()),
        ));
    }
    let bad = |what: &str| {
        (
            format!("{what} '{value}'"),
            Some(example(&field).to_string()),
        )
    };
    Ok(match field.as_str() {
        "method" => Test::Method(value.to_ascii_uppercase()),
        "path" => Test::Path(value.to_string()),
        "status" => {
            let (low, high) = status_range(value).ok_or_else(|| match Outcome::parse(value) {
                // The STATUS column shows `failed` where no answer came: that is an outcome.
                Some(_) => (
                    format!("status:{value} is an outcome, not a status"),
                    Some(format!("use outcome:{value}")),
                ),
                None => bad("bad status"),
            })?;
            Test::Status { low, high }
        }
        "outcome" => Test::Outcome(word(value, Outcome::ALL, Outcome::as_str, "outcome")?),
        "provider" => Test::Provider(value.to_ascii_lowercase()),
        "type" => Test::Type(value.to_string()),
        "sig" => Test::Sig(word(value, Signature::ALL, Signature::as_str, "signature")?),
        "header" => match value.split_once('=') {
            Some((name, v)) if !name.is_empty() => Test::Header {
                name: name.to_string(),
                value: Some(v.to_string()),
            },
            Some(_) => return Err(bad("bad header term")),
            None => Test::Header {
                name: value.to_string(),
                value: None,
            },
        },
        "json" => {
            let (path, wanted) = match value.split_once('=') {
                Some((p, v)) => (p, Some(v.to_string())),
                None => (value, None),
            };
            let path = json_path(path).ok_or_else(|| bad("bad JSON path"))?;
            Test::Json {
                path,
                value: wanted,
            }
        }
        "after" => Test::After(time(value, now).ok_or_else(|| bad("bad time"))?),
        "before" => Test::Before(time(value, now).ok_or_else(|| bad("bad time"))?),
        "id" => {
            let (low, high) = id_range(value).ok_or_else(|| bad("bad id range"))?;
            Test::Id { low, high }
        }
        _ => match value.to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" => Test::Replayed,
            _ => return Err(bad("bad value")),
        },
    })
}

fn example(field: &str) -> &'static str {
    match field {
        "method" => "e.g. method:POST",
        "path" => "e.g. path:/hooks/*",
        "status" => "e.g. status:404, status:5xx or status:400..499",
        "outcome" => "one of ok, failed, timeout, pending, interrupted, rejected",
        "provider" => "e.g. provider:ayrshare",
        "type" => "e.g. type:social.*",
        "sig" => "one of valid, invalid, unsigned, unchecked",
        "header" => "e.g. header:x-foo=bar or header:x-foo",
        "json" => "e.g. json:.platform=instagram or json:.items[0].id",
        "after" | "before" => "e.g. 1h, 2d, 2026-11-27 or 2026-11-27T10:00",
        "id" => "e.g. id:42, id:40..50, id:40.. or id:..50",
        _ => "write it alone: replayed",
    }
}

fn word<T: Copy>(
    value: &str,
    all: &[T],
    as_str: fn(T) -> &'static str,
    what: &str,
) -> Result<T, Problem> {
    let lower = value.to_ascii_lowercase();
    if let Some(found) = all.iter().find(|w| as_str(**w) == lower) {
        return Ok(*found);
    }
    let names: Vec<&str> = all.iter().map(|w| as_str(*w)).collect();
    let hint = match closest(&lower, &names) {
        Some(n) => format!("did you mean '{n}'?"),
        None => format!("one of {}", names.join(", ")),
    };
    Err((format!("unknown {what} '{value}'"), Some(hint)))
}

fn status_range(value: &str) -> Option<(u16, u16)> {
    let v = value.to_ascii_lowercase();
    if v.len() == 3 && v.ends_with("xx") {
        let class: u16 = v[..1].parse().ok().filter(|c| (1..=5).contains(c))?;
        return Some((class * 100, class * 100 + 99));
    }
    let (low, high) = match v.split_once("..") {
        Some((l, h)) => (l.parse().ok()?, h.parse().ok()?),
        None => {
            let code = v.parse().ok()?;
            (code, code)
        }
    };
    (low <= high && (100..=999).contains(&low) && high <= 999).then_some((low, high))
}

fn id_range(value: &str) -> Option<(i64, i64)> {
    let value = value.trim_start_matches('#');
    match value.split_once("..") {
        Some((l, h)) => {
            let low = if l.is_empty() { 1 } else { l.parse().ok()? };
            let high = if h.is_empty() {
                i64::MAX
            } else {
                h.parse().ok()?
            };
            (low <= high).then_some((low, high))
        }
        None => value.parse().ok().map(|id| (id, id)),
    }
}

/// Parses a `json:` path (`.a.b`, `.items[0].id`, `[*]`); `None` if it is not one.
pub fn json_path(text: &str) -> Option<Vec<JsonStep>> {
    let mut steps = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let (inner, after) = r.split_once(']')?;
            steps.push(match inner {
                "" | "*" => JsonStep::Any,
                n => JsonStep::Index(n.parse().ok()?),
            });
            rest = after;
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 && !r.starts_with('[') {
                return None;
            }
            if end > 0 {
                steps.push(JsonStep::Key(r[..end].to_string()));
            }
            rest = &r[end..];
        } else {
            return None;
        }
    }
    (!steps.is_empty()).then_some(steps)
}

/// A relative time (`1h` ago) or a timestamp (local time unless it names an offset).
fn time(value: &str, now: Micros) -> Option<Micros> {
    if let Ok(d) = parse_duration(value) {
        return Some(now - d.as_micros() as i64);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.timestamp_micros());
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_micros())
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a typo.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps: `stauts` is 1 from
/// `status`).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_distance() {
        assert_eq!(distance("stauts", "status"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(closest("methd", FIELDS), Some("method"));
        assert_eq!(closest("qqqqqq", FIELDS), None);
    }
}
