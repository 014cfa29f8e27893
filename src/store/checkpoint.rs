//! Checkpoints off the writer thread. SQLite's automatic checkpoint runs inside the commit that
//! crosses the threshold, so one capture in a thousand would wait for it (and the writer's core
//! would do the copying). Here a thread of its own copies the WAL back into the database a
//! little after commits happen, with `PASSIVE` checkpoints that never block the writer.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How long commits may pile up before their pages are copied (a page rewritten by many
/// commits in this time is copied once).
const INTERVAL: Duration = Duration::from_millis(250);

/// Starts the checkpoint thread on its own connection to `path`. Send on the returned channel
/// after each commit (`try_send`; a full channel means a checkpoint is already due). The
/// thread ends, after a last full checkpoint, when every sender is dropped.
pub(super) fn spawn(path: &Path) -> anyhow::Result<(SyncSender<()>, JoinHandle<()>)> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let (poke, rx) = sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("hooktap-ckpt".into())
        .spawn(move || run(&conn, &rx))?;
    Ok((poke, thread))
}

fn run(conn: &Connection, rx: &Receiver<()>) {
    while rx.recv().is_ok() {
        // Rate limit, not synchronisation: let a burst of commits land first.
        std::thread::sleep(INTERVAL);
        while rx.try_recv().is_ok() {}
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!("checkpoint failed (will retry after the next commit): {e}");
        }
    }
    // The writer is gone: fold the whole WAL back in and truncate it.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}
