//! What to do with each Ayrshare action, from the list of webhooks the account already has:
//! register it, replace someone else's URL (only with `--register-replace`), or leave it; and
//! whether a signing secret may be sent at all (it is per profile: sending one re-keys every
//! webhook of the profile). Pure, so the tests feed it lists.

use serde_json::Value;

/// Every action `--register ayrshare` takes by default.
pub const DEFAULT_ACTIONS: [&str; 7] = [
    "scheduled",
    "social",
    "messages",
    "batch",
    "feed",
    "comments",
    "accountActivity",
];

/// Names that may key a list answer by action.
const KNOWN: [&str; 11] = [
    "scheduled",
    "social",
    "messages",
    "message",
    "batch",
    "feed",
    "comments",
    "accountActivity",
    "mentions",
    "automations",
    "suspended",
];

/// `(action, url)` pairs in a list answer, read tolerantly (its shape is not documented);
/// `Err` with what the answer looked like when nothing could be read from it.
pub fn parse(answer: &Value) -> Result<Vec<(String, String)>, String> {
    let mut found = Vec::new();
    walk(answer, &mut found, 0);
    if !found.is_empty() || looks_empty(answer) {
        return Ok(found);
    }
    Err(match answer {
        Value::Object(map) => format!(
            "an object with {}",
            map.keys().take(8).cloned().collect::<Vec<_>>().join(", ")
        ),
        Value::Array(_) => "a list of unknown entries".into(),
        Value::Null => "no JSON".into(),
        _ => "neither an object nor a list".into(),
    })
}

fn walk(v: &Value, found: &mut Vec<(String, String)>, depth: usize) {
    if depth > 4 {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| walk(i, found, depth + 1)),
        Value::Object(map) => {
            if let (Some(Value::String(a)), Some(Value::String(u))) =
                (map.get("action"), map.get("url"))
            {
                found.push((a.clone(), u.clone()));
                return;
            }
            for (key, value) in map {
                let action = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(key));
                match (action, value) {
                    (Some(a), Value::String(u)) if u.starts_with("http") => {
                        found.push((a.to_string(), u.clone()))
                    }
                    (Some(a), Value::Object(inner)) => match inner.get("url") {
                        Some(Value::String(u)) => found.push((a.to_string(), u.clone())),
                        _ => walk(value, found, depth + 1),
                    },
                    _ => walk(value, found, depth + 1),
                }
            }
        }
        _ => {}
    }
}

/// An answer that plainly lists nothing: `[]`, or `{"webhooks": []}` and the like.
fn looks_empty(v: &Value) -> bool {
    let empty = |v: &Value| match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    empty(v)
        || ["webhooks", "data", "hooks"]
            .iter()
            .any(|k| v.get(k).is_some_and(empty))
}

/// What to do with one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing there, or a URL hooktap registered: point it at ours.
    Register,
    /// Someone else's URL, taken over with `--register-replace` (restored when hooktap stops).
    Replace { old: String },
    /// Someone else's URL: left alone.
    Leave { url: String },
}

/// The plan for every action asked for.
#[derive(Debug, PartialEq, Eq)]
pub struct Decision {
    pub steps: Vec<(String, Step)>,
    /// An action of the profile (asked for or not) that points to a URL hooktap did not
    /// register; while there is one, no secret may be sent.
    pub foreign: Option<(String, String)>,
}

impl Decision {
    /// Whether a secret may be sent: nothing of the profile points anywhere but hooktap, and
    /// `--register-replace` (which never changes the secret) was not given.
    pub fn secret_ok(&self, replace: bool) -> bool {
        self.foreign.is_none() && !replace
    }
}

/// Decides each of `actions` from `listed`; `ours` are the URLs hooktap registered.
pub fn decide(
    actions: &[String],
    listed: &[(String, String)],
    ours: &[String],
    replace: bool,
) -> Decision {
    let is_ours = |url: &str| ours.iter().any(|o| o == url);
    let foreign = listed.iter().find(|(_, url)| !is_ours(url)).cloned();
    let steps = actions
        .iter()
        .map(|action| {
            let there = listed.iter().find(|(a, _)| a.eq_ignore_ascii_case(action));
            let step = match there {
                None => Step::Register,
                Some((_, url)) if is_ours(url) => Step::Register,
                Some((_, url)) if replace => Step::Replace { old: url.clone() },
                Some((_, url)) => Step::Leave { url: url.clone() },
            };
            (action.clone(), step)
        })
        .collect();
    Decision { steps, foreign }
}

/// `--register`'s value: `ayrshare` (every default action) or `ayrshare=a,b`.
pub fn parse_register(text: &str) -> Result<Vec<String>, String> {
    let (provider, actions) = match text.split_once('=') {
        Some((p, a)) => (p.trim(), Some(a)),
        None => (text.trim(), None),
    };
    if !provider.eq_ignore_ascii_case("ayrshare") {
        return Err(format!(
            "--register '{provider}': only ayrshare can be registered (e.g. --register ayrshare=scheduled,social)"
        ));
    }
    let Some(actions) = actions else {
        return Ok(DEFAULT_ACTIONS.map(String::from).to_vec());
    };
    let mut out: Vec<String> = Vec::new();
    for a in actions.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let canon = KNOWN
            .iter()
            .find(|k| k.eq_ignore_ascii_case(a))
            .ok_or_else(|| {
                format!(
                    "--register ayrshare={actions}: '{a}' is no Ayrshare action (known: {})",
                    KNOWN.join(", ")
                )
            })?;
        if !out.iter().any(|o| o == canon) {
            out.push(canon.to_string());
        }
    }
    if out.is_empty() {
        return Err("--register ayrshare= names no action (e.g. ayrshare=scheduled,social)".into());
    }
    Ok(out)
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
