//! The Store's tables and indexes, and the migrations that build them (by `PRAGMA user_version`).

use rusqlite::{Connection, TransactionBehavior};

/// Each entry moves the schema from version `i` to `i + 1`. Append only: never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    // 1: Events with their latest Delivery folded in (so lists and filters never join), their
    // headers and bodies in a table of their own (written once; the narrow events rows are what
    // lists scan and what each Delivery updates), and Deliveries.
    "CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        received_at INTEGER NOT NULL,
        ingress TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        query TEXT,
        remote_addr TEXT,
        body_size INTEGER NOT NULL,
        body_sha256 BLOB NOT NULL,
        provider TEXT NOT NULL,
        event_type TEXT,
        provider_event_id TEXT,
        summary TEXT,
        signature TEXT NOT NULL,
        signature_detail TEXT,
        derived_from INTEGER,
        duplicate_of INTEGER,
        deliveries INTEGER NOT NULL DEFAULT 0,
        status INTEGER,
        outcome TEXT,
        duration_us INTEGER,
        replayed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE bodies (
        event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
        headers BLOB NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX events_provider_event_id ON events(provider_event_id, provider)
        WHERE provider_event_id IS NOT NULL;
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        duration_us INTEGER,
        outcome TEXT NOT NULL,
        status INTEGER,
        error TEXT,
        headers BLOB NOT NULL DEFAULT x'',
        body BLOB NOT NULL DEFAULT x''
    );
    CREATE INDEX deliveries_event ON deliveries(event_id);",
    // 2: Payload drift. One row per distinct JSON shape of a provider event type (key paths and
    // kinds as text, hashed), and a note on each Event whose shape was new and differed.
    "CREATE TABLE shapes (
        provider TEXT NOT NULL,
        event_type TEXT NOT NULL,
        hash BLOB NOT NULL,
        paths TEXT NOT NULL,
        first_event_id INTEGER NOT NULL,
        PRIMARY KEY (provider, event_type, hash)
    ) WITHOUT ROWID;
    CREATE TABLE drift (
        event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
        note TEXT NOT NULL
    );",
    // 3: A narrow copy of every filterable column, in id order, so a filtered page is a short
    // dense walk from the newest id (no bodies read, no sort), whatever the terms combine.
    "CREATE INDEX events_scan ON events(id, received_at, provider, event_type, status, outcome,
        signature, replayed, method, path);",
    // 4: Bodies (requests and answers) compressed when that pays (see `store::body`): NULL for
    // the bytes as received, 'lz4' for an LZ4 block after its length.
    "ALTER TABLE bodies ADD COLUMN encoding TEXT;
    ALTER TABLE deliveries ADD COLUMN encoding TEXT;",
    // 5: `listen --redeliver`: since when an Event whose Delivery missed the app is held for
    // another try (NULL: not held). The partial index holds only the held few.
    "ALTER TABLE events ADD COLUMN held_since INTEGER;
    CREATE INDEX events_held ON events(id) WHERE held_since IS NOT NULL;",
    // 6: Text search (see `store::search`): a trigram index of what a bare word searches (path,
    // query and body as received), contentless (the text is not kept twice) and
    // contentless-delete (prune removes rows), with `detail=none`: only which Events hold a
    // trigram, not where (280 MiB for a million 2 KB bodies; the matcher checks every candidate
    // anyway).
    // `indexed_to` is the highest Event id indexed: every Event at or below it is in the
    // index, the rest is searched by the scan. Deleting an indexed Event removes its row and
    // keeps the mark at or below the highest id left, so an id SQLite hands out again after
    // the newest Events were pruned is never taken as indexed.
    "CREATE VIRTUAL TABLE search USING fts5(text, content = '', contentless_delete = 1,
        tokenize = 'trigram case_sensitive 0', detail = none);
    CREATE TABLE search_state (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        indexed_to INTEGER NOT NULL
    );
    INSERT INTO search_state VALUES (1, 0);
    CREATE TRIGGER search_forget AFTER DELETE ON events
    WHEN old.id <= (SELECT indexed_to FROM search_state)
    BEGIN
        DELETE FROM search WHERE rowid = old.id;
        UPDATE search_state SET indexed_to = (SELECT coalesce(max(id), 0) FROM events)
            WHERE indexed_to > (SELECT coalesce(max(id), 0) FROM events);
    END;",
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the Store up to [`VERSION`]. Safe to run from several processes at once: it takes the
/// write lock first, then re-reads the version.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > VERSION {
        anyhow::bail!(
            "the Store has schema version {current}, newer than this hooktap understands \
             ({VERSION}); upgrade hooktap"
        );
    }
    // Checked again under the write lock (`connect` asked first, before any write): adding a
    // Store's tables to somebody else's database would be a bad surprise.
    if super::identify::identify(&tx)? == super::identify::Found::Foreign {
        anyhow::bail!(
            "this SQLite database is not a hooktap Store (it holds other tables); \
             pick another file with --db"
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    Ok(tx.commit()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Page;

    #[test]
    fn another_programs_database_is_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE notes (t TEXT)").unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("not a hooktap Store"), "{err}");
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 1, "nothing was added");
    }

    #[test]
    fn migrates_an_empty_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
    }

    #[test]
    fn bodies_stored_before_compression_read_back_after_migrating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        let body = "{\"action\":\"feed\"}".repeat(40);
        conn.execute(
            "INSERT INTO events (id, uid, received_at, ingress, method, path, body_size, \
             body_sha256, provider, signature) \
             VALUES (1, 'u1', 0, 'local', 'POST', '/', ?1, x'00', 'x', 'unchecked')",
            [body.len() as i64],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO bodies (event_id, headers, body) VALUES (1, x'', ?1)",
            [body.as_bytes()],
        )
        .unwrap();
        drop(conn);

        let reader = crate::store::Reader::open(&path).unwrap();
        let (_, event) = reader.event(1).unwrap().unwrap();
        assert_eq!(event.body, body.as_bytes());
        // Migration 6: the text search index, filled by the first search.
        let found = reader
            .list(&crate::filter::parse("FEED").unwrap(), &Page::first(5))
            .unwrap();
        assert_eq!(found.len(), 1);
        let mark = super::super::search::indexed_to(reader.conn()).unwrap();
        assert_eq!(mark, 1, "indexed");
        let version: i64 = reader
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("upgrade hooktap"), "{err}");
    }
}
