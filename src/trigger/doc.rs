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

    /// Sets the value at a dotted path (`details.message`, `postIds.0.platform`), creating
    /// object keys that are missing. `text` becomes a string when the field holds a string (or
    /// is not JSON), else it is read as JSON.
    pub fn set_path(&mut self, path: &str, text: &str) -> Result<(), String> {
        let mut node = self;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                return Err(format!("--set {path}: empty part in the path"));
            }
            let last = i + 1 == parts.len();
            node = match node {
                Doc::Object(fields) => {
                    let at = match fields.iter().position(|(k, _)| k == part) {
                        Some(at) => at,
                        None => {
                            let empty = if last {
                                Doc::Scalar(Value::Null)
                            } else {
                                Doc::Object(Vec::new())
                            };
                            fields.push((part.to_string(), empty));
                            fields.len() - 1
                        }
                    };
                    &mut fields[at].1
                }
                Doc::Array(items) => {
                    let len = items.len();
                    let index: usize = part.parse().ok().filter(|i| *i < len).ok_or_else(|| {
                        format!("--set {path}: '{part}' is not an index below {len}")
                    })?;
                    &mut items[index]
                }
                Doc::Scalar(_) => {
                    return Err(format!("--set {path}: '{part}' is inside a plain value"));
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
        doc.set_path("o.new.deep", "true").unwrap();
        doc.set_path("extra", "plain words").unwrap();
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            r#"{"id":"123","n":5,"list":[{"p":"tiktok"}],"o":{"new":{"deep":true}},"extra":"plain words"}"#
        );
        assert!(doc.set_path("list.3.p", "x").is_err());
        assert!(doc.set_path("n.x", "1").is_err());
        assert!(doc.set_path("a..b", "1").is_err());
    }
}
