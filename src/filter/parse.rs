//! Parsing filter text into terms, with errors that point at the column of the bad term.

use super::field::field_test;
use super::{FIELDS, Filter, FilterError, Term, Test};
use crate::event::{Micros, now_micros};

/// The most terms a filter may have. SQLite nests each indexed term one level deeper in the
/// query (at most 1000 levels), so a longer filter would fail there; no one types this many.
pub const MAX_TERMS: usize = 256;
/// The most bytes one term may hold. A glob goes to SQLite, whose patterns stop at 50,000 bytes
/// (and a `[` in a glob is written as three).
pub const MAX_TERM_BYTES: usize = 10_000;

/// Parses filter text as typed in the TUI, e.g. `provider:ayrshare status:5xx -replayed`.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    parse_at(text, now_micros())
}

/// Parses filter words as the shell split them (`hooktap list provider:ayrshare "a b"`). A word
/// with spaces is one phrase (`"retry after:5 seconds"`) unless its first word is a term of its
/// own (`field:…`, `-field:…`, `replayed`, `-replayed`): then it is filter text pasted from the
/// TUI (`'provider:github status:5xx'`), several terms, so a value with spaces keeps its own
/// quotes inside the shell's (`'path:"/a b"'`).
pub fn parse_args(args: &[String]) -> Result<Filter, FilterError> {
    parse(&join_args(args))
}

/// Joins shell words into filter text, quoting the words that hold spaces or quotes.
pub fn join_args(args: &[String]) -> String {
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        // Plain words, and filter text pasted as one word (`'provider:github status:5xx'`, as
        // typed in the TUI): decided by its first word alone, so the rule is easy to predict.
        if (!arg.contains(char::is_whitespace) && !arg.contains('"')) || holds_terms(arg) {
            out.push(arg.clone());
            continue;
        }
        let (neg, rest) = match arg.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", arg.as_str()),
        };
        let quoted = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let value = match rest.split_once(':') {
            Some((field, value)) if FIELDS.contains(&field) => value,
            _ => rest,
        };
        // Already one quoted token (`'"Account locked"'` in the shell): as it is.
        if is_quoted(value) {
            out.push(arg.clone());
            continue;
        }
        match rest.split_once(':') {
            Some((field, value)) if FIELDS.contains(&field) => {
                out.push(format!("{neg}{field}:{}", quoted(value)))
            }
            _ => out.push(format!("{neg}{}", quoted(rest))),
        }
    }
    out.join(" ")
}

/// Whether a word with spaces is filter text: its first word is a term of its own
/// (`status:5xx timeout`, `-replayed x`), not the start of a phrase (`retry after:5 seconds`).
fn holds_terms(arg: &str) -> bool {
    let Some(first) = arg
        .split_whitespace()
        .next()
        .filter(|_| arg.contains(char::is_whitespace))
    else {
        return false;
    };
    let first = first.strip_prefix('-').unwrap_or(first);
    first.eq_ignore_ascii_case("replayed")
        || first
            .split_once(':')
            .is_some_and(|(field, _)| FIELDS.contains(&field))
}

/// Whether `s` is `"…"` with no unescaped quote inside.
fn is_quoted(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return false;
    };
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return false,
            _ => escaped = false,
        }
    }
    !escaped
}

/// Parses `text` with `now` as the time relative terms (`after:1h`) count back from.
pub fn parse_at(text: &str, now: Micros) -> Result<Filter, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut terms = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let column = i + 1;
        let err = |message: String, hint: Option<String>| FilterError {
            column,
            message,
            hint,
        };
        let negated = chars[i] == '-' && chars.get(i + 1).is_some_and(|c| !c.is_whitespace());
        if negated {
            i += 1;
        }
        // Read one token: up to whitespace outside quotes; quotes are removed, `\` escapes.
        let mut word = String::new();
        let mut quoted_from = None;
        let mut in_quote = false;
        while i < chars.len() && (in_quote || !chars[i].is_whitespace()) {
            match chars[i] {
                '"' => {
                    in_quote = !in_quote;
                    quoted_from.get_or_insert(word.len());
                }
                '\\' if in_quote && i + 1 < chars.len() => {
                    i += 1;
                    word.push(chars[i]);
                }
                c => word.push(c),
            }
            i += 1;
        }
        if in_quote {
            return Err(err(
                "unclosed quote".into(),
                Some("end the phrase with \"".into()),
            ));
        }
        if terms.len() == MAX_TERMS {
            return Err(err(
                format!("filter too long: at most {MAX_TERMS} terms"),
                Some(
                    "narrow it with ranges or globs, e.g. id:40..50, status:5xx, path:/hooks/*"
                        .into(),
                ),
            ));
        }
        if word.len() > MAX_TERM_BYTES {
            return Err(err(
                format!("term too long: at most {MAX_TERM_BYTES} bytes"),
                Some("match a shorter part of it, e.g. with a glob: path:/hooks/*".into()),
            ));
        }
        // A field is letters before a colon that comes before any quote.
        let field = word.split_once(':').filter(|(f, _)| {
            !f.is_empty()
                && f.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
                && quoted_from.is_none_or(|q| f.len() < q)
        });
        let test = match field {
            Some((name, value)) => field_test(name, value, now).map_err(|(m, h)| err(m, h))?,
            None if quoted_from.is_none() && word.eq_ignore_ascii_case("replayed") => {
                Test::Replayed
            }
            None if word.is_empty() => {
                return Err(err(
                    "empty term".into(),
                    Some("remove the lone - or \"\"".into()),
                ));
            }
            None => Test::Text(word),
        };
        terms.push(Term {
            negated,
            test,
            column,
        });
    }
    Ok(Filter { terms })
}
#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
