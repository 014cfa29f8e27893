//! Checkpoints off the writer thread (the Store's, and the Relay database's). SQLite's automatic
//! checkpoint runs inside the commit that crosses the threshold, so one capture in a thousand
//! would wait for it (and the writer's core would do the copying). Here a thread of its own copies the WAL back into the database a
//! little after commits happen, with `PASSIVE` checkpoints that never block the writer, and
//! restarts the WAL from its start once it has grown past a bound, with the writer stepping
//! aside for that moment (see `gate`).

mod gate;

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

pub(crate) use gate::Checkpointer;
use gate::Shared;

/// How long commits may pile up before their pages are copied. Short: the writer's latency
/// suffers from the size of each copy and its fsyncs, not from how often they happen. At
/// 1,000 requests/s on ext4, p99 over direct was 1.4-1.6 ms with 250 ms, 0.9-1.1 ms with 50,
/// 0.7-1.0 ms with 20 and 0.6-0.8 ms with 10; CPU per request at full load did not move.
const INTERVAL: Duration = Duration::from_millis(10);

/// WAL frames (pages) past which the WAL is restarted rather than left to grow: 4,096 frames
/// of 4 KiB, 16 MiB. Measured at 1,000 requests/s on ext4 (before the writer stepped aside for
/// restarts and checkpoints came every 10 ms): 64 MiB gave a p99.9 of 10 ms and
/// 256 MiB 72 ms (a bigger rest to copy and sync while the writer waits), 4 MiB more restarts
/// and a worse p99; 16 MiB gave 4.5 ms, better than never restarting (5.8 ms).
const RESTART_AFTER_FRAMES: i64 = 4_096;
/// How long a restart may wait for readers on an older snapshot before it gives up (the
/// writer, held between groups meanwhile, waits as long as the restart takes).
const RESTART_WAIT: Duration = Duration::from_millis(20);
/// After a restart that a reader blocked, how long until the next try (doubling while they
/// keep failing, up to [`RESTART_BACKOFF_MAX`]). A reader holding an old snapshot (a long
/// export, a second process mid-query) pins the WAL; retrying at once would pause the writer
/// over and over for nothing: it took capture from 10,000 to 345 requests/s.
const RESTART_BACKOFF: Duration = Duration::from_millis(250);
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(4);
/// How long the WAL may sit idle before it is cut back to nothing.
const IDLE: Duration = Duration::from_secs(5);
/// How long the last checkpoint, when the writer is gone, waits for other processes' readers.
const FINAL_WAIT: Duration = Duration::from_secs(1);

/// What a checkpoint reported.
struct Report {
    /// It could not finish: a reader or the writer held it back (a `RESTART` did not restart).
    busy: bool,
    /// Frames in the WAL when it started.
    frames: i64,
}

/// Runs a checkpoint in `mode`.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<Report> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok(Report {
            busy: r.get::<_, i64>(0)? != 0,
            frames: r.get(1)?,
        })
    })
}

/// Starts the checkpoint thread on its own connection to `path`. The thread ends, after a last
/// full checkpoint, when the returned [`Checkpointer`] is dropped.
pub(crate) fn spawn(path: &Path) -> anyhow::Result<(Checkpointer, JoinHandle<()>)> {
    let conn = Connection::open(path)?;
    // Only `RESTART` and `TRUNCATE` ever wait (a passive checkpoint takes what it can).
    conn.busy_timeout(RESTART_WAIT)?;
    // A checkpoint syncs the WAL before copying and the database before the WAL may be reused;
    // said here rather than left to the build's default.
    conn.pragma_update(None, "synchronous", "FULL")?;
    let (poke, rx) = sync_channel(1);
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("hooktap-ckpt".into())
            .spawn(move || run(&conn, &rx, &shared))?
    };
    Ok((Checkpointer { poke, shared }, thread))
}

fn run(conn: &Connection, rx: &Receiver<()>, shared: &Shared) {
    let mut restarts = Restarts::default();
    // Commits happened since the WAL was last cut back to nothing.
    let mut dirty = false;
    loop {
        let poked = if dirty {
            match rx.recv_timeout(IDLE) {
                Ok(()) => true,
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(()) => true,
                Err(_) => break,
            }
        };
        if !poked {
            // Nothing written for a while: give the WAL's disk space back (tried again after
            // another idle spell if a reader is in the way). Under load a restarted WAL keeps
            // its size, so that rewriting it does not allocate file pages again (cutting it
            // back each time cost the writer 15 % more time per Event).
            dirty = exclusive(conn, shared, "TRUNCATE") != Some(true);
            continue;
        }
        dirty = true;
        // Rate limit, not synchronisation: let a burst of commits land first.
        shared.rest(INTERVAL, restarts.due());
        while rx.try_recv().is_ok() {}
        match checkpoint(conn, "PASSIVE") {
            // Under steady writes a passive checkpoint never catches up with the end of the
            // WAL, and SQLite starts the WAL over only once one has: it would grow without
            // end (2 GB in 8 s at full load). Past a bound, restart it: copy what the writer
            // added during the first pass, then hold the writer between two groups and copy
            // the few frames left. Its next commit writes from the start of the file again.
            Ok(o) if o.frames > RESTART_AFTER_FRAMES && restarts.due() => {
                let _ = checkpoint(conn, "PASSIVE");
                // `None`: the writer's group outlasted the hold; try again next round.
                if let Some(restarted) = exclusive(conn, shared, "RESTART") {
                    restarts.record(restarted);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("checkpoint failed (will retry after the next commit): {e}"),
        }
    }
    // The writer is gone: fold the whole WAL back in and truncate it (briefly: it holds other
    // processes' writes back while it waits for their readers).
    let _ = conn.busy_timeout(FINAL_WAIT);
    let _ = checkpoint(conn, "TRUNCATE");
}

/// Runs a checkpoint in `mode` with the writer held between groups, so that its busy timeout
/// ([`RESTART_WAIT`]) is spent on readers alone; whether it went all the way (`false`: a reader
/// held it back). `None` if the writer could not be held.
fn exclusive(conn: &Connection, shared: &Shared, mode: &str) -> Option<bool> {
    let _hold = shared.hold()?;
    Some(matches!(
        checkpoint(conn, mode),
        Ok(Report { busy: false, .. })
    ))
}

/// When the next WAL restart may be tried.
#[derive(Default)]
struct Restarts {
    /// Not before this, after failures; with the wait that doubles.
    blocked: Option<(Instant, Duration)>,
}

impl Restarts {
    fn due(&self) -> bool {
        self.blocked
            .is_none_or(|(until, _)| Instant::now() >= until)
    }

    fn record(&mut self, restarted: bool) {
        self.blocked = if restarted {
            None
        } else {
            let wait = self
                .blocked
                .map_or(RESTART_BACKOFF, |(_, w)| (w * 2).min(RESTART_BACKOFF_MAX));
            tracing::debug!("WAL restart held back by a reader; next try in {wait:?}");
            Some((Instant::now() + wait, wait))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pass: restarts are due until one fails; then not before the backoff, which doubles
    /// with each failure up to the cap and is forgotten after a success.
    #[test]
    fn failed_restarts_back_off() {
        let mut r = Restarts::default();
        assert!(r.due());
        r.record(false);
        assert!(!r.due(), "retried at once after a reader held it back");
        assert_eq!(r.blocked.map(|(_, w)| w), Some(RESTART_BACKOFF));
        for _ in 0..10 {
            r.record(false);
        }
        assert_eq!(r.blocked.map(|(_, w)| w), Some(RESTART_BACKOFF_MAX));
        r.record(true);
        assert!(r.due());
        r.record(false);
        assert_eq!(r.blocked.map(|(_, w)| w), Some(RESTART_BACKOFF));
    }

    /// Pass: a restart that a reader on an old snapshot holds back is reported busy, and one
    /// with no reader goes through.
    #[test]
    fn a_reader_on_an_old_snapshot_holds_a_restart_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
            )
            .unwrap();
        let mut reader = Connection::open(&path).unwrap();
        let snapshot = reader.transaction().unwrap();
        let _: i64 = snapshot
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let ckpt = Connection::open(&path).unwrap();
        ckpt.busy_timeout(Duration::from_millis(10)).unwrap();
        assert!(checkpoint(&ckpt, "RESTART").unwrap().busy);
        drop(snapshot);
        assert!(!checkpoint(&ckpt, "RESTART").unwrap().busy);
    }
}
