//! Redaction: rules that mask secret values (a header's value, a field of a JSON body) in what
//! hooktap stores, while the Target still gets the original request.
//!
//! Rules come from `--redact header:NAME` / `--redact json:.path` and from `[redact] rules =
//! [...]` in the config file. Capture applies them to an Event just before it is stored (after
//! it was classified, its signature checked and its outgoing request built), and to the
//! Target's answer before that is stored. Only the masked values change: every other byte of a
//! JSON body stays as it came (nothing is re-serialised), so a masked secret never reaches the
//! Store, its WAL, or an export.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::event::{DeliveryResult, Event, HeaderList};
use crate::filter::JsonStep;

/// What stands in for a masked value (a JSON string in bodies).
pub const MASK: &str = "[redacted]";

/// One redaction rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// `header:NAME`: every value of this header (any case).
    Header(String),
    /// `json:.path`: the value at this path of a JSON body (`.a.b`, `.items[0].x`, `[*]` for
    /// every element of an array).
    Json(Vec<JsonStep>),
}

impl Rule {
    /// Parses `header:NAME` or `json:.path`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let text = text.trim();
        let hint = "use header:NAME or json:.path, e.g. --redact header:authorization \
                    --redact json:.password";
        match text.split_once(':') {
            Some(("header", name)) => {
                let name = name.trim();
                if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(format!("'{text}': '{name}' is not a header name ({hint})"));
                }
                Ok(Rule::Header(name.to_ascii_lowercase()))
            }
            Some(("json", path)) => crate::filter::json_path(path.trim())
                .map(Rule::Json)
                .ok_or_else(|| format!("'{text}': '{path}' is not a JSON path ({hint})")),
            _ => Err(format!("'{text}' is not a redaction rule ({hint})")),
        }
    }
}

impl std::str::FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Rule, String> {
        Rule::parse(s)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Header(name) => write!(f, "header:{name}"),
            Rule::Json(path) => {
                f.write_str("json:")?;
                for step in path {
                    match step {
                        JsonStep::Key(k) => write!(f, ".{k}")?,
                        JsonStep::Index(i) => write!(f, "[{i}]")?,
                        JsonStep::Any => f.write_str("[*]")?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// A set of rules, cheap to clone. The default masks nothing.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    rules: Arc<Vec<Rule>>,
}

impl Redactor {
    /// A redactor with these rules.
    pub fn new(rules: Vec<Rule>) -> Redactor {
        Redactor {
            rules: Arc::new(rules),
        }
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Masks the values of headers named by a rule; returns how many.
    pub fn headers(&self, headers: &mut HeaderList) -> usize {
        let mut masked = 0;
        for (name, value) in headers.0.iter_mut() {
            let hit = self
                .rules
                .iter()
                .any(|r| matches!(r, Rule::Header(n) if n.eq_ignore_ascii_case(name)));
            if hit {
                *value = MASK.as_bytes().to_vec();
                masked += 1;
            }
        }
        masked
    }

    /// The body with every value a `json:` rule names replaced by `"[redacted]"`, or `None`
    /// when nothing matched (or the body is not JSON).
    pub fn body(&self, body: &[u8]) -> Option<Bytes> {
        let paths: Vec<&[JsonStep]> = self
            .rules
            .iter()
            .filter_map(|r| match r {
                Rule::Json(p) => Some(p.as_slice()),
                Rule::Header(_) => None,
            })
            .collect();
        if paths.is_empty() {
            return None;
        }
        let root: &RawValue = serde_json::from_slice(body).ok()?;
        let base = body.as_ptr() as usize;
        let mut spans = Vec::new();
        for path in paths {
            walk(root, path, base, &mut spans);
        }
        if spans.is_empty() {
            return None;
        }
        Some(replace(body, spans))
    }

    /// Masks an Event's headers and body as the rules say; whether anything changed.
    pub fn event(&self, event: &mut Event) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut changed = self.headers(&mut event.headers) > 0;
        if let Some(body) = self.body(&event.body) {
            changed = true;
            // The stored request stays self-consistent (a replay sets the length anyway).
            if event.headers.contains("content-length") {
                event.headers.set("content-length", body.len().to_string());
            }
            event.body = body;
        }
        changed
    }

    /// Masks a Delivery's answer (headers and body) as the rules say.
    pub fn result(&self, result: &mut DeliveryResult) {
        if self.is_empty() {
            return;
        }
        self.headers(&mut result.headers);
        if let Some(body) = self.body(&result.body) {
            if result.headers.contains("content-length") {
                result.headers.set("content-length", body.len().to_string());
            }
            result.body = body;
        }
    }
}

/// Collects the byte ranges (in the body whose start address is `base`) of the values `path`
/// names under `node`.
fn walk(node: &RawValue, path: &[JsonStep], base: usize, out: &mut Vec<Range<usize>>) {
    let Some((step, rest)) = path.split_first() else {
        let text = node.get();
        let start = text.as_ptr() as usize - base;
        out.push(start..start + text.len());
        return;
    };
    match step {
        JsonStep::Key(key) => {
            let Ok(Entries(entries)) = serde_json::from_str::<Entries>(node.get()) else {
                return;
            };
            // Every entry of that name: a duplicate key must not smuggle a secret past.
            for (name, value) in entries {
                if name == key.as_str() {
                    walk(value, rest, base, out);
                }
            }
        }
        JsonStep::Index(i) => {
            if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(node.get())
                && let Some(item) = items.get(*i)
            {
                walk(item, rest, base, out);
            }
        }
        JsonStep::Any => {
            if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(node.get()) {
                for item in items {
                    walk(item, rest, base, out);
                }
            }
        }
    }
}

/// `body` with each range replaced by the mask; a range inside an earlier one is covered by it.
fn replace(body: &[u8], mut spans: Vec<Range<usize>>) -> Bytes {
    spans.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mask = format!("\"{MASK}\"");
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    for span in spans {
        if span.start < at {
            continue; // nested in the previous span, already masked
        }
        out.extend_from_slice(&body[at..span.start]);
        out.extend_from_slice(mask.as_bytes());
        at = span.end;
    }
    out.extend_from_slice(&body[at..]);
    Bytes::from(out)
}

/// A JSON object's entries in order, duplicates kept, values unparsed.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'a>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<Cow<'a, str>, &'a RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    redact: Section,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    rules: Vec<String>,
}

/// The rules in the config file's text (`[redact] rules = ["header:x-api-key", "json:.password"]`).
pub fn from_config(text: &str, path: &std::path::Path) -> anyhow::Result<Vec<Rule>> {
    let config: ConfigFile = toml::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: fix the TOML (e.g. [redact] rules = [\"header:authorization\"]): {e}",
            path.display()
        )
    })?;
    config
        .redact
        .rules
        .iter()
        .map(|r| Rule::parse(r).map_err(|e| anyhow::anyhow!("{}: [redact] {e}", path.display())))
        .collect()
}

/// The rules from `flags` and then from the config file (`~/.config/hooktap/config.toml`).
pub fn load(flags: &[Rule]) -> anyhow::Result<Redactor> {
    let path = crate::providers::secrets::config_path();
    let mut rules = flags.to_vec();
    match std::fs::read_to_string(&path) {
        Ok(text) => rules.extend(from_config(&text, &path)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let mut unique: Vec<Rule> = Vec::with_capacity(rules.len());
    for r in rules {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    Ok(Redactor::new(unique))
}

#[cfg(test)]
mod tests;
