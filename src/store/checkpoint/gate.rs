//! What the writer and the checkpoint thread share: the writer says when it is inside a group
//! (a write transaction), the checkpoint thread says when it needs the WAL to itself, and each
//! waits for the other on one condvar instead of SQLite's busy polling.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use super::RESTART_AFTER_FRAMES;

/// The longest the writer waits for a restart, or a restart for the writer's group, before
/// going on without the other (SQLite's own locking still keeps them apart). Far above what
/// either normally takes (a few milliseconds); only a stuck disk reaches it.
const HOLD_MAX: Duration = Duration::from_secs(1);

/// What the writer holds: a way to ask for a checkpoint, and the gate it passes before each
/// group.
pub(crate) struct Checkpointer {
    pub(super) poke: SyncSender<()>,
    pub(super) shared: Arc<Shared>,
}

impl Checkpointer {
    /// Called by the writer before each group: waits while the checkpoint thread holds the WAL
    /// (at most [`HOLD_MAX`]), then marks the writer as inside a group.
    pub(crate) fn begin_group(&self) {
        let state = self.shared.lock();
        let (mut state, _) = self
            .shared
            .changed
            .wait_timeout_while(state, HOLD_MAX, |s| s.holding)
            .unwrap_or_else(|e| e.into_inner());
        state.in_group = true;
    }

    /// Called by the writer after each group (committed or not): lets a waiting checkpoint
    /// in, and asks for a checkpoint (a full channel means one is already due).
    pub(crate) fn end_group(&self) {
        let mut state = self.shared.lock();
        state.in_group = false;
        if state.holding {
            self.shared.changed.notify_all();
        }
        drop(state);
        let _ = self.poke.try_send(());
    }

    /// Has `conn` (the writer's) report the WAL's length after each commit, so that a WAL
    /// growing fast is checkpointed before the usual interval is up.
    pub(crate) fn watch(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        let shared = self.shared.clone();
        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames| {
            if i64::from(frames) > RESTART_AFTER_FRAMES && !shared.urgent.swap(true, Relaxed) {
                // Through the lock, so the wake-up cannot fall between the thread's check of
                // `urgent` and its wait.
                drop(shared.lock());
                shared.changed.notify_all();
            }
            Ok(())
        }))
    }
}

/// The state both sides wait on.
#[derive(Default)]
pub(super) struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// The WAL has passed the restart bound: checkpoint now, not at the end of the interval.
    urgent: AtomicBool,
}

#[derive(Default)]
struct State {
    /// The writer is inside a group (its write transaction, until the commit).
    in_group: bool,
    /// The checkpoint thread holds the WAL (restarting or truncating it): the writer waits
    /// before its next group. Without this, a restart had to win the write lock through
    /// SQLite's busy handler, which only polls (sleeping 1, 2, 5, 10 ms ...), against a writer
    /// that begins its next group the instant one commits: it lost most rounds and the WAL
    /// grew to hundreds of megabytes.
    holding: bool,
}

/// The WAL held for the checkpoint thread; the writer may go on once this is dropped.
pub(super) struct Hold<'a>(&'a Shared);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.lock().holding = false;
        self.0.changed.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops the writer before its next group and waits until it is between groups, so what
    /// follows has the write lock at once and its busy timeout is spent on readers alone.
    /// `None` if the writer's group outlasted [`HOLD_MAX`].
    pub(super) fn hold(&self) -> Option<Hold<'_>> {
        let mut state = self.lock();
        state.holding = true;
        let (state, _) = self
            .changed
            .wait_timeout_while(state, HOLD_MAX, |s| s.in_group)
            .unwrap_or_else(|e| e.into_inner());
        let parked = !state.in_group;
        drop(state);
        let hold = Hold(self);
        parked.then_some(hold)
    }

    /// Sleeps `max`, or less if `early` and the WAL passes the restart bound meanwhile.
    pub(super) fn rest(&self, max: Duration, early: bool) {
        let state = self.lock();
        let (_state, _) = self
            .changed
            .wait_timeout_while(state, max, |_| !(early && self.urgent.load(Relaxed)))
            .unwrap_or_else(|e| e.into_inner());
        self.urgent.store(false, Relaxed);
    }
}
