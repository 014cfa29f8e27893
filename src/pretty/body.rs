//! Bodies for people: compressed bodies decoded, JSON indented (keys kept in their order),
//! binary as a hex dump. The stored bytes are never changed; this is display only.

use std::io::Read;

use crate::config::format_size;
use crate::event::HeaderList;

/// The most decoded bytes shown from a compressed body (a guard against compression bombs).
pub const MAX_DECODED: u64 = 25 << 20;
/// The most hex dump lines shown.
const MAX_HEX_LINES: usize = 64;

/// A body ready to print: its lines, and a note on how it was transformed, if at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    /// The lines to show.
    pub lines: Vec<String>,
    /// How it was transformed (decoded), or why it could not be.
    pub note: Option<String>,
}

/// Renders `body`, decoding it first when `headers` name a content encoding we know.
pub fn render(headers: &HeaderList, body: &[u8]) -> Shown {
    if body.is_empty() {
        return Shown {
            lines: vec!["(empty)".into()],
            note: None,
        };
    }
    let (bytes, note) = match decode(headers, body) {
        Some(Ok((name, decoded))) => (
            decoded,
            Some(format!(
                "{name}-compressed, {} on the wire; shown decoded",
                format_size(body.len() as u64)
            )),
        ),
        Some(Err(e)) => (body.to_vec(), Some(format!("could not decode it: {e}"))),
        None => (body.to_vec(), None),
    };
    let lines = match std::str::from_utf8(&bytes) {
        Ok(text) => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) if text.trim_start().starts_with(['{', '[']) => {
                indent_json(text).lines().map(shown_line).collect()
            }
            _ => text.lines().map(shown_line).collect(),
        },
        Err(_) => hex_dump(&bytes),
    };
    Shown { lines, note }
}

/// One line of body text as a terminal may show it: tabs kept, every other control and
/// bidirectional mark escaped (crate::text); `lines()` already split at `\n`.
fn shown_line(line: &str) -> String {
    crate::text::sanitize_block(line).into_owned()
}

/// Decodes a `Content-Encoding` of gzip, deflate or br; `None` when there is none (or another).
/// At most [`MAX_DECODED`] bytes are shown: a longer body is cut there.
pub fn decode(
    headers: &HeaderList,
    body: &[u8],
) -> Option<Result<(&'static str, Vec<u8>), String>> {
    let coding = Coding::parse(headers.get_str("content-encoding")?)?;
    Some(decode_as(coding, body, MAX_DECODED).map(|d| (d.coding.name(), d.bytes)))
}

/// A content coding hooktap decodes (the one decoder `show`, the TUI and redaction share).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` (or `x-gzip`).
    Gzip,
    /// `deflate` as the RFC says: zlib-wrapped.
    Zlib,
    /// `deflate` as some servers send it: a raw deflate stream.
    RawDeflate,
    /// `br`: Brotli.
    Br,
}

impl Coding {
    /// The coding a `Content-Encoding` token names (any case, spaces around), if we know it.
    /// `deflate` parses as [`Coding::Zlib`]; [`decode_as`] falls back to a raw stream.
    pub fn parse(token: &str) -> Option<Coding> {
        match token.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Zlib),
            "br" => Some(Coding::Br),
            _ => None,
        }
    }

    /// Its `Content-Encoding` name.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Zlib | Coding::RawDeflate => "deflate",
            Coding::Br => "br",
        }
    }
}

/// A decoded body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The coding it was in (for `deflate`: which of its two forms).
    pub coding: Coding,
    /// The decoded bytes, at most the limit given.
    pub bytes: Vec<u8>,
    /// Whether the decoded body went on past the limit (and `bytes` is cut there): a
    /// compression bomb, or just a very large body.
    pub cut: bool,
}

/// Decodes `body` as `coding`, keeping at most `limit` decoded bytes (so a compression bomb
/// costs at most `limit` of memory); an error when the stream is corrupt.
pub fn decode_as(coding: Coding, body: &[u8], limit: u64) -> Result<Decoded, String> {
    let cap = limit.saturating_add(1);
    let mut out = Vec::new();
    let (coding, result) = match coding {
        Coding::Gzip => (
            Coding::Gzip,
            flate2::read::MultiGzDecoder::new(body)
                .take(cap)
                .read_to_end(&mut out),
        ),
        Coding::Zlib | Coding::RawDeflate => {
            let zlib = match coding {
                Coding::Zlib => flate2::read::ZlibDecoder::new(body)
                    .take(cap)
                    .read_to_end(&mut out),
                _ => Err(std::io::ErrorKind::InvalidData.into()),
            };
            match zlib {
                Ok(n) => (Coding::Zlib, Ok(n)),
                Err(_) => {
                    out.clear();
                    (
                        Coding::RawDeflate,
                        flate2::read::DeflateDecoder::new(body)
                            .take(cap)
                            .read_to_end(&mut out),
                    )
                }
            }
        }
        Coding::Br => (
            Coding::Br,
            brotli::Decompressor::new(body, 4096)
                .take(cap)
                .read_to_end(&mut out),
        ),
    };
    result.map_err(|e| e.to_string())?;
    let cut = out.len() as u64 > limit;
    out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(Decoded {
        coding,
        bytes: out,
        cut,
    })
}

/// Indents valid JSON text two spaces per level, keeping every token (and key order) as it was.
pub fn indent_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Keep `{}` and `[]` on one line.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|n| *n == '}' || *n == ']') {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// `xxd`-style lines: offset, 16 bytes in hex, and their printable ASCII.
pub fn hex_dump(bytes: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = bytes
        .chunks(16)
        .take(MAX_HEX_LINES)
        .enumerate()
        .map(|(i, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|b| {
                    if b.is_ascii_graphic() || *b == b' ' {
                        *b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {:<47}  {ascii}", i * 16, hex.join(" "))
        })
        .collect();
    let shown = MAX_HEX_LINES * 16;
    if bytes.len() > shown {
        lines.push(format!(
            "… {} more (binary; --body writes it all out)",
            format_size((bytes.len() - shown) as u64)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn json_is_indented_in_its_own_key_order() {
        let text = r#"{"z":1,"a":{"s":"x,{y}\"","e":[]},"l":[1,2]}"#;
        let shown = indent_json(text);
        assert_eq!(
            shown,
            "{\n  \"z\": 1,\n  \"a\": {\n    \"s\": \"x,{y}\\\"\",\n    \"e\": []\n  },\n  \
             \"l\": [\n    1,\n    2\n  ]\n}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn gzip_and_brotli_bodies_are_decoded_with_a_note() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"a\":1}").unwrap();
        let body = gz.finish().unwrap();
        let mut h = HeaderList::default();
        h.push("Content-Encoding", b"gzip".to_vec());
        let shown = render(&h, &body);
        assert_eq!(shown.lines, vec!["{", "  \"a\": 1", "}"]);
        assert!(shown.note.unwrap().starts_with("gzip-compressed"));

        let mut br = Vec::new();
        brotli::CompressorWriter::new(&mut br, 4096, 5, 22)
            .write_all(b"hello")
            .unwrap();
        let mut h = HeaderList::default();
        h.push("content-encoding", b"br".to_vec());
        assert_eq!(render(&h, &br).lines, vec!["hello"]);

        let shown = render(
            &HeaderList(vec![("content-encoding".into(), b"gzip".to_vec())]),
            b"nope",
        );
        assert!(shown.note.unwrap().contains("could not decode"));
    }

    #[test]
    fn binary_is_a_hex_dump() {
        let lines = render(&HeaderList::default(), &[0u8, 1, 0xff, b'A']).lines;
        assert_eq!(
            lines,
            vec![format!("00000000  {:<47}  ...A", "00 01 ff 41")]
        );
        let big = vec![0u8; MAX_HEX_LINES * 16 + 10];
        assert!(hex_dump(&big).last().unwrap().contains("10 B more"));
    }
}
