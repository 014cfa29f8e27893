//! The Store: SQLite (WAL) holding Events and Deliveries. One writer thread commits in groups;
//! readers open their own connections; a bus announces what has been committed.

mod apply;
pub mod body;
pub(crate) mod checkpoint;
pub mod drift;
pub mod files;
mod group;
mod identify;
mod prefix;
mod row;
mod schema;
pub mod search;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tokio::sync::broadcast;

pub use row::{
    DELIVERY_COLUMNS, EVENT_EXTRA_COLUMNS, EVENT_FROM, EventSummary, SUMMARY_COLUMNS,
    delivery_from_row, event_from_row, event_of,
};
pub use schema::VERSION as SCHEMA_VERSION;
pub use writer::{DuplicateUid, Inserted, NewDelivery, Writer};

use crate::event::{Delivery, DeliveryKind, Event};
use identify::{Found, identify};

/// How long a connection waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the bus announces, always after the change is committed.
#[derive(Clone, Debug)]
pub enum Change {
    /// A new Event.
    Event(Arc<EventSummary>),
    /// A Delivery finished; `summary` is its Event as it now stands.
    Delivery {
        summary: Arc<EventSummary>,
        /// The failure, in words, when the Delivery failed.
        error: Option<String>,
        kind: DeliveryKind,
    },
    /// Many rows changed at once (import, prune, recovery): reload from the Store.
    Reload,
}

/// How hard a commit tries to survive power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=NORMAL`: survives a killed process (the Agent, `listen`).
    Normal,
    /// `synchronous=FULL`: survives power loss (the Relay).
    Full,
}

/// An open Store: the writer handle, the bus, and where to open readers.
pub struct Store {
    path: PathBuf,
    writer: Writer,
    bus: broadcast::Sender<Change>,
    /// The writer thread, then the checkpoint thread (which ends after the writer).
    threads: Vec<std::thread::JoinHandle<()>>,
    /// The background text search indexer, when started.
    indexer: Option<search::Indexer>,
}

impl Store {
    /// Opens (creating if needed) the Store at `path` and starts its writer.
    pub fn open(path: &Path, durability: Durability) -> anyhow::Result<Store> {
        let conn = connect(path, durability)?;
        let (bus, _) = broadcast::channel(4096);
        let (checkpointer, checkpoint_thread) = checkpoint::spawn(path)
            .with_context(|| format!("cannot open the Store {}", path.display()))?;
        let (writer, thread) = Writer::spawn(conn, bus.clone(), checkpointer)
            .context("cannot start the Store's writer thread")?;
        Ok(Store {
            path: path.to_owned(),
            writer,
            bus,
            threads: vec![thread, checkpoint_thread],
            indexer: None,
        })
    }

    /// Starts indexing text for search in the background (long-running commands: `listen`,
    /// `ui`): in short batches while capture is quiet, idle while it is busy or caught up.
    pub fn index_in_background(&mut self) -> anyhow::Result<()> {
        if self.indexer.is_none() {
            self.indexer = Some(search::Indexer::spawn(&self.path)?);
        }
        Ok(())
    }

    /// A handle for writing.
    pub fn writer(&self) -> Writer {
        self.writer.clone()
    }

    /// Listens to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.bus.subscribe()
    }

    /// The bus itself, for components that subscribe later.
    pub fn bus(&self) -> broadcast::Sender<Change> {
        self.bus.clone()
    }

    /// Where the Store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens a new read connection.
    pub fn reader(&self) -> anyhow::Result<Reader> {
        Reader::open(&self.path)
    }

    /// Marks Deliveries left `pending` by a process that stopped mid-way as `interrupted`.
    /// Call once at start, before any new Delivery begins. Returns how many were marked.
    pub async fn recover_interrupted(&self) -> anyhow::Result<usize> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.writer
            .run(move |t| {
                // Pending Deliveries belong to pending Events; events_scan holds the outcome.
                let marked = t.execute(
                    "UPDATE deliveries SET outcome = 'interrupted', \
                     error = 'hooktap stopped before this Delivery finished' \
                     WHERE outcome = 'pending' AND event_id IN \
                     (SELECT id FROM events INDEXED BY events_scan WHERE outcome = 'pending')",
                    [],
                )?;
                t.execute(
                    "UPDATE events SET outcome = 'interrupted' WHERE outcome = 'pending'",
                    [],
                )?;
                let _ = tx.send(marked);
                Ok(Change::Reload)
            })
            .await?;
        Ok(rx.await.unwrap_or(0))
    }

    /// Stops the writer once every other [`Writer`] handle is gone, after it has committed all
    /// it was given.
    pub fn close(mut self) {
        let threads = std::mem::take(&mut self.threads);
        drop(self.indexer.take());
        drop(self);
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Creates the Store's folder (`0700`) and file (`0600`) if missing, then connects, sets the
/// pragmas and migrates.
fn connect(path: &Path, durability: Durability) -> anyhow::Result<Connection> {
    let hint = "check the path and its permissions, or pick another with --db";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        files::create_parent(path)
            .with_context(|| format!("cannot create the folder {}: {hint}", dir.display()))?;
    }
    // SQLite gives -wal and -shm the mode of the database file, so 0600 here covers all three.
    files::create_db_file(path)
        .with_context(|| format!("cannot create the Store {}: {hint}", path.display()))?;
    let plain = || -> rusqlite::Result<(Connection, Found)> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let found = identify(&conn)?;
        Ok((conn, found))
    };
    // Whose file is it? Asked before any pragma that writes (WAL mode stays in the file's
    // header), so another program's database is refused exactly as it was found.
    let (conn, found) =
        plain().with_context(|| format!("cannot open the Store {}: {hint}", path.display()))?;
    if found == Found::Foreign {
        anyhow::bail!(
            "{} is not a hooktap Store (another program's SQLite database): \
             pick another file with --db",
            path.display()
        );
    }
    if found == Found::Empty {
        // A file made beforehand (`touch`, `mktemp`, an empty SQLite database, through a
        // symlink or not) is about to hold captures: private like any Store.
        files::make_private(path)
            .with_context(|| format!("cannot make the Store {} private (0600)", path.display()))?;
    }
    let open = move || -> rusqlite::Result<Connection> {
        conn.set_prepared_statement_cache_capacity(64);
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // The checkpoint thread does this work (see `checkpoint`).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // When the WAL starts over, a file grown past this is cut back to it. The checkpoint
        // thread restarts it at 16 MiB, so under load it is reused in place, not cut and grown.
        conn.pragma_update(None, "journal_size_limit", 32 << 20)?;
        Ok(conn)
    };
    let mut conn =
        open().with_context(|| format!("cannot open the Store {}: {hint}", path.display()))?;
    schema::migrate(&mut conn).with_context(|| format!("cannot use {}", path.display()))?;
    Ok(conn)
}

/// A read-only connection with the queries every command needs.
pub struct Reader {
    conn: Connection,
    path: PathBuf,
    /// A text search first indexes a backlog of up to this many Events (see `store::search`).
    catch_up: i64,
}

impl Reader {
    /// Opens the Store at `path` for reading (migrating it first if an older hooktap wrote it).
    /// A Store that does not exist is an error: a mistyped `--db` must not look like an empty
    /// history.
    pub fn open(path: &Path) -> anyhow::Result<Reader> {
        if !path.exists() {
            anyhow::bail!(
                "no Store at {} yet: `hooktap listen --forward URL` creates it (or pass --db PATH)",
                path.display()
            );
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open the Store {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let found = identify(&conn).with_context(|| {
            format!(
                "cannot read the Store {}: is it a hooktap Store?",
                path.display()
            )
        })?;
        let Found::Store(version) = found else {
            // An empty file, or another program's database: reading must not make it a Store.
            anyhow::bail!(
                "{} is not a hooktap Store (an empty file, or another program's database): \
                 `hooktap listen --forward URL --db PATH` makes a new one",
                path.display()
            );
        };
        if version != SCHEMA_VERSION {
            drop(connect(path, Durability::Normal)?);
        }
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Reader {
            conn,
            path: path.to_owned(),
            catch_up: search::CATCH_UP,
        })
    }

    /// How many Events not yet indexed a text search indexes before answering (default
    /// [`search::CATCH_UP`]; 0: never, the backlog is scanned).
    pub fn set_search_catch_up(&mut self, events: i64) {
        self.catch_up = events;
    }

    /// See [`Reader::set_search_catch_up`].
    pub fn search_catch_up(&self) -> i64 {
        self.catch_up
    }

    /// Where the Store lives (a search opens a write connection there to index a backlog).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for queries built elsewhere (the filter module).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The newest `limit` Events with an id below `before` (all when `None`), newest first.
    pub fn recent(&self, limit: usize, before: Option<i64>) -> anyhow::Result<Vec<EventSummary>> {
        let sql =
            format!("SELECT {SUMMARY_COLUMNS} FROM events WHERE id < ?1 ORDER BY id DESC LIMIT ?2");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            (before.unwrap_or(i64::MAX), limit as i64),
            EventSummary::from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One Event's summary, or `None`.
    pub fn summary(&self, id: i64) -> anyhow::Result<Option<EventSummary>> {
        let sql = format!("SELECT {SUMMARY_COLUMNS} FROM events WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], EventSummary::from_row)
            .optional()?)
    }

    /// One Event in full, or `None`.
    pub fn event(&self, id: i64) -> anyhow::Result<Option<(EventSummary, Event)>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, {EVENT_EXTRA_COLUMNS} FROM {EVENT_FROM} WHERE events.id = ?1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], event_from_row)
            .optional()?)
    }

    /// Every Delivery of an Event, oldest first.
    pub fn deliveries(&self, event_id: i64) -> anyhow::Result<Vec<Delivery>> {
        let sql =
            format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE event_id = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([event_id], delivery_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The payload drift note of an Event ("new field `details.code`"), if it has one.
    pub fn drift(&self, event_id: i64) -> anyhow::Result<Option<String>> {
        Ok(drift::note(&self.conn, event_id)?)
    }

    /// How many Events the Store holds.
    pub fn count(&self) -> anyhow::Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// SQLite's `data_version`: changes when another connection commits.
    pub fn data_version(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
}
