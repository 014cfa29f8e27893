//! Running a batch replay: the [`Slot`]s of a schedule sent at their times, at most
//! `concurrency` at once, each planned from the Store just before it goes (so a batch of a
//! million Events never holds their bodies at once).

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::schedule::Slot;
use super::{Options, Replayed, plan, send};
use crate::forward::{Forwarder, Target};
use crate::store::{Reader, Writer};

/// What a batch sends with.
pub struct Batch<'a> {
    /// Reads each Event as its turn comes.
    pub reader: &'a Reader,
    /// Records each Delivery.
    pub writer: Writer,
    /// Sends.
    pub forwarder: Arc<Forwarder>,
    /// `--to`, else each Event's last Target.
    pub to: Option<Target>,
    /// Re-signing and redaction.
    pub options: Arc<Options>,
    /// Most sends in flight at once (at least 1).
    pub concurrency: usize,
}

impl Batch<'_> {
    /// Sends every slot and hands each finished replay to `done`, in the order they finish.
    /// An Event that cannot be planned (pruned meanwhile, no Target) stops the batch: the sends
    /// already in flight finish and are recorded first, then its error is returned.
    pub async fn run(
        &self,
        slots: &[Slot],
        mut done: impl FnMut(Slot, anyhow::Result<Replayed>),
    ) -> anyhow::Result<()> {
        let start = Instant::now();
        let mut running: JoinSet<(Slot, anyhow::Result<Replayed>)> = JoinSet::new();
        let mut stopped = Ok(());
        for slot in slots {
            while running.len() >= self.concurrency.max(1) {
                if let Some(finished) = running.join_next().await {
                    report(finished, &mut done);
                }
            }
            let due = start + slot.at;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => break,
                    Some(finished) = running.join_next(), if !running.is_empty() => {
                        report(finished, &mut done);
                    }
                }
            }
            let planned = match plan(self.reader, slot.event_id, self.to.as_ref()) {
                Ok(p) => p,
                Err(e) => {
                    stopped = Err(e);
                    break;
                }
            };
            let (writer, forwarder, options, slot) = (
                self.writer.clone(),
                self.forwarder.clone(),
                self.options.clone(),
                *slot,
            );
            running.spawn(async move {
                let sent = send(&writer, &forwarder, planned, &options).await;
                (slot, sent)
            });
        }
        while let Some(finished) = running.join_next().await {
            report(finished, &mut done);
        }
        stopped
    }
}

fn report(
    finished: Result<(Slot, anyhow::Result<Replayed>), tokio::task::JoinError>,
    done: &mut impl FnMut(Slot, anyhow::Result<Replayed>),
) {
    match finished {
        Ok((slot, result)) => done(slot, result),
        // A send that panicked: nothing to hand back but the panic itself.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: only when the runtime shuts down, and then nobody is listening.
        Err(_) => {}
    }
}
