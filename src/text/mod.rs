//! Text that came from a sender or a file, made safe where it meets a terminal, a shell or a
//! JSON reader. The one place for it: `list`, `show`, the log lines, `replay`, the UI, the
//! exporters and the error and log output all call these (SECURITY.md, "Hostile payloads").
//!
//! A terminal interprets control characters (an `ESC ]52;` writes the clipboard, `ESC ]0;` sets
//! the title, `\r` and `\n` forge lines) and bidirectional overrides reorder what is shown.
//! Captured text keeps them as visible escapes (`\x1b`, `\u202e`), never the characters.

mod json;
mod shell;

use std::borrow::Cow;
use std::fmt::Write as _;

pub use json::{JsonFormatter, to_json_string, write_json};
pub use shell::{has_nul, shell_quote};

/// Whether `c` must never reach a terminal from captured data: C0 controls, DEL, C1 controls,
/// line and paragraph separators, and the bidirectional marks, embeddings, overrides and
/// isolates (the characters of "Trojan Source").
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// A field shown on one line (path, type, summary, header, error): every unsafe character,
/// line breaks and tabs included, becomes a visible escape.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    escape_where(text, is_unsafe)
}

/// Text shown as a block (a body): like [`sanitize`], but `\n` and `\t` stay as they are.
pub fn sanitize_block(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\n' && c != '\t' && is_unsafe(c))
}

/// Bytes shown on one line: [`sanitize`] of their UTF-8 text, with each byte that is not part
/// of valid UTF-8 shown as `\xHH`.
pub fn sanitize_bytes(bytes: &[u8]) -> Cow<'_, str> {
    bytes_with(bytes, sanitize)
}

fn bytes_with<'a>(bytes: &'a [u8], text: fn(&str) -> Cow<'_, str>) -> Cow<'a, str> {
    if let Ok(valid) = std::str::from_utf8(bytes) {
        return text(valid);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(&text(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// Bytes shown as a block: [`sanitize_block`] of their UTF-8 text, with each byte that is not
/// part of valid UTF-8 shown as `\xHH`.
pub fn sanitize_bytes_block(bytes: &[u8]) -> Cow<'_, str> {
    bytes_with(bytes, sanitize_block)
}

/// Whether [`sanitize_block`] would leave `text` as it is.
pub fn is_clean_block(text: &str) -> bool {
    !text.chars().any(|c| c != '\n' && c != '\t' && is_unsafe(c))
}

fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = text.find(&unsafe_char) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if unsafe_char(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `\n`, `\r`, `\t` by name; other ASCII as `\xHH`; the rest as `\uHHHH`.
fn push_escape(out: &mut String, c: char) {
    let _ = match c {
        '\n' => write!(out, "\\n"),
        '\r' => write!(out, "\\r"),
        '\t' => write!(out, "\\t"),
        c if c.is_ascii() => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{:04x}", c as u32),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_become_visible_escapes() {
        assert_eq!(
            sanitize("a\x1b]52;c;aGk=\x07b\nc\td\re\u{202e}f\u{85}g\x7f"),
            "a\\x1b]52;c;aGk=\\x07b\\nc\\td\\re\\u202ef\\u0085g\\x7f"
        );
        assert_eq!(
            sanitize("\u{2066}\u{2069}\u{2028}"),
            "\\u2066\\u2069\\u2028"
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_as_it_is() {
        for text in ["café ☕ 日本語 🚀", "{\"a\": [1, 2]}", "", "back\\slash"] {
            assert!(matches!(sanitize(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn a_block_keeps_newlines_and_tabs() {
        assert_eq!(sanitize_block("a\n\tb\x1b[2Jc\r\n"), "a\n\tb\\x1b[2Jc\\r\n");
        assert!(is_clean_block("a\n\tb"));
        assert!(!is_clean_block("a\rb"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_as_hex() {
        assert_eq!(
            sanitize_bytes(b"caf\xe9 \x1b ok \xc3\xa9"),
            "caf\\xe9 \\x1b ok é"
        );
    }

    #[test]
    fn no_unsafe_character_survives() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!sanitize(&all).chars().any(is_unsafe));
        assert!(
            !sanitize_block(&all)
                .chars()
                .any(|c| is_unsafe(c) && c != '\n' && c != '\t')
        );
    }
}
