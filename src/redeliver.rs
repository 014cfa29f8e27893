//! Redelivery (`listen --redeliver`): an Event whose Delivery failed because the app was down
//! or too slow is held and sent again, oldest first, until the app answers or the window
//! passes. Each try is a Delivery of kind `retry`. The queue lives in memory and is rebuilt
//! from the Store when `listen` starts, so a restart (even `kill -9`) loses nothing held.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::event::{DeliveryKind, Micros, Outcome, now_micros};
use crate::forward::{Forwarder, Target};
use crate::replay::{self, Options};
use crate::store::{Reader, Writer};

/// The first wait after a failed try; it doubles up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(500);
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Hands failed Events to the redelivery task.
#[derive(Clone, Debug)]
pub struct Redeliver {
    held: mpsc::UnboundedSender<(i64, Micros)>,
    window: Duration,
}

impl Redeliver {
    /// Holds Event `event_id` (received at `received_at`) for redelivery.
    pub fn hold(&self, event_id: i64, received_at: Micros) {
        let _ = self.held.send((event_id, received_at));
    }

    /// How long after it arrived an Event is still tried.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// What the redelivery task sends with.
pub struct Setup {
    pub db: PathBuf,
    pub writer: Writer,
    pub forwarder: Arc<Forwarder>,
    pub target: Target,
    pub options: Options,
    pub window: Duration,
}

/// Starts the task, first holding the Events of the last `window` whose latest Delivery did not
/// reach the app (`failed`, `timeout`, `interrupted`). The task ends on `shutdown` (after a try
/// in flight); await its handle before closing the Store.
pub fn spawn(
    setup: Setup,
    shutdown: CancellationToken,
) -> anyhow::Result<(Redeliver, tokio::task::JoinHandle<()>)> {
    let reader = Reader::open(&setup.db)?;
    let since = now_micros() - setup.window.as_micros() as Micros;
    let mut queue = BTreeMap::new();
    let mut stmt = reader.conn().prepare(
        "SELECT id, received_at FROM events INDEXED BY events_scan \
         WHERE outcome IN ('failed', 'timeout', 'interrupted') AND received_at >= ?1",
    )?;
    let rows = stmt.query_map([since], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?)))?;
    for row in rows {
        let (id, at) = row?;
        queue.insert(id, at);
    }
    drop(stmt);
    if !queue.is_empty() {
        eprintln!(
            "hooktap: {} Event(s) of the last {} did not reach the app; redelivering",
            queue.len(),
            crate::forward::humantime(setup.window)
        );
    }
    let (held, incoming) = mpsc::unbounded_channel();
    let window = setup.window;
    let task = tokio::spawn(run(setup, reader, queue, incoming, shutdown));
    Ok((Redeliver { held, window }, task))
}

async fn run(
    setup: Setup,
    reader: Reader,
    mut queue: BTreeMap<i64, Micros>,
    mut incoming: mpsc::UnboundedReceiver<(i64, Micros)>,
    shutdown: CancellationToken,
) {
    let mut wait = Duration::ZERO;
    loop {
        let next_try = Instant::now() + wait;
        // Wait for the next try (or, with nothing held, for an Event), taking in new ones.
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                held = incoming.recv() => match held {
                    Some((id, at)) => {
                        // A new failure right after a long wait: the app may be back.
                        queue.insert(id, at);
                    }
                    None => return,
                },
                _ = tokio::time::sleep_until(next_try), if !queue.is_empty() => break,
            }
        }
        let Some((&id, &at)) = queue.first_key_value() else {
            continue;
        };
        if now_micros() - at > setup.window.as_micros() as Micros {
            tracing::warn!(
                "gave up redelivering event #{id}: the app did not answer within {} \
                 (`hooktap replay {id}` sends it again)",
                crate::forward::humantime(setup.window)
            );
            queue.remove(&id);
            continue;
        }
        let planned = replay::plan(&reader, id, Some(&setup.target));
        // Stopping does not wait for a slow app: a try cut short is recorded `interrupted`
        // at the next start, and held again then.
        let tried = tokio::select! {
            _ = shutdown.cancelled() => return,
            tried = try_once(&setup, planned) => tried,
        };
        match tried {
            Ok(true) => {
                queue.remove(&id);
                wait = Duration::ZERO;
            }
            Ok(false) => wait = (wait * 2).clamp(FIRST_WAIT, MAX_WAIT),
            Err(e) => {
                // Pruned meanwhile, or the Store refused: nothing a later try would change.
                tracing::warn!("cannot redeliver event #{id}: {e:#}");
                queue.remove(&id);
            }
        }
    }
}

/// Sends a planned Event once; whether the app answered (any status).
async fn try_once(setup: &Setup, plan: anyhow::Result<replay::Plan>) -> anyhow::Result<bool> {
    let sent = replay::send_as(
        &setup.writer,
        &setup.forwarder,
        plan?,
        &setup.options,
        DeliveryKind::Retry,
    )
    .await?;
    Ok(sent.result.outcome == Outcome::Ok)
}
