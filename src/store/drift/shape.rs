//! A JSON body's shape: every key path (array elements as `[]`) with the kinds of value seen
//! there, walked without building the document, and the text it is stored as.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

pub(super) fn kinds_of(body: &[u8]) -> Option<Kinds> {
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
pub(super) fn to_text(kinds: &Kinds) -> String {
    let mut text = String::with_capacity(kinds.len() * 24);
    for (path, kinds) in kinds {
        text.push_str(path);
        text.push('\t');
        text.push_str(&kind_names(*kinds));
        text.push('\n');
    }
    text
}

/// The stored text read back as a [`Shape`].
pub(super) fn from_text(text: &str) -> Shape {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, k)| (p.to_string(), k.to_string()))
        .collect()
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
}
