//! The Relay's database (SQLite, WAL, `synchronous=FULL`): its schema and migrations, opening
//! it, and the Channel table, which `hooktap relay channel ...` changes from another process
//! while the Relay runs.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, TransactionBehavior, params};

use crate::event::{Micros, now_micros};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS channels (
        name TEXT PRIMARY KEY,
        token_sha256 BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER
    );
    CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        query TEXT,
        remote_addr TEXT,
        proto TEXT NOT NULL,
        headers BLOB NOT NULL,
        body BLOB NOT NULL,
        state TEXT NOT NULL,
        done_at INTEGER,
        status INTEGER
    );
    CREATE INDEX IF NOT EXISTS events_queue ON events(channel, seq) WHERE state = 'queued';
    CREATE INDEX IF NOT EXISTS events_done ON events(done_at) WHERE state != 'queued';";

/// The schema version this hooktap writes: 1 made the tables above; 2 added
/// `channels.agent_max_body`, the last `--max-body` the Channel's Agent stated in its handshake;
/// 3 added what `relay channel list` shows of a running Relay ([`ADDED`]).
const VERSION: i64 = 3;

/// Columns added after version 1, each with its definition: `agent`, the address of the Agent
/// connected now (the running Relay sets and clears it, and refreshes `last_seen` while it is
/// connected); `refused` and `agents_refused`, webhooks and Agent handshakes turned away.
const ADDED: [(&str, &str); 4] = [
    ("agent_max_body", "INTEGER"),
    ("agent", "TEXT"),
    ("refused", "INTEGER NOT NULL DEFAULT 0"),
    ("agents_refused", "INTEGER NOT NULL DEFAULT 0"),
];

/// A Channel as `relay channel list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRow {
    pub name: String,
    pub token_sha256: [u8; 32],
    pub created_at: Micros,
    pub last_seen: Option<Micros>,
    pub queued: u64,
    /// The last `--max-body` its Agent stated (`None` before any Agent connected).
    pub agent_max_body: Option<u64>,
    /// Of the queued Events, those larger than `agent_max_body`: kept, not delivered, until
    /// the Agent raises its limit.
    pub too_large: u64,
    /// The connected Agent's address, as the running Relay last noted it (with `last_seen`).
    pub agent: Option<String>,
    /// When the oldest queued Event arrived.
    pub oldest_queued: Option<Micros>,
    /// Webhooks the Relay turned away (not stored, or not delivered with `--offline reject`).
    pub refused: u64,
    /// Agent handshakes the Relay turned away (wrong token, Channel taken, ...).
    pub agents_refused: u64,
}

/// What every Channel query selects, for [`row`].
const COLUMNS: &str = "SELECT name, token_sha256, created_at, last_seen, \
     (SELECT count(*) FROM events e WHERE e.channel = c.name AND e.state = 'queued'), \
     agent_max_body, \
     (SELECT count(*) FROM events e WHERE e.channel = c.name AND e.state = 'queued' \
      AND length(e.body) > c.agent_max_body), \
     agent, \
     (SELECT min(received_at) FROM events e WHERE e.channel = c.name AND e.state = 'queued'), \
     refused, agents_refused \
     FROM channels c";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChannelRow> {
    let hash: Vec<u8> = r.get(1)?;
    Ok(ChannelRow {
        name: r.get(0)?,
        token_sha256: hash.try_into().unwrap_or([0; 32]),
        created_at: r.get(2)?,
        last_seen: r.get(3)?,
        queued: r.get::<_, i64>(4)? as u64,
        agent_max_body: r.get::<_, Option<i64>>(5)?.map(|n| n as u64),
        too_large: r.get::<_, i64>(6)? as u64,
        agent: r.get(7)?,
        oldest_queued: r.get(8)?,
        refused: r.get::<_, i64>(9)? as u64,
        agents_refused: r.get::<_, i64>(10)? as u64,
    })
}

/// Opens (creating if needed, folder `0700`, file `0600`) the Relay's database.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    use crate::store::files;
    let hint = "check the path and its permissions, or pick another with --db";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        files::create_parent(path)
            .with_context(|| format!("cannot create the folder {}: {hint}", dir.display()))?;
    }
    // SQLite gives -wal and -shm the mode of the database file, so 0600 here covers all three.
    files::create_db_file(path).with_context(|| {
        format!(
            "cannot create the relay database {}: {hint}",
            path.display()
        )
    })?;
    let setup = || -> rusqlite::Result<Connection> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // As in the Store: the WAL is restarted at 16 MiB, so this cut-back is the rare case.
        conn.pragma_update(None, "journal_size_limit", 32 << 20)?;
        conn.execute_batch(SCHEMA)?;
        Ok(conn)
    };
    let mut conn = setup()
        .with_context(|| format!("cannot open the relay database {}: {hint}", path.display()))?;
    migrate(&mut conn)
        .with_context(|| format!("cannot upgrade the relay database {}", path.display()))?;
    Ok(conn)
}

/// Brings the schema to [`VERSION`], in one transaction (a Relay and a `relay channel` command
/// may open the database at once). A database of a newer hooktap is refused.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        anyhow::bail!(
            "it is at schema version {version}, made by a newer hooktap (this one knows up to {VERSION}): run the newer hooktap"
        );
    }
    if version == VERSION {
        return Ok(());
    }
    // An older hooktap set version 1 on every open, even over a version 2 database: each
    // column is added only if it is missing.
    for (name, definition) in ADDED {
        let has: bool = tx.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('channels') WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        if !has {
            tx.execute_batch(&format!(
                "ALTER TABLE channels ADD COLUMN {name} {definition}"
            ))?;
        }
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

/// A read-only connection for lookups beside the writer (it never takes the write lock).
pub fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot read the relay database {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(1))?;
    Ok(conn)
}

/// One Channel, if it exists.
pub fn channel(conn: &Connection, name: &str) -> anyhow::Result<Option<ChannelRow>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(&format!("{COLUMNS} WHERE name = ?1"))?
        .query_row([name], row)
        .optional()?)
}

/// Every Channel with its counts, by name.
pub fn channels(conn: &Connection) -> anyhow::Result<Vec<ChannelRow>> {
    let mut stmt = conn.prepare_cached(&format!("{COLUMNS} ORDER BY name"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds a Channel; `false` when the name is taken.
pub fn add_channel(conn: &Connection, name: &str, hash: &[u8; 32]) -> anyhow::Result<bool> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO channels (name, token_sha256, created_at) VALUES (?1, ?2, ?3)",
        params![name, &hash[..], now_micros()],
    )?;
    Ok(n == 1)
}

/// Gives a Channel a new token hash (its Events stay); `false` when there is no such Channel.
pub fn rotate_channel(conn: &Connection, name: &str, hash: &[u8; 32]) -> anyhow::Result<bool> {
    let n = conn.execute(
        "UPDATE channels SET token_sha256 = ?2 WHERE name = ?1",
        params![name, &hash[..]],
    )?;
    Ok(n == 1)
}

/// Removes a Channel and every Event it holds; `None` when there is no such Channel, else how
/// many queued Events were dropped.
pub fn remove_channel(conn: &mut Connection, name: &str) -> anyhow::Result<Option<u64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if tx.execute("DELETE FROM channels WHERE name = ?1", [name])? == 0 {
        return Ok(None);
    }
    let queued: i64 = tx.query_row(
        "SELECT count(*) FROM events WHERE channel = ?1 AND state = 'queued'",
        [name],
        |r| r.get(0),
    )?;
    tx.execute("DELETE FROM events WHERE channel = ?1", [name])?;
    tx.commit()?;
    Ok(Some(queued as u64))
}
