//! Tests of the text search index: what it holds, its mark, and prune.

use super::*;

#[test]
fn needles_become_anded_trigrams_and_short_ones_none() {
    assert_eq!(match_expr(["ab"]), None);
    assert_eq!(match_expr(["é!"]), None);
    assert_eq!(match_expr(["a\0bc"]), None);
    assert_eq!(match_expr(["abc"]).as_deref(), Some("\"abc\""));
    assert_eq!(
        match_expr(["abcb", "bcb"]).as_deref(),
        Some("\"abc\" AND \"bcb\"")
    );
    assert_eq!(match_expr(["a\"b"]).as_deref(), Some("\"a\"\"b\""));
    assert_eq!(match_expr(["ab", "xyz"]).as_deref(), Some("\"xyz\""));
}

#[test]
fn text_keeps_every_needle_the_matcher_could_find() {
    let text = text_of("/p", Some("q=1"), b"a\0b\xffcd");
    assert_eq!(text, "/p\nq=1\na b\u{fffd}cd");
}

/// A Store with `n` Events whose bodies say `word {i}`, written with plain SQL.
fn store_with(n: i64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    crate::store::Store::open(&path, crate::store::Durability::Normal)
        .unwrap()
        .close();
    let conn = Connection::open(&path).unwrap();
    for i in 1..=n {
        conn.execute(
            "INSERT INTO events (id, uid, received_at, ingress, method, path, body_size, \
             body_sha256, provider, signature) \
             VALUES (?1, ?1, 0, 'local', 'POST', '/p', 0, x'00', 'x', 'unchecked')",
            [i],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO bodies (event_id, headers, body) VALUES (?1, x'', ?2)",
            (i, format!("word {i}").into_bytes()),
        )
        .unwrap();
    }
    (dir, path)
}

#[test]
fn the_background_indexer_catches_up_and_stops_when_dropped() {
    let (_dir, path) = store_with(300);
    let indexer = Indexer::spawn(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while progress(&conn).unwrap() != (300, 300) {
        assert!(Instant::now() < deadline, "{:?}", progress(&conn));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(indexer);
    let found: i64 = conn
        .query_row(
            "SELECT count(*) FROM search WHERE search MATCH '\"ord\"'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 300);
}

#[test]
fn catch_up_indexes_a_small_backlog_only() {
    let (_dir, path) = store_with(200);
    assert!(!catch_up(&path, 199).unwrap(), "too long: left alone");
    let conn = Connection::open(&path).unwrap();
    assert_eq!(progress(&conn).unwrap(), (0, 200));
    assert!(catch_up(&path, 200).unwrap());
    assert_eq!(progress(&conn).unwrap(), (200, 200));
}
