//! Running a batch replay: the [`Slot`]s of a schedule sent at their times, at most
//! `concurrency` at once, each planned from the Store just before it goes (so a batch of a
//! million Events never holds their bodies at once).

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

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

type Finished = (Slot, anyhow::Result<Replayed>);

impl Batch<'_> {
    /// Sends the slots, taken one at a time from `slots` as each one's turn comes, and hands
    /// each to `done` as it finishes. A slot that cannot be sent (its Event pruned meanwhile,
    /// no Target, a signature that cannot be made) is handed to `done` with its error and the
    /// batch goes on, so one bad Event never leaves a batch half sent. Once `stop` is cancelled
    /// no slot starts; the sends in flight finish and are recorded (no Delivery is left
    /// pending) before this returns. Returns whether every slot started: false when `stop`
    /// came first.
    pub async fn run(
        &self,
        slots: impl IntoIterator<Item = Slot>,
        stop: &CancellationToken,
        mut done: impl FnMut(Slot, anyhow::Result<Replayed>),
    ) -> bool {
        let start = Instant::now();
        let mut running: JoinSet<Finished> = JoinSet::new();
        let mut all = true;
        for slot in slots {
            if !self
                .turn(&mut running, start + slot.at, stop, &mut done)
                .await
            {
                all = false;
                break;
            }
            let planned = match plan(self.reader, slot.event_id, self.to.as_ref()) {
                Ok(p) => p,
                Err(e) => {
                    done(slot, Err(e));
                    continue;
                }
            };
            let (writer, forwarder, options) = (
                self.writer.clone(),
                self.forwarder.clone(),
                self.options.clone(),
            );
            running.spawn(async move {
                let sent = send(&writer, &forwarder, planned, &options).await;
                (slot, sent)
            });
        }
        while let Some(finished) = running.join_next().await {
            report(finished, &mut done);
        }
        all
    }

    /// Waits until `due` with a sender free, reporting the sends that finish meanwhile; false
    /// when `stop` came first.
    async fn turn(
        &self,
        running: &mut JoinSet<Finished>,
        due: Instant,
        stop: &CancellationToken,
        done: &mut impl FnMut(Slot, anyhow::Result<Replayed>),
    ) -> bool {
        let free = self.concurrency.max(1);
        loop {
            // `done` may have cancelled `stop` (stdout closed): check before waiting again.
            if stop.is_cancelled() {
                return false;
            }
            tokio::select! {
                biased;
                _ = stop.cancelled() => return false,
                Some(finished) = running.join_next(), if !running.is_empty() => {
                    report(finished, done);
                }
                // Never both full and empty: with every sender busy, the branch above waits.
                _ = tokio::time::sleep_until(due), if running.len() < free => return true,
            }
        }
    }
}

fn report(
    finished: Result<Finished, tokio::task::JoinError>,
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
