//! How the Store keeps bodies: JSON compressed on disk, always read back byte for byte.

use serde_json::Value;

use crate::support::{event, fill, ids, ok, temp_db};

#[test]
fn json_bodies_are_kept_compressed_and_read_back_exactly() {
    let (_dir, db) = temp_db();
    let posts: Vec<String> = (0..60)
        .map(|i| {
            format!(
                r#"{{"id":"post{i}","platform":"tiktok","status":"success","postUrl":"https://example.com/p/{i}"}}"#
            )
        })
        .collect();
    let body = format!(
        r#"{{"action":"batch","note":"needle-7731","posts":[{}]}}"#,
        posts.join(",")
    );
    let small = br#"{"action":"feed"}"#;
    let got = fill(
        &db,
        vec![
            (
                event("ayrshare", Some("batch"), "/big", body.as_bytes()),
                None,
            ),
            (event("x", None, "/small", small), None),
        ],
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: Vec<(Option<String>, i64, i64)> = conn
        .prepare(
            "SELECT encoding, length(bodies.body), body_size FROM bodies \
             JOIN events ON id = event_id ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows[0].0.as_deref(), Some("lz4"));
    assert!(rows[0].1 * 3 < rows[0].2, "{rows:?}");
    let small_len = small.len() as i64;
    assert_eq!(
        rows[1],
        (None, small_len, small_len),
        "small bodies stay as they are"
    );

    let shown: Value =
        serde_json::from_str(&ok(&db, &["show", &got[0].to_string(), "--json"])).unwrap();
    assert_eq!(shown["body"], body.as_str());
    assert_eq!(shown["body_size"], body.len());
    let found = ok(&db, &["list", "--json", "needle-7731"]);
    assert_eq!(
        ids(&found),
        vec![got[0]],
        "a body search reads compressed bodies"
    );
}
