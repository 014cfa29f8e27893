//! Whose database a file is (an empty file, a hooktap Store, another program's), told apart
//! with reads only, so a file that is not ours is refused exactly as it was found.

use rusqlite::Connection;

/// What a database file holds, as read (never written) by [`identify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// No tables and `user_version` 0: a new file, free to become a Store.
    Empty,
    /// A hooktap Store at this schema version (maybe older or newer than this build's).
    Store(i64),
    /// Anything else: another program's database, whatever its `user_version`.
    Foreign,
}

/// Tells an empty file, a Store and another program's database apart, with reads only. Many
/// programs set `user_version`, so a Store is a version above 0 *and* an `events` table.
pub(super) fn identify(conn: &Connection) -> rusqlite::Result<Found> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let (objects, events): (i64, bool) = conn.query_row(
        "SELECT count(*), coalesce(sum(type = 'table' AND name = 'events'), 0) > 0 \
         FROM sqlite_master",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(match (version, objects, events) {
        (0, 0, _) => Found::Empty,
        (v, _, true) if v > 0 => Found::Store(v),
        _ => Found::Foreign,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(sql: &str, version: i64) -> Found {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        conn.pragma_update(None, "user_version", version).unwrap();
        identify(&conn).unwrap()
    }

    #[test]
    fn a_store_needs_a_version_and_an_events_table() {
        assert_eq!(found("", 0), Found::Empty);
        assert_eq!(
            found("CREATE TABLE events (id INTEGER)", 4),
            Found::Store(4)
        );
        assert_eq!(
            found("CREATE TABLE events (id INTEGER)", 7),
            Found::Store(7)
        );
        // Other programs' databases, whatever their user_version.
        for version in [0, 1, 4, 7] {
            assert_eq!(
                found("CREATE TABLE notes (t TEXT)", version),
                Found::Foreign
            );
        }
        assert_eq!(found("", 3), Found::Foreign, "a version and no tables");
        assert_eq!(found("CREATE TABLE events (id INTEGER)", 0), Found::Foreign);
        assert_eq!(found("CREATE VIEW events AS SELECT 1", 4), Found::Foreign);
    }
}
