//! curl commands: one per Event, repeated headers kept, the exact body fed on stdin (`head -c`
//! trims the newline a heredoc adds; binary bodies go through `base64 -d`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::event::{Delivery, Event, Ingress};
use crate::forward::is_hop_by_hop;
use crate::store::EventSummary;
use crate::text::{has_nul, is_clean_block, sanitize, shell_quote};

/// Where the commands send when nothing else is known; `$HOOKTAP_TARGET` overrides it.
const FALLBACK: &str = "http://localhost:3000";

/// The Target of the latest Delivery: its URL minus the Event's path and query. Only for an
/// Event this Store captured itself: a Target an imported file (or an edit) recorded is never
/// offered as where to send (SECURITY.md, "Hostile payloads"; `replay::origin`).
pub fn last_target(event: &Event, deliveries: &[Delivery]) -> Option<String> {
    if !matches!(event.ingress, Ingress::Local | Ingress::Relay) {
        return None;
    }
    let d = deliveries.last()?;
    crate::forward::Target::base_of(&d.target, &event.path_and_query()).map(str::to_string)
}

/// A Target URL as it may stand inside `"${HOOKTAP_TARGET:-...}"`: every character a shell
/// would expand there (`$`, `` ` ``, `\\`, `"`, `}`), and anything that is not printable ASCII,
/// percent-encoded. A URL's meaning is unchanged; a hostile recorded target stays inert.
fn url_word(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => out.push(b as char),
            b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' | b'!'
            | b'&' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b'%' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The shell command that sends `event` to `target` (default `${HOOKTAP_TARGET}` or
/// [`FALLBACK`]).
pub fn command(s: &EventSummary, e: &Event, target: Option<&str>) -> String {
    // The comment stays one line whatever the event type holds.
    let mut out = format!(
        "# event #{} {} {} {}\n",
        s.id,
        crate::event::format_time(s.received_at),
        sanitize(&s.provider),
        sanitize(s.event_type.as_deref().unwrap_or(""))
    );
    let unsendable = has_nul(e.method.as_bytes())
        || has_nul(e.path_and_query().as_bytes())
        || e.headers
            .iter()
            .any(|(n, v)| has_nul(n.as_bytes()) || has_nul(v));
    if unsendable {
        out.push_str(
            "# not sent: a NUL byte in its method, path or headers cannot be a curl argument\n\n",
        );
        return out;
    }
    let base = format!(
        "\"${{HOOKTAP_TARGET:-{}}}\"",
        url_word(target.unwrap_or(FALLBACK))
    );
    // The path as forward and replay send it (dot-segments removed: `Target::path_for`);
    // `--path-as-is` so curl changes nothing more; `-g`: it would expand `{a,b}` and `[1-9]`.
    let path = crate::forward::Target::path_for(&e.path_and_query()).into_owned();
    let mut curl = format!(
        "curl -sS --path-as-is -g -X {} {base}{}",
        shell_quote(e.method.as_bytes()),
        shell_quote(path.as_bytes())
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
        // `-H 'name;'` is how curl sends a header with an empty value.
        let line = match value.is_empty() {
            true => [name.as_bytes(), b";"].concat(),
            false => [name.as_bytes(), b": ", value].concat(),
        };
        curl.push_str(&shell_quote(&line));
    }
    if e.body.is_empty() {
        out.push_str(&curl);
        out.push_str("\n\n");
        return out;
    }
    curl.push_str(" \\\n  --data-binary @-");
    match std::str::from_utf8(&e.body) {
        // A heredoc only for text a terminal shows as it is: `cat`ing the script is safe too.
        Ok(text) if !text.contains('\0') && is_clean_block(text) => {
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
    fn a_url_keeps_its_meaning_and_loses_its_shell() {
        assert_eq!(
            url_word("http://h:3000/a?b=1&c=[x]#f"),
            "http://h:3000/a?b=1&c=[x]#f"
        );
        assert_eq!(
            url_word("http://h/}$(id)`x`\"\\ é"),
            "http://h/%7D%24(id)%60x%60%22%5C%20%C3%A9"
        );
    }

    #[test]
    fn only_a_captured_event_offers_where_it_last_went() {
        use crate::event::{Classification, DeliveryKind, DeliveryResult, HeaderList};
        let event = |ingress| Event {
            uid: "u".into(),
            received_at: 0,
            ingress,
            method: "POST".into(),
            path: "/hooks".into(),
            query: None,
            remote_addr: None,
            headers: HeaderList::default(),
            body: bytes::Bytes::new(),
            class: Classification::default(),
            derived_from: None,
        };
        let went = [Delivery {
            id: 1,
            event_id: 1,
            kind: DeliveryKind::Original,
            target: "http://attacker.example/hooks".into(),
            started_at: 0,
            result: DeliveryResult {
                outcome: crate::event::Outcome::Ok,
                status: Some(200),
                headers: HeaderList::default(),
                body: bytes::Bytes::new(),
                error: None,
                duration_us: 1,
            },
        }];
        assert_eq!(
            last_target(&event(Ingress::Local), &went).as_deref(),
            Some("http://attacker.example")
        );
        for ingress in [Ingress::Import, Ingress::Edit] {
            assert_eq!(last_target(&event(ingress), &went), None);
        }
    }
}
