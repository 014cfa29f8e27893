//! Replay: a new Delivery of a recorded Event, through the same `forward::build` and
//! `Forwarder::send` as live traffic, recorded as a Delivery of kind `replay`. The original
//! Event is never changed; an edited request becomes a new Event with `derived_from` set.
//!
//! Work is split so a caller holding a [`Reader`] (not `Sync`) can still send from any task:
//! [`plan`] reads (sync), [`send`] forwards and records (async, `Send`).

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;

use crate::event::{
    DeliveryKind, DeliveryResult, Event, HeaderList, Ingress, Outcome, new_uid, now_micros,
};
use crate::forward::{self, Forwarder, Target};
use crate::providers::Providers;
use crate::store::{EventSummary, NewDelivery, Reader, Writer};

/// What a replay may change besides the Target.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Re-sign with a fresh timestamp and the configured secret of the Event's provider
    /// (the provider event id stays the same).
    pub resign: Option<Providers>,
    /// Redaction rules for what is stored of the Target's answer (the caller still gets it
    /// whole).
    pub redact: crate::redact::Redactor,
}

/// A replay ready to send: the Event as stored and where it goes.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The Event's id.
    pub event_id: i64,
    /// The Event in full.
    pub event: Event,
    /// Its summary as it stood when planned.
    pub summary: EventSummary,
    /// Where it goes.
    pub target: Target,
}

impl Plan {
    /// The URL the replay will be sent to.
    pub fn url(&self) -> String {
        self.target.url_for(&self.event.path_and_query())
    }
}

/// A finished replay.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The Event replayed.
    pub event_id: i64,
    /// The new Delivery's id.
    pub delivery_id: i64,
    /// The URL it went to.
    pub url: String,
    /// What the Target answered, or how it failed.
    pub result: DeliveryResult,
    /// The Event's summary with this Delivery folded in.
    pub summary: Arc<EventSummary>,
}

impl Replayed {
    /// Whether the Target answered (any status).
    pub fn answered(&self) -> bool {
        self.result.outcome == Outcome::Ok
    }
}

/// Reads Event `event_id` and works out its Target: `to`, else the Target of its latest
/// Delivery (or of the Event it was edited from).
pub fn plan(reader: &Reader, event_id: i64, to: Option<&Target>) -> anyhow::Result<Plan> {
    let Some((summary, event)) = reader.event(event_id)? else {
        anyhow::bail!("no event #{event_id} (`hooktap list` shows the ids)");
    };
    let target = match to {
        Some(t) => t.clone(),
        None => default_target(reader, event_id)?.ok_or_else(|| {
            anyhow::anyhow!(
                "event #{event_id} was never delivered, so there is no Target to replay it \
                 to: pass --to URL (e.g. --to http://localhost:3000)"
            )
        })?,
    };
    Ok(Plan {
        event_id,
        event,
        summary,
        target,
    })
}

/// The Target of the latest Delivery of `event_id`, or of the Event it was edited from. The
/// Store keeps each Delivery's full URL; the Target is that URL minus the Event's path and query.
pub fn default_target(reader: &Reader, event_id: i64) -> anyhow::Result<Option<Target>> {
    let mut id = Some(event_id);
    // Follow `derived_from` a bounded number of steps (an edit of an edit of ...).
    for _ in 0..16 {
        let Some(current) = id else { break };
        let Some((summary, event)) = reader.event(current)? else {
            break;
        };
        if let Some(d) = reader.deliveries(current)?.last() {
            let suffix = event.path_and_query();
            let base = d.target.strip_suffix(&suffix).unwrap_or(&d.target);
            return Target::parse(base).map(Some).map_err(|e| {
                anyhow::anyhow!(
                    "cannot reuse the Target of Delivery #{}: {e}; pass --to URL",
                    d.id
                )
            });
        }
        id = summary.derived_from;
    }
    Ok(None)
}

/// Stores an edited request as a new Event (its `derived_from` set by [`parse_raw`]) and returns
/// its id. What `redact` names is masked in the stored copy, described from the masked text so
/// no summary quotes a masked value; the caller sends `edited` itself, unmasked.
pub async fn store_edit(
    writer: &Writer,
    edited: &Event,
    redact: &crate::redact::Redactor,
) -> anyhow::Result<i64> {
    let mut stored = edited.clone();
    if redact.event(&mut stored) {
        stored.class = Providers::default().classify(&stored.headers, &stored.body);
    }
    Ok(writer.insert_event(stored, None).await?.event_id)
}

/// Sends a planned replay and records it as a Delivery of kind `replay`. A Target that is down
/// is not an error: the failed Delivery is recorded and returned.
pub async fn send(
    writer: &Writer,
    forwarder: &Forwarder,
    mut plan: Plan,
    options: &Options,
) -> anyhow::Result<Replayed> {
    if let Some(providers) = &options.resign {
        let now = chrono::Utc::now().timestamp();
        plan.event.headers = providers
            .resign(&plan.event, now)
            .map_err(|e| anyhow::anyhow!("cannot re-sign event #{}: {e}", plan.event_id))?;
    }
    let outgoing = forward::build(&plan.target, &plan.event, "http")
        .map_err(|e| anyhow::anyhow!("cannot replay event #{}: {e}", plan.event_id))?;
    let url = outgoing.url.clone();
    let delivery = NewDelivery {
        kind: DeliveryKind::Replay,
        target: url.clone(),
        started_at: now_micros(),
    };
    let delivery_id = writer.start_delivery(plan.event_id, delivery).await?;
    let result = forwarder.send(outgoing).await;
    let mut stored = result.clone();
    options.redact.result(&mut stored);
    let summary = writer
        .finish_delivery(delivery_id, plan.event_id, DeliveryKind::Replay, stored)
        .await?;
    Ok(Replayed {
        event_id: plan.event_id,
        delivery_id,
        url,
        result,
        summary,
    })
}

/// Replays Event `event_id` as captured, to `to` or its last Target.
pub async fn replay(
    writer: &Writer,
    reader: &Reader,
    forwarder: &Forwarder,
    event_id: i64,
    to: Option<&Target>,
    options: &Options,
) -> anyhow::Result<Replayed> {
    let plan = plan(reader, event_id, to)?;
    send(writer, forwarder, plan, options).await
}

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
