//! JSON for a terminal: serde_json escapes U+0000-U+001F but writes DEL, the C1 controls and
//! the bidirectional marks as they are; this formatter escapes them too (`\u009b`), which any
//! JSON reader turns back into the same characters.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

use super::is_unsafe;

/// serde_json's compact formatter, with every unsafe character in strings escaped.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonFormatter;

impl Formatter for JsonFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(is_unsafe) {
            CompactFormatter.write_string_fragment(writer, &rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        CompactFormatter.write_string_fragment(writer, rest)
    }
}

/// Writes `value` as one line of compact JSON through [`JsonFormatter`].
pub fn write_json<W: Write, T: Serialize + ?Sized>(writer: W, value: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, JsonFormatter);
    value.serialize(&mut ser)
}

/// `value` as a string of compact JSON through [`JsonFormatter`].
pub fn to_json_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    // Writing to a Vec fails only for a value that cannot be JSON (a map with non-string keys).
    let _ = write_json(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_are_escaped_and_read_back_the_same() {
        let value = serde_json::json!({"t": "a\u{9b}b\u{202e}c\x7f\x1b é 🚀"});
        let text = to_json_string(&value);
        assert_eq!(text, r#"{"t":"a\u009bb\u202ec\u007f\u001b é 🚀"}"#);
        assert!(!text.chars().any(is_unsafe));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn plain_values_match_serde_json() {
        let value = serde_json::json!({"id": 4, "x": [null, true, 1.5, "q\"\\"]});
        assert_eq!(to_json_string(&value), value.to_string());
    }
}
