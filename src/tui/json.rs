//! Syntax colours for one line of indented JSON (as `pretty::indent_json` writes it): keys,
//! strings, numbers, and `true`/`false`/`null`.

use ratatui::style::{Color, Style};
use ratatui::text::Span;

/// The colour of each kind of token.
pub const KEY: Style = Style::new().fg(Color::Cyan);
/// String values.
pub const STRING: Style = Style::new().fg(Color::Green);
/// Numbers.
pub const NUMBER: Style = Style::new().fg(Color::Magenta);
/// `true`, `false`, `null`.
pub const WORD: Style = Style::new().fg(Color::Yellow);

/// Splits `line` into coloured spans. Text that is not JSON comes back as one plain span.
pub fn spans(line: &str) -> Vec<Span<'static>> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    let flush = |plain: &mut String, out: &mut Vec<Span<'static>>| {
        if !plain.is_empty() {
            out.push(Span::raw(std::mem::take(plain)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let start = i;
            i += 1;
            let mut escaped = false;
            while i < chars.len() {
                match chars[i] {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => break,
                    _ => {}
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            let token: String = chars[start..i].iter().collect();
            let is_key = chars[i..].iter().find(|c| !c.is_whitespace()) == Some(&':');
            flush(&mut plain, &mut out);
            out.push(Span::styled(token, if is_key { KEY } else { STRING }));
        } else if c == '-' || c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && matches!(chars[i], '0'..='9' | '-' | '+' | '.' | 'e' | 'E') {
                i += 1;
            }
            flush(&mut plain, &mut out);
            out.push(Span::styled(
                chars[start..i].iter().collect::<String>(),
                NUMBER,
            ));
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            flush(&mut plain, &mut out);
            let style = if matches!(word.as_str(), "true" | "false" | "null") {
                WORD
            } else {
                Style::new()
            };
            out.push(Span::styled(word, style));
        } else {
            plain.push(c);
            i += 1;
        }
    }
    flush(&mut plain, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<(String, Style)> {
        spans(line)
            .into_iter()
            .map(|s| (s.content.to_string(), s.style))
            .collect()
    }

    #[test]
    fn keys_strings_numbers_and_words() {
        let got = kinds(r#"  "platform": "insta\"gram", "n": -1.5e3, "ok": true"#);
        let want = vec![
            ("  ".to_string(), Style::new()),
            ("\"platform\"".into(), KEY),
            (": ".into(), Style::new()),
            ("\"insta\\\"gram\"".into(), STRING),
            (", ".into(), Style::new()),
            ("\"n\"".into(), KEY),
            (": ".into(), Style::new()),
            ("-1.5e3".into(), NUMBER),
            (", ".into(), Style::new()),
            ("\"ok\"".into(), KEY),
            (": ".into(), Style::new()),
            ("true".into(), WORD),
        ];
        assert_eq!(got, want);
        // An unterminated string does not panic and keeps every character.
        let text: String = spans("\"abc")
            .iter()
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(text, "\"abc");
    }
}
