//! Redaction: rules that mask secret values (a header's value, a field of a JSON body) in what
//! hooktap stores, while the Target still gets the original request.
//!
//! Rules come from `--redact header:NAME` / `--redact json:.path` and from `[redact] rules =
//! [...]` in the config file. Capture applies them to an Event just before it is stored (after
//! it was classified, its signature checked and its outgoing request built), and to the
//! Target's answer before that is stored. Only the masked values change: every other byte of a
//! JSON body stays as it came (nothing is re-serialised), so a masked secret never reaches the
//! Store, its WAL, or an export.
//!
//! `json:` rules see the JSON the app sees: a leading UTF-8 BOM is skipped, a gzip, deflate or
//! br body is decoded (as `show` decodes it), masked and encoded again in the same coding; a
//! body that cannot be decoded within the limit is stored as one marker (`encoded`).

mod encoded;
mod json;
mod off_task;

use std::fmt;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use serde::Deserialize;

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
#[derive(Clone, Debug)]
pub struct Redactor {
    rules: Arc<Vec<Rule>>,
    /// The most bytes a compressed body may decode to; past it, the body is masked whole.
    max_decoded: u64,
}

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor::new(Vec::new())
    }
}

impl Redactor {
    /// A redactor with these rules.
    pub fn new(rules: Vec<Rule>) -> Redactor {
        Redactor {
            rules: Arc::new(rules),
            max_decoded: crate::pretty::body::MAX_DECODED,
        }
    }

    /// With `limit` as the most bytes a compressed body may decode to (`listen` gives its
    /// `--max-body`): a larger one is masked whole, so a compression bomb costs at most that.
    pub fn max_decoded(mut self, limit: u64) -> Redactor {
        self.max_decoded = limit;
        self
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

    /// The paths of the `json:` rules.
    fn json_paths(&self) -> Vec<&[JsonStep]> {
        self.rules
            .iter()
            .filter_map(|r| match r {
                Rule::Json(p) => Some(p.as_slice()),
                Rule::Header(_) => None,
            })
            .collect()
    }

    /// The body with every value a `json:` rule names replaced by `"[redacted]"`, or `None`
    /// when nothing matched (or the body is not JSON). A leading UTF-8 BOM is skipped (and
    /// kept). The body is taken as it is: [`Redactor::event`] also decodes a compressed one.
    pub fn body(&self, body: &[u8]) -> Option<Bytes> {
        let paths = self.json_paths();
        if paths.is_empty() {
            return None;
        }
        json::mask(body, &paths)
    }

    /// Masks a body (in its `Content-Encoding`) and keeps `headers` in step with it; whether
    /// anything changed.
    fn stored_body(&self, headers: &mut HeaderList, body: &mut Bytes) -> bool {
        let paths = self.json_paths();
        if paths.is_empty() {
            return false;
        }
        let new = match encoded::mask(headers, body, &paths, self.max_decoded) {
            None => return false,
            Some(encoded::Masked::Values(new)) => new,
            Some(encoded::Masked::Whole(marker)) => {
                tracing::warn!(
                    "a body that --redact json: rules cover could not be decoded; it is stored \
                     masked whole"
                );
                headers.remove("content-encoding");
                marker
            }
        };
        // The stored request stays self-consistent (a replay sets the length anyway).
        if headers.contains("content-length") {
            headers.set("content-length", new.len().to_string());
        }
        *body = new;
        true
    }

    /// Masks an Event's headers and body as the rules say; whether anything changed.
    pub fn event(&self, event: &mut Event) -> bool {
        if self.is_empty() {
            return false;
        }
        let headers = self.headers(&mut event.headers) > 0;
        let body = self.stored_body(&mut event.headers, &mut event.body);
        headers || body
    }

    /// Masks a Delivery's answer (headers and body) as the rules say.
    pub fn result(&self, result: &mut DeliveryResult) {
        if self.is_empty() {
            return;
        }
        self.headers(&mut result.headers);
        self.stored_body(&mut result.headers, &mut result.body);
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
