//! Payload drift: the Store remembers the JSON shape (key paths and value kinds) of each
//! provider event type, and notes on an Event whose shape differs from every earlier one of its
//! type: "new field `details.code`", "`code` is now string (was number)", "`refId` missing".
//!
//! Shapes are stored once per distinct shape (hashed), so an Event of a known shape costs one
//! indexed lookup in the writer's transaction.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

use crate::event::{Event, Ingress};

/// Bodies larger than this are not shaped (drift is about webhooks, not uploads).
const MAX_BODY: usize = 1 << 20;
/// Paths kept per shape; objects keyed by ids would otherwise grow without end.
const MAX_PATHS: usize = 512;
const MAX_DEPTH: usize = 32;

/// A JSON shape: each key path (`details.code`, `postIds[].platform`) and its kind.
pub type Shape = BTreeMap<String, String>;

/// The shape of a JSON object body; `None` for anything else.
pub fn shape_of(body: &[u8]) -> Option<Shape> {
    Some(
        kinds_of(body)?
            .into_iter()
            .map(|(path, kinds)| (path, kind_names(kinds)))
            .collect(),
    )
}

/// The value kinds, one bit each, in name order (so a set of them prints sorted).
const KINDS: [&str; 6] = ["array", "bool", "null", "number", "object", "string"];
const ARRAY: u8 = 1;
const BOOL: u8 = 2;
const NULL: u8 = 4;
const NUMBER: u8 = 8;
const OBJECT: u8 = 16;
const STRING: u8 = 32;

/// Each path's kinds as bits: what the walk collects, cheaper than names.
type Kinds = BTreeMap<String, u8>;

/// A set of kinds as the shape's text has it: `number|string`.
fn kind_names(kinds: u8) -> String {
    let mut names = String::new();
    for (bit, name) in KINDS.iter().enumerate() {
        if kinds & (1 << bit) != 0 {
            if !names.is_empty() {
                names.push('|');
            }
            names.push_str(name);
        }
    }
    names
}

fn kinds_of(body: &[u8]) -> Option<Kinds> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let mut kinds = Kinds::new();
    let mut path = String::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    Walk {
        out: &mut kinds,
        path: &mut path,
        depth: 0,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(kinds)
}

/// One walk over the body; every level shares one path buffer, growing it on the way down and
/// cutting it back on the way up, so a path is only copied when the shape first meets it.
struct Walk<'s> {
    out: &'s mut Kinds,
    path: &'s mut String,
    depth: usize,
}

impl Walk<'_> {
    fn note(&mut self, kind: u8) {
        if self.path.is_empty() {
            return;
        }
        if let Some(kinds) = self.out.get_mut(self.path.as_str()) {
            *kinds |= kind;
        } else if self.out.len() < MAX_PATHS {
            self.out.insert(self.path.clone(), kind);
        }
    }

    fn child(&mut self) -> Walk<'_> {
        Walk {
            out: &mut *self.out,
            path: &mut *self.path,
            depth: self.depth + 1,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(mut self, _: bool) -> Result<(), E> {
        self.note(BOOL);
        Ok(())
    }
    fn visit_i64<E>(mut self, _: i64) -> Result<(), E> {
        self.note(NUMBER);
        Ok(())
    }
    fn visit_u64<E>(mut self, _: u64) -> Result<(), E> {
        self.note(NUMBER);
        Ok(())
    }
    fn visit_f64<E>(mut self, _: f64) -> Result<(), E> {
        self.note(NUMBER);
        Ok(())
    }
    fn visit_str<E>(mut self, _: &str) -> Result<(), E> {
        self.note(STRING);
        Ok(())
    }
    fn visit_borrowed_str<E>(mut self, _: &'de str) -> Result<(), E> {
        self.note(STRING);
        Ok(())
    }
    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.note(NULL);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.note(ARRAY);
        if self.depth >= MAX_DEPTH {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        let len = self.path.len();
        self.path.push_str("[]");
        while seq.next_element_seed(self.child())?.is_some() {}
        self.path.truncate(len);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.note(OBJECT);
        if self.depth >= MAX_DEPTH {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        let len = self.path.len();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if len > 0 {
                self.path.push('.');
            }
            self.path.push_str(&key);
            map.next_value_seed(self.child())?;
            self.path.truncate(len);
        }
        Ok(())
    }
}

/// The shape as stored: a `path<TAB>kinds` line per path, in path order.
fn to_text(kinds: &Kinds) -> String {
    let mut text = String::with_capacity(kinds.len() * 24);
    for (path, kinds) in kinds {
        text.push_str(path);
        text.push('\t');
        text.push_str(&kind_names(*kinds));
        text.push('\n');
    }
    text
}

fn from_text(text: &str) -> Shape {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, k)| (p.to_string(), k.to_string()))
        .collect()
}

/// How `shape` differs from every earlier shape of its type; `None` when it adds, changes and
/// drops nothing.
pub fn diff(shape: &Shape, earlier: &[Shape]) -> Option<String> {
    let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in earlier {
        for (p, k) in s {
            seen.entry(p).or_default().extend(k.split('|'));
        }
    }
    let always: BTreeSet<&str> = seen
        .keys()
        .copied()
        .filter(|p| earlier.iter().all(|s| s.contains_key(*p)))
        .collect();
    // Only the outermost of a new (or missing) subtree is named.
    let outermost = |paths: &BTreeSet<&str>, p: &str| {
        !paths.iter().any(|q| {
            q.len() < p.len()
                && (p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}[]")))
        })
    };
    let added: BTreeSet<&str> = shape
        .keys()
        .map(String::as_str)
        .filter(|p| !seen.contains_key(p))
        .collect();
    let missing: BTreeSet<&str> = always
        .iter()
        .copied()
        .filter(|p| !shape.contains_key(*p))
        .collect();
    let mut parts = Vec::new();
    let added: Vec<String> = added
        .iter()
        .filter(|p| outermost(&added, p))
        .map(|p| format!("`{p}`"))
        .collect();
    match added.len() {
        0 => {}
        1 => parts.push(format!("new field {}", added[0])),
        _ => parts.push(format!("new fields {}", added.join(", "))),
    }
    for (p, kinds) in shape {
        if let Some(before) = seen.get(p.as_str())
            && !kinds.split('|').all(|k| before.contains(k))
        {
            let was: Vec<&str> = before.iter().copied().collect();
            parts.push(format!("`{p}` is now {kinds} (was {})", was.join("|")));
        }
    }
    let missing: Vec<String> = missing
        .iter()
        .filter(|p| outermost(&missing, p))
        .map(|p| format!("`{p}`"))
        .collect();
    if !missing.is_empty() {
        parts.push(format!(
            "{} missing (always present before)",
            missing.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// An Event's shape, worked out before it reaches the writer (on the caller's task, so the one
/// writer thread only does the lookup): its text as stored, and the hash that names it.
pub(super) struct Prepared {
    hash: [u8; 16],
    text: String,
}

/// The shape to record for `event`, if it has one worth recording.
pub(super) fn prepare(event: &Event) -> Option<Prepared> {
    let class = &event.class;
    if class.event_type.is_none() || class.provider == "unknown" {
        return None;
    }
    if event.ingress == Ingress::Edit || event.body.len() > MAX_BODY {
        return None;
    }
    let text = to_text(&kinds_of(&event.body)?);
    let mut hash = [0; 16];
    hash.copy_from_slice(&Sha256::digest(text.as_bytes())[..16]);
    Some(Prepared { hash, text })
}

/// Remembers the shape of a newly inserted Event and notes its drift. Called by the writer in
/// the Event's own transaction; cheap for unknown providers and known shapes.
pub(super) fn record(
    tx: &Transaction<'_>,
    event_id: i64,
    event: &Event,
    prepared: Option<&Prepared>,
) -> anyhow::Result<()> {
    let (Some(p), Some(kind)) = (prepared, event.class.event_type.as_deref()) else {
        return Ok(());
    };
    let class = &event.class;
    let (hash, text) = (&p.hash[..], &p.text);
    let known = tx
        .prepare_cached(
            "SELECT 1 FROM shapes WHERE provider = ?1 AND event_type = ?2 AND hash = ?3",
        )?
        .query_row(params![class.provider, kind, hash], |_| Ok(()))
        .optional()?
        .is_some();
    if known {
        return Ok(());
    }
    let earlier: Vec<Shape> = tx
        .prepare_cached("SELECT paths FROM shapes WHERE provider = ?1 AND event_type = ?2")?
        .query_map(params![class.provider, kind], |r| r.get::<_, String>(0))?
        .map(|t| t.map(|t| from_text(&t)))
        .collect::<Result<_, _>>()?;
    tx.prepare_cached(
        "INSERT INTO shapes (provider, event_type, hash, paths, first_event_id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![class.provider, kind, hash, text, event_id])?;
    if !earlier.is_empty()
        && let Some(note) = diff(&from_text(text), &earlier)
    {
        tx.prepare_cached("INSERT INTO drift (event_id, note) VALUES (?1, ?2)")?
            .execute(params![event_id, note])?;
    }
    Ok(())
}

/// The drift note of an Event, if its shape differed from earlier ones of its type.
pub fn note(conn: &Connection, event_id: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT note FROM drift WHERE event_id = ?1")?
        .query_row([event_id], |r| r.get(0))
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(json: &str) -> Shape {
        shape_of(json.as_bytes()).unwrap()
    }

    #[test]
    fn shapes_name_paths_and_kinds() {
        let json = r#"{"a":1,"b":{"c":"x","d":null},"e":[{"f":true},{"f":"y","g":1}],"h":[]}"#;
        let s = shape(json);
        let got: Vec<(&str, &str)> = s.iter().map(|(p, k)| (p.as_str(), k.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("a", "number"),
                ("b", "object"),
                ("b.c", "string"),
                ("b.d", "null"),
                ("e", "array"),
                ("e[]", "object"),
                ("e[].f", "bool|string"),
                ("e[].g", "number"),
                ("h", "array"),
            ]
        );
        assert!(shape_of(b"[1]").is_none());
        assert!(shape_of(b"{\"a\":").is_none());
        // The stored text (and so the hash that names a shape in existing Stores) is pinned.
        let text = to_text(&kinds_of(json.as_bytes()).unwrap());
        assert_eq!(
            text,
            "a\tnumber\nb\tobject\nb.c\tstring\nb.d\tnull\ne\tarray\ne[]\tobject\n\
             e[].f\tbool|string\ne[].g\tnumber\nh\tarray\n"
        );
        assert_eq!(from_text(&text), s);
    }

    #[test]
    fn diff_names_new_changed_and_missing_fields() {
        let before = [shape(
            r#"{"code":200,"details":{"status":"x"},"refId":"r"}"#,
        )];
        assert_eq!(diff(&before[0], &before), None);
        let now = shape(r#"{"code":"200","details":{"status":"x","code":161},"extra":{"a":1}}"#);
        assert_eq!(
            diff(&now, &before).unwrap(),
            "new fields `details.code`, `extra`; `code` is now string (was number); \
             `refId` missing (always present before)"
        );
    }

    #[test]
    fn optional_fields_seen_before_are_not_drift() {
        let earlier = [shape(r#"{"a":1}"#), shape(r#"{"a":1,"b":2}"#)];
        assert_eq!(diff(&shape(r#"{"a":2,"b":3}"#), &earlier), None);
        assert_eq!(diff(&shape(r#"{"a":2}"#), &earlier), None);
    }
}
