//! Editing a request before a replay: the Event as raw HTTP text for `$EDITOR`, and the edited
//! text back as a new Event derived from the original.

use anyhow::Context;
use bytes::Bytes;

use crate::event::{Event, HeaderList, Ingress, new_uid, now_micros};
use crate::providers::Providers;

/// Opens `text` in `$VISUAL`/`$EDITOR` (else `vi`) and returns what was saved. The terminal UI
/// calls it with the screen suspended.
pub fn open_in_editor(text: &str) -> anyhow::Result<String> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "vi".into());
    let file = tempfile::Builder::new()
        .prefix("hooktap-edit-")
        .suffix(".http")
        .tempfile()
        .context("cannot create a temporary file to edit")?;
    std::fs::write(file.path(), text).context("cannot write the request to edit")?;
    // Through the shell, so EDITOR="code --wait" works.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .with_context(|| format!("cannot start the editor '{editor}'; set $EDITOR"))?;
    if !status.success() {
        anyhow::bail!("the editor '{editor}' exited with {status}; nothing was sent");
    }
    std::fs::read_to_string(file.path()).context("cannot read the edited request")
}

/// The raw request as text for an editor: request line, headers, a blank line, the body.
/// Fails on a body that is not UTF-8 (it could not be edited as text).
pub fn raw_request(event: &Event) -> anyhow::Result<String> {
    let body = std::str::from_utf8(&event.body).map_err(|_| {
        anyhow::anyhow!("this event's body is binary, so it cannot be edited as text")
    })?;
    let mut text = format!("{} {} HTTP/1.1\n", event.method, event.path_and_query());
    for (name, value) in event.headers.iter() {
        text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value)));
    }
    text.push('\n');
    text.push_str(body);
    Ok(text)
}

/// Builds the edited Event from the editor's text: ingress `edit`, `derived_from` the original.
/// The provider is worked out again, and the signature is `unchecked` (the bytes changed).
pub fn parse_raw(text: &str, original: &Event, original_id: i64) -> anyhow::Result<Event> {
    let (head, body) = match text.split_once("\n\n") {
        Some(parts) => parts,
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut lines = head.lines();
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        anyhow::bail!(
            "the first line must be the request line, e.g. `POST /hooks/ayrshare HTTP/1.1` \
             (got '{line}')"
        );
    };
    if !target.starts_with('/') {
        anyhow::bail!("the request target must be a path starting with / (got '{target}')");
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    let mut headers = HeaderList::default();
    for (i, line) in lines.enumerate() {
        let Some((name, value)) = line.split_once(':') else {
            anyhow::bail!("header line {} has no colon: '{line}'", i + 2);
        };
        headers.push(name.trim(), value.trim_start().as_bytes().to_vec());
    }
    // Editors add a final newline; drop one if the original body did not end with one.
    let mut body = body;
    if !original.body.ends_with(b"\n") {
        body = body.strip_suffix('\n').unwrap_or(body);
    }
    let body = Bytes::from(body.to_string());
    fit_framing(&mut headers, body.len());
    let class = Providers::default().classify(&headers, &body);
    Ok(Event {
        uid: new_uid(),
        received_at: now_micros(),
        ingress: Ingress::Edit,
        method: method.to_string(),
        path,
        query,
        remote_addr: original.remote_addr.clone(),
        headers,
        body,
        class,
        derived_from: Some(original_id),
    })
}

/// Makes the stored headers agree with the edited body, so `show` and the exports do not carry
/// a `content-length` the body contradicts (the forwarder sets the real one on the wire anyway).
/// A `content-length` gets the new length, at its place and with its name as written. With a
/// `transfer-encoding` (a captured chunked request), the body is stored and sent whole, as for
/// any captured chunked Event: `transfer-encoding` is hop-by-hop and never forwarded, so it
/// stays as a record of how the original arrived, and a `content-length` beside it is dropped,
/// since HTTP forbids the two together (a receiver answers such a request 400).
fn fit_framing(headers: &mut HeaderList, body_len: usize) {
    if headers.contains("transfer-encoding") {
        headers.remove("content-length");
    } else if headers.contains("content-length") {
        headers.set("content-length", body_len.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Classification;

    fn event(body: &'static [u8]) -> Event {
        let mut headers = HeaderList::default();
        headers.push("Content-Type", b"application/json".to_vec());
        headers.push("X-Dup", b"a".to_vec());
        headers.push("X-Dup", b"b".to_vec());
        Event {
            uid: "u".into(),
            received_at: 0,
            ingress: Ingress::Local,
            method: "POST".into(),
            path: "/hooks/a".into(),
            query: Some("x=1".into()),
            remote_addr: Some("127.0.0.1:1".into()),
            headers,
            body: Bytes::from_static(body),
            class: Classification::default(),
            derived_from: None,
        }
    }

    #[test]
    fn raw_request_round_trips_through_an_editor() {
        let e = event(b"{\"a\":1}");
        let text = raw_request(&e).unwrap();
        assert_eq!(
            text,
            "POST /hooks/a?x=1 HTTP/1.1\nContent-Type: application/json\nX-Dup: a\nX-Dup: b\n\n{\"a\":1}"
        );
        // The editor appends a newline; it is dropped again.
        let back = parse_raw(&(text + "\n"), &e, 7).unwrap();
        assert_eq!(back.body, e.body);
        assert_eq!(back.headers, e.headers);
        assert_eq!(
            (back.path.as_str(), back.query.as_deref()),
            ("/hooks/a", Some("x=1"))
        );
        assert_eq!(back.derived_from, Some(7));
        assert_eq!(back.ingress, Ingress::Edit);
    }

    #[test]
    fn edits_change_what_they_say() {
        let e = event(b"{}");
        let back = parse_raw("PUT /other HTTP/1.1\nX-New: 1\n\nnew body\n", &e, 1).unwrap();
        assert_eq!(back.method, "PUT");
        assert_eq!(back.query, None);
        assert_eq!(back.headers.get_str("x-new"), Some("1"));
        assert_eq!(&back.body[..], b"new body");
    }

    #[test]
    fn a_changed_body_gets_its_own_content_length() {
        let mut e = event(b"{\"ref\":\"main\",\"x\":1}");
        e.headers.push("Content-Length", b"20".to_vec());
        e.headers.push("X-After", b"1".to_vec());
        let mut text = raw_request(&e)
            .unwrap()
            .replace("\"main\",\"x\":1", "\"dev\"");
        text.push('\n');
        let back = parse_raw(&text, &e, 1).unwrap();
        assert_eq!(&back.body[..], b"{\"ref\":\"dev\"}");
        // Same place, same spelling, the new length.
        let names: Vec<&str> = back.headers.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Content-Type",
                "X-Dup",
                "X-Dup",
                "Content-Length",
                "X-After"
            ]
        );
        assert_eq!(back.headers.get_str("content-length"), Some("13"));
        // No content-length: none is added.
        let back = parse_raw("POST / HTTP/1.1\nX-A: 1\n\nabc", &e, 1).unwrap();
        assert!(!back.headers.contains("content-length"));
        // Chunked: transfer-encoding stays as it arrived, a content-length beside it goes.
        let back = parse_raw(
            "POST / HTTP/1.1\nTransfer-Encoding: chunked\nContent-Length: 99\n\nabc",
            &e,
            1,
        )
        .unwrap();
        assert_eq!(back.headers.get_str("transfer-encoding"), Some("chunked"));
        assert!(!back.headers.contains("content-length"));
    }

    #[test]
    fn bad_edits_and_binary_bodies_are_refused() {
        let e = event(b"{}");
        assert!(
            parse_raw("\n\n", &e, 1)
                .unwrap_err()
                .to_string()
                .contains("request line")
        );
        assert!(parse_raw("POST x HTTP/1.1\n\n", &e, 1).is_err());
        let err = parse_raw("POST / HTTP/1.1\nbad header\n\n", &e, 1).unwrap_err();
        assert!(
            err.to_string().contains("header line 2 has no colon"),
            "{err}"
        );
        assert!(raw_request(&event(&[0xff, 0xfe])).is_err());
    }
}
