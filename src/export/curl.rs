//! curl commands: one per Event, repeated headers kept, the exact body fed on stdin (`head -c`
//! trims the newline a heredoc adds; binary bodies go through `base64 -d`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::event::{Delivery, Event};
use crate::forward::is_hop_by_hop;
use crate::store::EventSummary;

/// Where the commands send when nothing else is known; `$HOOKTAP_TARGET` overrides it.
const FALLBACK: &str = "http://localhost:3000";

/// The Target of the latest Delivery: its URL minus the Event's path and query.
pub fn last_target(event: &Event, deliveries: &[Delivery]) -> Option<String> {
    let d = deliveries.last()?;
    crate::forward::Target::base_of(&d.target, &event.path_and_query()).map(str::to_string)
}

/// Quotes `text` for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Bytes that are not UTF-8, for any POSIX shell: `"$(printf -- 'x-bin: \200')"` (printf turns
/// the octal escapes back into the bytes; `--` in case the header name starts with `-`).
fn quote_bytes(bytes: &[u8]) -> String {
    let mut spec = String::new();
    for &b in bytes {
        match b {
            b'%' => spec.push_str("%%"),
            b'\\' => spec.push_str("\\\\"),
            b'\'' => spec.push_str(r"'\''"),
            b' '..=b'~' => spec.push(b as char),
            _ => spec.push_str(&format!("\\{b:03o}")),
        }
    }
    format!("\"$(printf -- '{spec}')\"")
}

/// The shell command that sends `event` to `target` (default `${HOOKTAP_TARGET}` or
/// [`FALLBACK`]).
pub fn command(s: &EventSummary, e: &Event, target: Option<&str>) -> String {
    let mut out = format!(
        "# event #{} {} {} {}\n",
        s.id,
        crate::event::format_time(s.received_at),
        s.provider,
        s.event_type.as_deref().unwrap_or("")
    );
    let base = format!(
        "\"${{HOOKTAP_TARGET:-{}}}\"",
        target
            .unwrap_or(FALLBACK)
            .replace(['"', '$', '`', '\\'], "")
    );
    let mut curl = format!(
        "curl -sS -X {} {base}{}",
        quote(&e.method),
        quote(&e.path_and_query())
    );
    for (name, value) in e.headers.iter() {
        // curl writes these itself from the URL and the body.
        if is_hop_by_hop(name, &e.headers)
            || name.eq_ignore_ascii_case("host")
            || name.eq_ignore_ascii_case("content-length")
        {
            continue;
        }
        curl.push_str(" \\\n  -H ");
        match std::str::from_utf8(value) {
            // `-H 'name;'` is how curl sends a header with an empty value.
            Ok("") => curl.push_str(&quote(&format!("{name};"))),
            Ok(text) => curl.push_str(&quote(&format!("{name}: {text}"))),
            Err(_) => curl.push_str(&quote_bytes(&[name.as_bytes(), b": ", value].concat())),
        }
    }
    if e.body.is_empty() {
        out.push_str(&curl);
        out.push_str("\n\n");
        return out;
    }
    curl.push_str(" \\\n  --data-binary @-");
    match std::str::from_utf8(&e.body) {
        Ok(text) if !text.contains('\0') => {
            let mut tag = "HOOKTAP_BODY".to_string();
            while text.lines().any(|l| l == tag) {
                tag.push('_');
            }
            out.push_str(&format!(
                "head -c {} <<'{tag}' | {curl}\n{text}\n{tag}\n\n",
                e.body.len()
            ));
        }
        _ => {
            let encoded = STANDARD.encode(&e.body);
            let lines: Vec<&str> = encoded
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap_or(""))
                .collect();
            out.push_str(&format!(
                "base64 -d <<'HOOKTAP_BODY' | {curl}\n{}\nHOOKTAP_BODY\n\n",
                lines.join("\n")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_quoted_for_printf() {
        assert_eq!(
            quote_bytes(b"-x: caf\xe9 100% a'b\\c"),
            r#""$(printf -- '-x: caf\351 100%% a'\''b\\c')""#
        );
    }
}
