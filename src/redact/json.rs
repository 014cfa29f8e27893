//! JSON masks: the byte ranges of the values a `json:` rule names, each replaced by the mask,
//! every other byte left as it came (nothing is re-serialised).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::MASK;
use crate::filter::JsonStep;

/// The UTF-8 byte order mark some senders put before JSON (which a JSON parser refuses).
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `body` with every value a path names replaced by `"[redacted]"`, or `None` when nothing
/// matched (or the body is not JSON). A leading UTF-8 BOM is skipped to parse, and kept.
pub(super) fn mask(body: &[u8], paths: &[&[JsonStep]]) -> Option<Bytes> {
    let json = body.strip_prefix(BOM).unwrap_or(body);
    let root: &RawValue = serde_json::from_slice(json).ok()?;
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
