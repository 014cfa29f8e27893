//! A JSON document that keeps its keys in the order written, so a sample sent by `trigger` reads
//! like the provider's own, and `--set a.b=v` edits one field in place.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// An ordered JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Doc {
    Object(Vec<(String, Doc)>),
    Array(Vec<Doc>),
    Scalar(Value),
}

impl Doc {
    /// The value at a top-level key.
    pub fn get(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Doc::Scalar(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Sets a top-level key if it exists (keeping its place).
    pub fn replace(&mut self, key: &str, value: Doc) {
        if let Doc::Object(fields) = self
            && let Some((_, v)) = fields.iter_mut().find(|(k, _)| k == key)
        {
            *v = value;
        }
    }

    /// Sets the value at a path that exists: `json:.postIds[0].platform` (the filter
    /// language's `json:` path, one parser for both) or the dotted form `postIds.0.platform`
    /// (also `postIds[0].platform`). A path that does not exist is an error, never a new key.
    /// `text` becomes a string when the field holds a string (or is not JSON), else it is read
    /// as JSON.
    pub fn set_path(&mut self, path: &str, text: &str) -> Result<(), String> {
        use crate::filter::JsonStep;
        let json = match path.strip_prefix("json:") {
            Some(p) => p.to_string(),
            None => format!(".{path}"),
        };
        let steps = crate::filter::json_path(&json)
            .filter(|s| !s.contains(&JsonStep::Any))
            .ok_or_else(|| {
                format!("--set {path}: not a path; write json:.a.b[0].c=VALUE or a.b.0.c=VALUE")
            })?;
        let mut node = self;
        let mut walked = String::new();
        for step in &steps {
            let missing = |walked: &str, what: String| {
                format!(
                    "--set {path}: {what} does not exist at {}",
                    if walked.is_empty() { "the top" } else { walked }
                )
            };
            node = match (node, step) {
                (Doc::Object(fields), JsonStep::Key(k)) => {
                    let at = fields
                        .iter()
                        .position(|(name, _)| name == k)
                        .ok_or_else(|| missing(&walked, format!("key '{k}'")))?;
                    walked.push_str(&format!(".{k}"));
                    &mut fields[at].1
                }
                (Doc::Array(items), JsonStep::Index(i)) => {
                    let len = items.len();
                    let item = items
                        .get_mut(*i)
                        .ok_or_else(|| missing(&walked, format!("index {i} (of {len})")))?;
                    walked.push_str(&format!("[{i}]"));
                    item
                }
                // The dotted form writes an index as a key: `postIds.0`.
                (Doc::Array(items), JsonStep::Key(k)) if k.parse::<usize>().is_ok() => {
                    let i: usize = k.parse().unwrap_or_default();
                    let len = items.len();
                    let item = items
                        .get_mut(i)
                        .ok_or_else(|| missing(&walked, format!("index {i} (of {len})")))?;
                    walked.push_str(&format!("[{i}]"));
                    item
                }
                (_, step) => {
                    return Err(missing(&walked, format!("{step:?}").to_lowercase()));
                }
            };
        }
        let as_json = || serde_json::from_str::<Doc>(text).ok();
        let json_like = text.starts_with(['"', '{', '[']) || text == "null";
        *node = match node {
            Doc::Scalar(Value::String(_)) if !json_like => Doc::Scalar(Value::String(text.into())),
            _ => as_json().unwrap_or_else(|| Doc::Scalar(Value::String(text.into()))),
        };
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Doc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Doc, E> {
                Ok(Doc::Scalar(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Doc, E> {
                Ok(Doc::Scalar(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Doc, E> {
                Ok(Doc::Scalar(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Doc, E> {
                Ok(Doc::Scalar(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Doc, E> {
                Ok(Doc::Scalar(v.into()))
            }
            fn visit_unit<E>(self) -> Result<Doc, E> {
                Ok(Doc::Scalar(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Doc::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Doc>()? {
                    fields.push(entry);
                }
                Ok(Doc::Object(fields))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Doc::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Doc::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Doc::Scalar(v) => v.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_round_trips() {
        let text = "{\n  \"z\": 1,\n  \"a\": [\n    {\n      \"y\": null,\n      \"b\": \"x\"\n    }\n  ]\n}";
        let doc: Doc = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string_pretty(&doc).unwrap(), text);
    }

    #[test]
    fn set_path_edits_in_place() {
        let mut doc: Doc =
            serde_json::from_str(r#"{"id":"a","n":1,"list":[{"p":"x"}],"o":{}}"#).unwrap();
        doc.set_path("id", "123").unwrap();
        doc.set_path("n", "5").unwrap();
        doc.set_path("list.0.p", "tiktok").unwrap();
        doc.set_path("json:.list[0].p", "instagram").unwrap();
        doc.set_path("list[0].p", "x").unwrap();
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            r#"{"id":"123","n":5,"list":[{"p":"x"}],"o":{}}"#
        );
        let err = doc.set_path("o.new.deep", "true").unwrap_err();
        assert!(err.contains("key 'new' does not exist at .o"), "{err}");
        assert!(doc.set_path("json:.postIds[0].platform", "x").is_err());
        assert!(
            doc.set_path("list.3.p", "x")
                .unwrap_err()
                .contains("index 3 (of 1)")
        );
        assert!(doc.set_path("n.x", "1").is_err());
        assert!(doc.set_path("a..b", "1").is_err());
        assert!(doc.set_path("json:.list[*].p", "1").is_err());
        assert!(
            serde_json::to_string(&doc).unwrap().len() < 60,
            "nothing was added"
        );
    }
}
