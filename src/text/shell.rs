//! The one quoting function for strings that meet a POSIX shell (`sh`, `dash`, `bash`, `zsh`).

use super::is_unsafe;

/// Quotes `bytes` as one shell word that expands to exactly those bytes.
///
/// Text with no unsafe character goes in single quotes (`'it'\''s'`). Anything else (controls,
/// bidirectional marks, bytes that are not UTF-8) goes through `printf` with octal escapes, so
/// the script itself stays printable: `"$(printf -- 'a\033b')"`. Command substitution drops
/// trailing newlines, so those follow in single quotes. A NUL cannot be in a shell word at all:
/// callers check [`has_nul`] first.
pub fn shell_quote(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.chars().any(is_unsafe)
    {
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let (body, newlines) = match bytes.iter().rposition(|&b| b != b'\n') {
        Some(last) => (&bytes[..=last], bytes.len() - last - 1),
        None => (&bytes[..0], bytes.len()),
    };
    let mut spec = String::with_capacity(body.len() * 2);
    for &b in body {
        match b {
            b'%' => spec.push_str("%%"),
            b'\\' => spec.push_str("\\\\"),
            b'\'' => spec.push_str(r"'\''"),
            b' '..=b'~' => spec.push(b as char),
            _ => spec.push_str(&format!("\\{b:03o}")),
        }
    }
    let mut word = format!("\"$(printf -- '{spec}')\"");
    if newlines > 0 {
        word.push('\'');
        word.push_str(&"\n".repeat(newlines));
        word.push('\'');
    }
    word
}

/// Whether `bytes` hold a NUL, which no shell word (and no command-line argument) can carry.
pub fn has_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// What `sh` makes of the word: `printf %s WORD` run by dash (or whatever `sh` is).
    fn through_sh(word: &str) -> Vec<u8> {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {word}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{word}: {out:?}");
        out.stdout
    }

    #[test]
    fn plain_text_is_single_quoted() {
        assert_eq!(shell_quote(b"it's"), r"'it'\''s'");
        assert_eq!(shell_quote(b""), "''");
        assert_eq!(shell_quote("café $(x) `y`".as_bytes()), "'café $(x) `y`'");
    }

    #[test]
    fn controls_and_raw_bytes_go_through_printf() {
        assert_eq!(
            shell_quote(b"-x: caf\xe9 100% a'b\\c"),
            r#""$(printf -- '-x: caf\351 100%% a'\''b\\c')""#
        );
        assert!(!shell_quote("a\u{202e}b\x1b".as_bytes()).contains('\x1b'));
    }

    #[test]
    fn every_word_expands_to_its_exact_bytes() {
        let cases: &[&[u8]] = &[
            b"plain",
            b"it's $(touch /tmp/x) `id` \"q\" \\",
            b"line\nbreak\n\n",
            b"\n",
            b"\x1b]0;title\x07 \r\t%s %%",
            b"caf\xe9 \xff\xfe",
            "bidi \u{202e} \u{2066}".as_bytes(),
            b"-n",
        ];
        for case in cases {
            assert_eq!(through_sh(&shell_quote(case)), *case, "{case:?}");
        }
    }
}
