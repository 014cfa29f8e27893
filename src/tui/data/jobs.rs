//! The job thread: the selected Event in full for the detail pane, replays and edits (planned
//! here, sent on the runtime), and copies.

use std::sync::mpsc;

use tokio::sync::mpsc::Sender;

use super::{Clip, CopyWhat, Detail, Job, Reply, Sending};
use crate::config::format_size;
use crate::event::Event;
use crate::replay;
use crate::store::Reader;
use crate::tui::text::body::{self, PRETTY_MAX};

/// The most request body read for the detail pane: more than `listen` takes (25 MiB), so only an
/// imported giant is cut, and the pane then says how to get all of it.
pub const MAX_LOADED: usize = 32 << 20;

pub(super) fn run(reader: Reader, rx: mpsc::Receiver<Job>, out: Sender<Reply>, sending: Sending) {
    while let Ok(first) = rx.recv() {
        let mut jobs: Vec<Job> = std::iter::once(first).chain(rx.try_iter()).collect();
        // Holding `j` asks for many details: load only the last one asked for.
        if let Some(last) = jobs.iter().rposition(|j| matches!(j, Job::Detail { .. })) {
            let mut i = 0;
            jobs.retain(|j| {
                let keep = !matches!(j, Job::Detail { .. }) || i == last;
                i += 1;
                keep
            });
        }
        for job in jobs {
            let reply = run_job(&reader, job, &sending, &out)
                .unwrap_or_else(|e| Some(Reply::Failed(format!("{e:#}"))));
            if let Some(reply) = reply
                && out.blocking_send(reply).is_err()
            {
                return;
            }
        }
    }
}

fn run_job(
    reader: &Reader,
    job: Job,
    sending: &Sending,
    out: &Sender<Reply>,
) -> anyhow::Result<Option<Reply>> {
    Ok(match job {
        Job::Detail { id, version } => {
            load_detail(reader, id, version)?.map(|d| Reply::Detail(Box::new(d)))
        }
        Job::Replay { id, to, resign } => {
            let key = if resign { 'S' } else { 'R' };
            let plan = replay::plan(reader, id, to.as_ref())
                .map_err(|e| in_the_ui(e, &format!("press {key} to type a URL")))?;
            spawn_send(sending, out, plan, None, resign);
            None
        }
        Job::EditText { id } => {
            let Some((_, event)) = reader.event(id)? else {
                anyhow::bail!("no event #{id}");
            };
            // An edit goes where `r` would: say so before the editor opens, not after.
            replay::check_captured(reader, id).map_err(|e| {
                in_the_ui(
                    e,
                    &format!("edit it with hooktap replay {id} --edit --to URL"),
                )
            })?;
            Some(Reply::EditText {
                id,
                text: replay::raw_request(&event)?,
            })
        }
        Job::SendEdit { id, text } => {
            let mut plan = replay::plan(reader, id, None)?;
            let edited = replay::parse_raw(&text, &plan.event, id)?;
            plan.event = edited;
            spawn_send(sending, out, plan, Some(id), false);
            None
        }
        Job::Copy { id, what } => Some(Reply::Clip(copy(reader, id, what)?)),
    })
}

/// A refusal of an Event's recorded Target ([`replay::NotCaptured`]) worded for the UI, where
/// `remedy` says what to do instead of --to; any other error as it is.
fn in_the_ui(e: anyhow::Error, remedy: &str) -> anyhow::Error {
    match e.downcast_ref::<replay::NotCaptured>() {
        Some(refused) => anyhow::anyhow!(refused.message(remedy)),
        None => e,
    }
}

/// A copy of Event `id`: a curl command with its signature and authorization headers masked,
/// as `export --format curl` writes it (a copy lands in a file and on a clipboard, and may be
/// pasted anywhere; `export --include-secrets` keeps them), or the body's exact bytes.
pub fn copy(reader: &Reader, id: i64, what: CopyWhat) -> anyhow::Result<Clip> {
    let Some((summary, mut event)) = reader.event(id)? else {
        anyhow::bail!("no event #{id}");
    };
    Ok(match what {
        CopyWhat::Curl => {
            let deliveries = reader.deliveries(id)?;
            let target = crate::export::curl::last_target(&event, &deliveries);
            let masked = crate::export::mask(&event.headers, false);
            let hidden = masked
                .iter()
                .zip(event.headers.iter())
                .any(|(m, h)| m.1 != h.1);
            event.headers = masked;
            Clip {
                label: format!(
                    "curl for #{id}{}",
                    if hidden { " (secrets masked)" } else { "" }
                ),
                bytes: crate::export::curl::command(&summary, &event, target.as_deref())
                    .into_bytes(),
                file_name: format!("event-{id}.curl.sh"),
            }
        }
        CopyWhat::Body => Clip {
            label: format!("body of #{id}"),
            file_name: format!("event-{id}.body{}", body_extension(&event)),
            bytes: event.body.to_vec(),
        },
    })
}

/// `.json`, `.txt` or `.bin`, from the body.
fn body_extension(event: &Event) -> &'static str {
    match std::str::from_utf8(&event.body) {
        Ok(text) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => ".json",
        Ok(_) => ".txt",
        Err(_) => ".bin",
    }
}

/// Sends a planned replay on the runtime (the Target may take seconds) and reports the result.
/// With `edited_from`, the plan's Event is first stored as a new Event derived from that one;
/// with `resign`, it is signed again with its provider's secret before it goes.
fn spawn_send(
    sending: &Sending,
    out: &Sender<Reply>,
    mut plan: replay::Plan,
    edited_from: Option<i64>,
    resign: bool,
) {
    let (sending, out) = (sending.clone(), out.clone());
    sending.runtime.clone().spawn(async move {
        let reply = async {
            let mut prefix = String::new();
            if let Some(from) = edited_from {
                plan.event_id =
                    replay::store_edit(&sending.writer, &plan.event, &sending.redact).await?;
                prefix = format!("stored the edit of #{from} as #{}; ", plan.event_id);
            }
            let options = replay::Options {
                resign: resign.then(|| sending.providers.clone()),
                redact: sending.redact.clone(),
            };
            if resign {
                prefix.push_str("re-signed; ");
            }
            let done = replay::send(&sending.writer, &sending.forwarder, plan, &options).await?;
            let id = done.event_id;
            let ms = done.result.duration_us as f64 / 1000.0;
            let (line, ok) = match (done.result.status, &done.result.error) {
                (Some(status), _) => (
                    format!(
                        "{prefix}replayed #{id} to {}: {status} in {ms:.1} ms",
                        done.url
                    ),
                    status < 400,
                ),
                (None, Some(e)) => (format!("{prefix}replay of #{id} failed: {e}"), false),
                (None, None) => (
                    format!("{prefix}replay of #{id}: {}", done.result.outcome),
                    false,
                ),
            };
            anyhow::Ok(Reply::Replayed {
                event_id: id,
                ok,
                line,
            })
        }
        .await
        .unwrap_or_else(|e| Reply::Failed(format!("{e:#}")));
        let _ = out.send(reply).await;
    });
}

/// Event `id` with its Deliveries, notes and bodies ready to show; `None` if it is gone. A
/// large request body is read once (at most [`MAX_LOADED`] of it) and shown as a window.
pub fn load_detail(reader: &Reader, id: i64, version: u64) -> anyhow::Result<Option<Detail>> {
    let loaded = match reader.summary(id)? {
        Some(s) if s.body_size > PRETTY_MAX as u64 => reader.event_prefix(id, MAX_LOADED)?,
        Some(_) => reader.event(id)?,
        None => None,
    };
    let Some((summary, event)) = loaded else {
        return Ok(None);
    };
    let cut = ((event.body.len() as u64) < summary.body_size).then(|| {
        format!(
            "body is {}: showing the first {}; `hooktap show {id} --body` writes it all",
            format_size(summary.body_size),
            format_size(event.body.len() as u64)
        )
    });
    let deliveries = reader.deliveries(id)?;
    let notes = crate::explain::notes(reader, &summary, &event)?;
    let request = body::prepare(&event.headers, event.body.clone(), cut);
    let responses = deliveries
        .iter()
        .map(|d| body::prepare(&d.result.headers, d.result.body.clone(), None))
        .collect();
    Ok(Some(Detail {
        version,
        summary,
        event,
        deliveries,
        notes,
        request,
        responses,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Classification, DeliveryKind, HeaderList, Ingress, new_uid, now_micros};
    use crate::store::{Durability, NewDelivery, Store};

    #[test]
    fn r_on_an_imported_event_says_why_instead_of_sending() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("events.db"), Durability::Normal).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let event = Event {
            uid: new_uid(),
            received_at: now_micros(),
            ingress: Ingress::Import,
            method: "POST".into(),
            path: "/hooks".into(),
            query: None,
            remote_addr: None,
            headers: HeaderList::default(),
            body: bytes::Bytes::from_static(b"{}"),
            class: Classification::default(),
            derived_from: None,
        };
        let from_file = NewDelivery {
            kind: DeliveryKind::Original,
            target: "http://attacker.example/hooks".into(),
            started_at: now_micros(),
        };
        let writer = store.writer();
        let id = runtime
            .block_on(writer.insert_event(event, Some(from_file)))
            .unwrap()
            .event_id;
        let sending = Sending {
            runtime: runtime.handle().clone(),
            writer,
            forwarder: std::sync::Arc::new(crate::forward::Forwarder::new(
                std::time::Duration::from_secs(1),
                1024,
            )),
            providers: crate::providers::Providers::default(),
            redact: crate::redact::Redactor::default(),
        };
        let reader = store.reader().unwrap();
        let (out, _rx) = tokio::sync::mpsc::channel(4);
        for (job, says) in [
            (
                Job::Replay {
                    id,
                    to: None,
                    resign: false,
                },
                "press R to type a URL",
            ),
            (
                Job::Replay {
                    id,
                    to: None,
                    resign: true,
                },
                "press S to type a URL",
            ),
            (Job::EditText { id }, "--edit --to URL"),
        ] {
            let err = format!("{:#}", run_job(&reader, job, &sending, &out).unwrap_err());
            assert!(
                err.starts_with(
                    "event #1 was imported from a file: its recorded target is not used"
                ) && err.ends_with(says),
                "{err}"
            );
        }
    }
}
