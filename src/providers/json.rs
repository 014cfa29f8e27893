//! Cheap, forgiving reading of provider bodies: borrowed scalars that accept any JSON type,
//! nested objects read only when asked for, and `application/x-www-form-urlencoded` fields.
//!
//! Classification runs on every request, so bodies are never parsed into a `serde_json::Value`:
//! each provider deserializes a small struct of the fields it needs, and a field of an
//! unexpected type becomes "absent" instead of failing the whole parse.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON scalar as text: strings as they are (borrowed when possible), numbers and booleans
/// written out, anything else (null, objects, arrays) absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    /// The text, if there was a scalar.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }

    /// The text, or `fallback`.
    pub fn or<'s>(&'s self, fallback: &'s str) -> &'s str {
        self.get().unwrap_or(fallback)
    }

    /// The value as a whole number, if it is one.
    pub fn int(&self) -> Option<i64> {
        self.get().and_then(|s| s.parse().ok())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E>(self) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text<'de>, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A nested JSON value kept as its raw text, read later with [`nested`] only if needed.
pub type Raw<'a> = Option<&'a RawValue>;

/// Reads a nested value kept as [`Raw`] into `T`; absent if it has another shape.
pub fn nested<'a, T: Deserialize<'a>>(raw: Raw<'a>) -> Option<T> {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
}

/// Reads the body as `T` when it is a JSON object; `None` otherwise.
pub fn object<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Option<T> {
    if !starts_with_brace(body) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// Whether the body, after leading whitespace, opens a JSON object.
pub fn starts_with_brace(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// The first value of `key` in a form-encoded body, decoded; `None` if absent or the body is
/// not form text.
pub fn form_value(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k).as_deref() == Some(key))
            .then(|| percent_decode(v))
            .flatten()
    })
}

/// Decodes `+` and `%XX` escapes; `None` if the result is not UTF-8 or an escape is broken.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, default)]
        a: Text<'a>,
        #[serde(borrow, default)]
        b: Raw<'a>,
    }

    #[test]
    fn text_accepts_any_type() {
        for (json, want) in [
            (r#"{"a":"x"}"#, Some("x")),
            (r#"{"a":"x\"y"}"#, Some("x\"y")),
            (r#"{"a":12}"#, Some("12")),
            (r#"{"a":true}"#, Some("true")),
            (r#"{"a":null}"#, None),
            (r#"{"a":{"b":[1]}}"#, None),
            (r#"{"a":[1,2]}"#, None),
            (r#"{}"#, None),
        ] {
            let p: Probe = serde_json::from_str(json).unwrap();
            assert_eq!(p.a.get(), want, "{json}");
        }
    }

    #[test]
    fn raw_is_read_on_demand() {
        let p: Probe = serde_json::from_str(r#"{"b":{"a":"in"}}"#).unwrap();
        let inner: Probe = nested(p.b).unwrap();
        assert_eq!(inner.a.get(), Some("in"));
        let p: Probe = serde_json::from_str(r#"{"b":"text"}"#).unwrap();
        assert!(nested::<Probe>(p.b).is_none());
    }

    #[test]
    fn form_fields() {
        let body = b"command=%2Fwebhook-collect&text=&user_name=road+runner";
        assert_eq!(
            form_value(body, "command").as_deref(),
            Some("/webhook-collect")
        );
        assert_eq!(
            form_value(body, "user_name").as_deref(),
            Some("road runner")
        );
        assert_eq!(form_value(body, "text").as_deref(), Some(""));
        assert_eq!(form_value(body, "nope"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn only_objects_are_read() {
        assert!(object::<Probe>(b"  {\"a\":1}").is_some());
        assert!(object::<Probe>(b"[1]").is_none());
        assert!(object::<Probe>(b"a=1").is_none());
    }
}
