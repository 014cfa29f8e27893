//! The Relay's database (SQLite, WAL, `synchronous=FULL`): its schema, opening it, and the
//! Channel table, which `hooktap relay channel ...` changes from another process while the
//! Relay runs.

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
    CREATE INDEX IF NOT EXISTS events_done ON events(done_at) WHERE state != 'queued';
    PRAGMA user_version = 1;";

/// A Channel as `relay channel list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRow {
    pub name: String,
    pub token_sha256: [u8; 32],
    pub created_at: Micros,
    pub last_seen: Option<Micros>,
    pub queued: u64,
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
    setup().with_context(|| format!("cannot open the relay database {}: {hint}", path.display()))
}

/// A read-only connection for lookups beside the writer (it never takes the write lock).
pub fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot read the relay database {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(1))?;
    Ok(conn)
}

/// One Channel's token hash and queued count, if it exists.
pub fn channel(conn: &Connection, name: &str) -> anyhow::Result<Option<([u8; 32], u64)>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(
            "SELECT token_sha256, (SELECT count(*) FROM events e \
             WHERE e.channel = c.name AND e.state = 'queued') FROM channels c WHERE name = ?1",
        )?
        .query_row([name], |r| {
            let hash: Vec<u8> = r.get(0)?;
            Ok((
                hash.try_into().unwrap_or([0; 32]),
                r.get::<_, i64>(1)? as u64,
            ))
        })
        .optional()?)
}

/// Every Channel with its queued count, by name.
pub fn channels(conn: &Connection) -> anyhow::Result<Vec<ChannelRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, token_sha256, created_at, last_seen, \
         (SELECT count(*) FROM events e WHERE e.channel = c.name AND e.state = 'queued') \
         FROM channels c ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        let hash: Vec<u8> = r.get(1)?;
        Ok(ChannelRow {
            name: r.get(0)?,
            token_sha256: hash.try_into().unwrap_or([0; 32]),
            created_at: r.get(2)?,
            last_seen: r.get(3)?,
            queued: r.get::<_, i64>(4)? as u64,
        })
    })?;
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
