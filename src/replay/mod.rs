//! Replay: a new Delivery of a recorded Event, through the same `forward::build` and
//! `Forwarder::send` as live traffic, recorded as a Delivery of kind `replay`. The original
//! Event is never changed; an edited request becomes a new Event with `derived_from` set.
//!
//! Work is split so a caller holding a [`Reader`] (not `Sync`) can still send from any task:
//! [`plan`] reads (sync), [`send`] forwards and records (async, `Send`). [`edit`] turns an
//! Event into text for an editor and back; [`schedule`] orders and paces a batch.

mod batch;
pub mod check;
mod edit;
mod origin;
pub mod schedule;

use std::sync::Arc;

pub use batch::Batch;
pub use edit::{open_in_editor, parse_raw, raw_request};
pub use origin::{NotCaptured, Origin, check_captured, origin, refusal};

use crate::event::{DeliveryKind, DeliveryResult, Event, Outcome, now_micros};
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
/// answered Delivery (or of the Event it was edited from). Without `to`, an Event this Store
/// did not capture (imported, or an edit of one) is refused with [`NotCaptured`]: a Target
/// read from a file is never used.
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

/// The Target of the latest answered Delivery of `event_id` (else its latest Delivery), or of
/// the Event it was edited from. The Store keeps each Delivery's full URL; the Target is that
/// URL minus the Event's path and query. Only for an Event this Store captured: for any other
/// the error is [`NotCaptured`].
pub fn default_target(reader: &Reader, event_id: i64) -> anyhow::Result<Option<Target>> {
    check_captured(reader, event_id)?;
    let mut id = Some(event_id);
    // Follow `derived_from` a bounded number of steps (an edit of an edit of ...).
    for _ in 0..16 {
        let Some(current) = id else { break };
        let Some((summary, event)) = reader.event(current)? else {
            break;
        };
        let deliveries = reader.deliveries(current)?;
        // The latest Delivery that reached an app: a replay to a mistyped --to that failed
        // must not become where every later replay goes. None answered: the latest.
        // An answer hooktap made up (a mock) went to no Target.
        let real = |d: &&crate::event::Delivery| d.kind != crate::event::DeliveryKind::Mock;
        let latest = deliveries
            .iter()
            .rev()
            .filter(real)
            .find(|d| d.result.outcome == Outcome::Ok)
            .or(deliveries.iter().rev().find(real));
        if let Some(d) = latest {
            let base = Target::base_of(&d.target, &event.path_and_query()).unwrap_or(&d.target);
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
    plan: Plan,
    options: &Options,
) -> anyhow::Result<Replayed> {
    send_as(writer, forwarder, plan, options, DeliveryKind::Replay).await
}

/// [`send`], recorded as a Delivery of `kind` (`retry` for hooktap's own redelivery).
pub async fn send_as(
    writer: &Writer,
    forwarder: &Forwarder,
    mut plan: Plan,
    options: &Options,
    kind: DeliveryKind,
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
        kind,
        target: url.clone(),
        started_at: now_micros(),
    };
    let delivery_id = writer.start_delivery(plan.event_id, delivery).await?;
    let result = forwarder.send(outgoing).await;
    let mut stored = result.clone();
    options.redact.result(&mut stored);
    let summary = writer
        .finish_delivery(delivery_id, plan.event_id, kind, stored)
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
