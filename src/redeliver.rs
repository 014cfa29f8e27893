//! Redelivery (`listen --redeliver`): an Event whose Delivery never got an answer from the app
//! (down, reset, too slow) is held (`events.held_since`, set in the same commit as that
//! Delivery, before the sender hears `202`) and sent again, oldest first, until the app
//! answers or the window passes. The Store is the queue: what is held survives `kill -9`, a
//! Delivery answered by any means (a retry, a replay from the UI) releases its Event, and
//! pruning leaves held Events alone. Each try is a Delivery of kind `retry`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::event::{DeliveryKind, Micros, Outcome, now_micros};
use crate::forward::{Forwarder, Target};
use crate::replay::{self, Options};
use crate::store::{Change, Reader, Writer};

/// The first wait after a failed try; it doubles up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(500);
const MAX_WAIT: Duration = Duration::from_secs(30);
/// Tries on which the app was reachable but did not answer (timeouts) before giving up: an
/// Event that makes the app hang must not be sent a hundred times.
const MAX_STRIKES: u32 = 5;
/// Held Events looked at per pass, oldest first.
const PAGE: i64 = 64;

/// Wakes the redelivery task when an Event is held.
#[derive(Clone, Debug, Default)]
pub struct Redeliver {
    held: Arc<Notify>,
}

impl Redeliver {
    /// Says that an Event was just held (its Delivery is committed).
    pub fn wake(&self) {
        self.held.notify_one();
    }
}

/// What the redelivery task sends with.
pub struct Setup {
    pub db: PathBuf,
    pub writer: Writer,
    pub forwarder: Arc<Forwarder>,
    pub target: Target,
    pub options: Options,
    /// How long after it was first held an Event is still tried.
    pub window: Duration,
    /// Committed changes: a live Delivery the app answered means it is back.
    pub bus: broadcast::Receiver<Change>,
}

/// Starts the task; it ends on `shutdown` (without waiting for a try in flight: that Delivery
/// is marked interrupted at the next start and the Event stays held). Await its handle before
/// closing the Store.
pub fn spawn(
    setup: Setup,
    shutdown: CancellationToken,
) -> anyhow::Result<(Redeliver, tokio::task::JoinHandle<()>)> {
    let lock = lock(&setup.db)?;
    let reader = Reader::open(&setup.db)?;
    let waiting = held(&reader)?.len();
    if waiting > 0 {
        let more = if waiting as i64 == PAGE {
            " or more"
        } else {
            ""
        };
        eprintln!("hooktap: {waiting}{more} Event(s) held for your app; redelivering");
    }
    let redeliver = Redeliver::default();
    let woken = redeliver.held.clone();
    let task = tokio::spawn(async move {
        run(setup, reader, woken, shutdown).await;
        drop(lock);
    });
    Ok((redeliver, task))
}

/// One redeliverer per Store: two would send each held Event twice. The lock is the kernel's
/// (`flock`), so it goes with the process, even on `kill -9`.
fn lock(db: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = db.as_os_str().to_owned();
    name.push("-redeliver.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&name)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", name.to_string_lossy()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "another `hooktap listen --redeliver` already redelivers from {}: run one at a \
             time, or start this one without --redeliver",
            db.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(anyhow::anyhow!(
            "cannot lock {}: {e}",
            name.to_string_lossy()
        )),
    }
}

/// The oldest held Events and since when they are held; not one with a Delivery in flight
/// (accept mode's first forward, a replay from elsewhere): its result decides.
fn held(reader: &Reader) -> rusqlite::Result<Vec<(i64, Micros)>> {
    let mut stmt = reader.conn().prepare_cached(
        "SELECT id, held_since FROM events INDEXED BY events_held \
         WHERE held_since IS NOT NULL AND outcome IS NOT 'pending' ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([PAGE], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Per Event: when it may be tried again, and how often the app failed on it while up.
#[derive(Clone, Copy, Default)]
struct Tries {
    next: Option<Instant>,
    wait: Duration,
    strikes: u32,
}

async fn run(mut setup: Setup, reader: Reader, woken: Arc<Notify>, shutdown: CancellationToken) {
    let mut tries: HashMap<i64, Tries> = HashMap::new();
    // While the app cannot be reached, nothing is tried before this.
    let mut app_down: Option<(Instant, Duration)> = None;
    loop {
        let page = match held(&reader) {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!("cannot read the Events held for redelivery: {e}");
                Vec::new()
            }
        };
        tries.retain(|id, _| page.iter().any(|(held, _)| held == id));
        let now = Instant::now();
        let mut pick = None;
        let mut next_wake = app_down.map(|(until, _)| until);
        for &(id, since) in &page {
            if now_micros() - since > setup.window.as_micros() as Micros {
                give_up(
                    &setup,
                    id,
                    &format!(
                        "the app did not take it within {}",
                        crate::forward::humantime(setup.window)
                    ),
                )
                .await;
                continue;
            }
            match tries.get(&id).and_then(|t| t.next) {
                Some(at) if at > now => next_wake = Some(next_wake.map_or(at, |w| w.min(at))),
                _ if app_down.is_some_and(|(until, _)| until > now) => {}
                _ => {
                    pick = Some(id);
                    break;
                }
            }
        }
        let Some(id) = pick else {
            // Nothing to try now: wait for a hold, the app's return, a due time, or the end.
            let due = async {
                match next_wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = woken.notified() => {}
                _ = due => {}
                // Only the wait for an unreachable app ends: an Event the app hung on keeps
                // its own backoff.
                back = app_answered(&mut setup.bus) => if back {
                    app_down = None;
                },
            }
            continue;
        };
        let planned = replay::plan(&reader, id, Some(&setup.target));
        let sent = tokio::select! {
            _ = shutdown.cancelled() => return,
            sent = send(&setup, planned) => sent,
        };
        let entry = tries.entry(id).or_default();
        match sent {
            Ok(result) if result.outcome == Outcome::Ok => {
                // Answered: the Store released it with this Delivery.
                app_down = None;
                tries.remove(&id);
            }
            Ok(result) if crate::forward::unreachable(&result) => {
                // Cannot reach the app: everything waits, with one backoff for all.
                let wait = app_down.map_or(FIRST_WAIT, |(_, w)| (w * 2).min(MAX_WAIT));
                app_down = Some((Instant::now() + wait, wait));
            }
            Ok(result) => {
                // Reached but no usable answer (it hung, reset or closed the connection on this
                // Event, or sent a body that could not be read): this Event backs off on its
                // own, the others go on.
                app_down = None;
                entry.strikes += 1;
                entry.wait = (entry.wait * 2).clamp(FIRST_WAIT, MAX_WAIT);
                entry.next = Some(Instant::now() + entry.wait);
                if entry.strikes >= MAX_STRIKES {
                    let why = result.error.unwrap_or_default();
                    give_up(&setup, id, &format!("{MAX_STRIKES} tries failed ({why})")).await;
                    tries.remove(&id);
                }
            }
            Err(e) => {
                // No Target, a pruned Event, a Store that refused: try it later, alone.
                tracing::warn!("cannot redeliver event #{id} now: {e:#}");
                entry.wait = (entry.wait * 2).clamp(FIRST_WAIT, MAX_WAIT);
                entry.next = Some(Instant::now() + entry.wait);
            }
        }
    }
}

/// Sends a planned Event once, as a Delivery of kind `retry`.
async fn send(
    setup: &Setup,
    plan: anyhow::Result<replay::Plan>,
) -> anyhow::Result<crate::event::DeliveryResult> {
    let sent = replay::send_as(
        &setup.writer,
        &setup.forwarder,
        plan?,
        &setup.options,
        DeliveryKind::Retry,
    )
    .await?;
    Ok(sent.result)
}

/// Whether the next committed change is a live Delivery the app answered (it is back).
async fn app_answered(bus: &mut broadcast::Receiver<Change>) -> bool {
    match bus.recv().await {
        Ok(Change::Delivery { summary, kind, .. }) => {
            kind == DeliveryKind::Original && summary.outcome.as_deref() == Some("ok")
        }
        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => false,
        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
    }
}

/// Stops holding Event `id`, saying why and how to send it by hand.
async fn give_up(setup: &Setup, id: i64, why: &str) {
    tracing::warn!(
        "gave up redelivering event #{id}: {why} (`hooktap replay {id}` sends it again)"
    );
    let released = setup
        .writer
        .run(move |t| {
            t.execute("UPDATE events SET held_since = NULL WHERE id = ?1", [id])?;
            Ok(Change::Reload)
        })
        .await;
    if let Err(e) = released {
        tracing::warn!("cannot release event #{id}: {e:#}");
    }
}
