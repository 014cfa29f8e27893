//! History through the real binary: filters, list, show, replay, export/import, prune,
//! completions, and reading while `listen` writes.

#[path = "history/batch.rs"]
mod batch;
#[path = "history/check.rs"]
mod check;
#[path = "history/hostile.rs"]
mod hostile;
#[path = "history/inputs.rs"]
mod inputs;
#[path = "history/live.rs"]
mod live;
#[path = "history/search.rs"]
mod search;
#[path = "history/stored.rs"]
mod stored;
#[path = "history/support.rs"]
mod support;
#[path = "history/transfer.rs"]
mod transfer;

use std::process::Command;

use serde_json::Value;
use support::{Target, answer, event, fill, hooktap, ids, ok, temp_db};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn list_filters_by_indexed_and_body_terms() {
    let (_dir, db) = temp_db();
    let t = "http://127.0.0.1:9";
    let got = fill(
        &db,
        vec![
            (
                event(
                    "ayrshare",
                    Some("social.unlink"),
                    "/hooks/a",
                    br#"{"platform":"instagram"}"#,
                ),
                Some((t, answer(Some(500), "{}"))),
            ),
            (
                event(
                    "ayrshare",
                    Some("scheduled"),
                    "/hooks/a",
                    br#"{"platform":"facebook"}"#,
                ),
                Some((t, answer(Some(200), "{}"))),
            ),
            (
                event("github", Some("push"), "/gh", br#"{"ref":"main"}"#),
                Some((t, answer(Some(503), "{}"))),
            ),
            (
                event(
                    "ayrshare",
                    Some("social.link"),
                    "/hooks/b",
                    br#"{"platform":"instagram"}"#,
                ),
                Some((t, answer(None, ""))),
            ),
        ],
    );
    let [a, b, c, d] = got[..] else { panic!() };
    assert_eq!(ids(&ok(&db, &["list", "--json"])), vec![d, c, b, a]);
    assert_eq!(
        ids(&ok(&db, &["list", "--json", "--reverse", "-n", "2"])),
        vec![a, b]
    );
    assert_eq!(
        ids(&ok(
            &db,
            &["list", "--json", "provider:ayrshare", "status:5xx"]
        )),
        vec![a]
    );
    assert_eq!(
        ids(&ok(&db, &["list", "--json", "type:social.*"])),
        vec![d, a]
    );
    assert_eq!(
        ids(&ok(&db, &["list", "--json", "outcome:failed"])),
        vec![d]
    );
    assert_eq!(
        ids(&ok(
            &db,
            &[
                "list",
                "--json",
                "json:.platform=instagram",
                "path:/hooks/*"
            ]
        )),
        vec![d, a]
    );
    assert_eq!(
        ids(&ok(
            &db,
            &["list", "--json", "INSTAGRAM", "--", "-status:5xx"]
        )),
        vec![d]
    );
    assert_eq!(
        ids(&ok(&db, &["list", "--json", "header:x-dup=two", "id:2..3"])),
        vec![c, b]
    );
    assert_eq!(ids(&ok(&db, &["list", "--json", "main"])), vec![c]);
    let table = ok(&db, &["list"]);
    assert!(
        table.contains("ayrshare social.unlink") && table.contains("500"),
        "{table}"
    );
    assert!(
        !table.contains('\x1b'),
        "no colour when not a terminal: {table}"
    );
    assert!(ok(&db, &["list", "provider:stripe"]).contains("No events match"));
}

#[test]
fn list_says_the_date_of_older_events_and_keeps_its_columns_in_line() {
    let (_dir, db) = temp_db();
    let mut old = event("ayrshare", Some("comments.commentCreated"), "/old", b"{}");
    old.received_at = 1_735_787_045_000_000; // 2025-01-02
    let mut options = event("unknown", None, "/opt", b"");
    options.method = "OPTIONS".into();
    let t = "http://127.0.0.1:9";
    fill(
        &db,
        vec![
            (old, None),
            (options, None),
            (
                event("github", Some("push"), "/now", b"{}"),
                Some((t, answer(Some(200), "{}"))),
            ),
            (event("github", Some("push"), "/big", b"{}"), None),
        ],
    );
    // A Store that has seen a million Events, the newest cut short by a stop.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         UPDATE events SET id = 1000000, outcome = 'interrupted', status = NULL WHERE id = 4;
         UPDATE bodies SET event_id = 1000000 WHERE event_id = 4;",
    )
    .unwrap();
    drop(conn);
    let out = ok(&db, &["list"]);
    let lines: Vec<&str> = out.lines().collect();
    let col = |line: &str, word: &str| line.find(word).unwrap_or_else(|| panic!("{word}: {out}"));
    let id_end = col(lines[0], "ID") + 2;
    let method_at = col(lines[0], "METHOD");
    let kind_at = col(lines[0], "PROVIDER/TYPE");
    let status_end = col(lines[0], "STATUS") + 6;
    let width = lines[0].chars().count();
    for (line, id, method, status) in [
        (lines[1], "#1000000", "POST", "interrupted"),
        (lines[2], "#3", "POST", "200"),
        (lines[3], "#2", "OPTIONS", "-"),
        (lines[4], "#1", "POST", "-"),
    ] {
        assert_eq!(col(line, id) + id.len(), id_end, "{out}");
        assert_eq!(col(line, method), method_at, "{out}");
        assert_eq!(
            col(line, &format!("{status} ")) + status.len(),
            status_end,
            "{out}"
        );
        assert_eq!(
            line.chars().count(),
            width,
            "DURATION and SIZE in line: {out}"
        );
    }
    assert!(
        lines[4].starts_with("2025-01-0"),
        "the year of an older Event: {out}"
    );
    assert_eq!(
        col(lines[4], "ayrshare comments.commentCreated "),
        kind_at,
        "a long type whole, in its column: {out}"
    );
}

#[test]
fn reading_never_turns_a_file_into_a_store() {
    let (dir, _) = temp_db();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let other = dir.path().join("notes.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (t TEXT)")
        .unwrap();
    for (db, args) in [
        (&empty, vec!["list"]),
        (&other, vec!["list"]),
        (&other, vec!["show", "1"]),
        (&other, vec!["export", "--format", "ndjson"]),
    ] {
        let out = hooktap(db, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("is not a hooktap Store"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "still empty");
    // Made a Store on purpose (listen, import), an empty file becomes private like one.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o644)).unwrap();
    hooktap::store::Store::open(&empty, hooktap::store::Durability::Normal)
        .unwrap()
        .close();
    let mode = std::fs::metadata(&empty).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    ok(&empty, &["list"]);
    let tables: i64 = rusqlite::Connection::open(&other)
        .unwrap()
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1, "nothing added to another program's database");
    // Writing into it is refused too, naming what to do, and leaves its journal mode alone.
    let out = hooktap(&other, &["import", "/dev/null"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a hooktap Store"), "{stderr}");
    assert_eq!(journal_mode(&other), "delete", "not switched to WAL");
}

/// The journal mode written in a database file's header (`delete` unless someone changed it).
fn journal_mode(db: &std::path::Path) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn another_programs_database_is_refused_as_it_was_found_whatever_its_version() {
    use hooktap::store::{Durability, SCHEMA_VERSION, Store};
    let (dir, _) = temp_db();
    for version in [0, 1, 2, SCHEMA_VERSION, SCHEMA_VERSION + 3] {
        let other = dir.path().join(format!("notes-{version}.db"));
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
        conn.pragma_update(None, "user_version", version).unwrap();
        drop(conn);
        let before = std::fs::read(&other).unwrap();
        for args in [vec!["list"], vec!["show", "1"], vec!["import", "/dev/null"]] {
            let out = hooktap(&other, &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "v{version} {args:?}: {stderr}");
            assert!(
                stderr.contains("is not a hooktap Store")
                    && !stderr.contains("no such table")
                    && !stderr.contains("upgrade"),
                "v{version} {args:?}: {stderr}"
            );
        }
        let err = match Store::open(&other, Durability::Normal) {
            Ok(_) => panic!("v{version}: opened another program's database as a Store"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains("is not a hooktap Store"), "v{version}: {err}");
        assert_eq!(
            std::fs::read(&other).unwrap(),
            before,
            "v{version}: byte for byte"
        );
        assert_eq!(journal_mode(&other), "delete", "v{version}");
        assert!(!dir.path().join(format!("notes-{version}.db-wal")).exists());
    }
    // A real Store written by a newer hooktap: that one is ours, and the fix is to upgrade.
    let newer = dir.path().join("newer.db");
    Store::open(&newer, Durability::Normal).unwrap().close();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    for args in [vec!["list"], vec!["import", "/dev/null"]] {
        let out = hooktap(&newer, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("newer than this hooktap understands") && stderr.contains("upgrade"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_bad_filter_names_its_column() {
    let (_dir, db) = temp_db();
    let out = hooktap(&db, &["list", "stauts:5xx"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: unknown field 'stauts' at column 1 (did you mean 'status'?)"
    );
    let out = hooktap(
        &db,
        &["export", "provider:x", "status:abc", "--format", "ndjson"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad status 'abc' at column 12"));
}

#[test]
fn show_handles_unknown_ids_bodies_and_headers() {
    let (_dir, db) = temp_db();
    let out = hooktap(&db, &["show", "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Store at"));
    hooktap::store::Store::open(&db, hooktap::store::Durability::Normal)
        .unwrap()
        .close();
    let out = hooktap(&db, &["show", "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: no event #999 (`hooktap list` shows the ids)"
    );
    let body = b"{\"a\":{\"b\":[1,2]},\"z\":0}";
    let binary = [0u8, 159, 146, 150, b'x'];
    let got = fill(
        &db,
        vec![
            (
                event("ayrshare", None, "/a", body),
                Some(("http://127.0.0.1:9", answer(Some(200), "{}"))),
            ),
            (event("unknown", None, "/bin", &binary), None),
        ],
    );
    let raw = hooktap(&db, &["show", &got[0].to_string(), "--body"]);
    assert_eq!(raw.stdout, body);
    let text = ok(&db, &["show", &format!("#{}", got[0])]);
    assert!(text.contains("  {\n    \"a\": {\n      \"b\": ["), "{text}");
    assert!(
        text.contains("Delivery #1 original -> http://127.0.0.1:9/a"),
        "{text}"
    );
    let headers = ok(&db, &["show", &got[0].to_string(), "--headers"]);
    assert!(headers.contains("X-Dup: one\nX-Dup: two\n"), "{headers}");
    let text = ok(&db, &["show", &got[1].to_string()]);
    assert!(text.contains("00000000  00 9f 92 96 78"), "{text}");
    let full = json(&ok(&db, &["show", &got[1].to_string(), "--json"]));
    assert_eq!(full["body_base64"], "AJ+Slng=");
}

#[test]
fn replay_goes_to_the_last_target_and_records_a_delivery() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let body = br#"{"action":"social","fail":1}"#;
    let got = fill(
        &db,
        vec![(
            event("ayrshare", None, "/hooks/a", body),
            Some((&target.url, answer(Some(500), r#"{"error":"boom"}"#))),
        )],
    );
    let id = got[0].to_string();
    let line = ok(&db, &["replay", &id]);
    assert!(
        line.contains("500") && line.contains(&format!("#{id}")),
        "{line}"
    );
    let seen = target.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/hooks/a");
    assert_eq!(&seen[0].body[..], body);
    let dups: Vec<_> = seen[0]
        .headers
        .iter()
        .filter(|(n, _)| n == "x-dup")
        .collect();
    assert_eq!(dups.len(), 2, "repeated headers kept");
    let rec = json(&ok(&db, &["show", &id, "--json"]));
    assert_eq!(rec["deliveries"].as_array().unwrap().len(), 2);
    assert_eq!(rec["deliveries"][1]["kind"], "replay");
    assert_eq!(
        rec["deliveries"][1]["target"],
        format!("{}/hooks/a", target.url)
    );
    assert_eq!(ids(&ok(&db, &["list", "--json", "replayed"])), vec![got[0]]);
    let diff = ok(&db, &["show", &id, "--diff"]);
    assert!(diff.contains("status: 500 (same)"), "{diff}");
    assert!(
        diff.contains("-  \"error\": \"boom\"\n+  \"n\": 1,\n+  \"ok\": false\n"),
        "{diff}"
    );

    // A Target that is down: a failed Delivery is recorded and said; the Event is untouched.
    let out = hooktap(&db, &["replay", &id, "--to", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("connection refused"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the replay failed"));
    let rec = json(&ok(&db, &["show", &id, "--json"]));
    assert_eq!(rec["deliveries"][2]["outcome"], "failed");
    assert_eq!(rec["body"], std::str::from_utf8(body).unwrap());
    assert_eq!(hooktap(&db, &["show", &id, "--body"]).stdout, body);
    // That mistyped --to failed, so it does not become where the next replay goes.
    ok(&db, &["replay", &id]);
    assert_eq!(
        target.requests().len(),
        2,
        "back to the Target that answered"
    );

    let out = hooktap(&db, &["replay", "999"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: no event #999 (`hooktap list` shows the ids)"
    );
    // This Event is from no known provider: there is nothing to re-sign it with.
    let out = hooktap(&db, &["replay", &id, "--resign"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot re-sign event"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn replay_by_filter_goes_in_arrival_order_and_dry_run_sends_nothing() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let t = target.url.as_str();
    let got = fill(
        &db,
        vec![
            (
                event("ayrshare", None, "/one", b"1"),
                Some((t, answer(Some(500), ""))),
            ),
            (
                event("github", None, "/two", b"2"),
                Some((t, answer(Some(500), ""))),
            ),
            (
                event("ayrshare", None, "/three", b"3"),
                Some((t, answer(Some(500), ""))),
            ),
        ],
    );
    let dry = ok(&db, &["replay", "provider:ayrshare", "--dry-run"]);
    assert_eq!(dry.lines().count(), 2, "{dry}");
    assert!(target.requests().is_empty());
    let out = ok(&db, &["replay", "provider:ayrshare"]);
    assert_eq!(out.lines().count(), 2);
    let paths: Vec<String> = target.requests().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, vec!["/one", "/three"]);
    assert_eq!(
        ids(&ok(&db, &["list", "--json", "replayed"])),
        vec![got[2], got[0]]
    );
}

#[test]
fn replay_edit_stores_a_new_event_and_sends_it() {
    let (dir, db) = temp_db();
    let target = Target::start();
    let got = fill(
        &db,
        vec![(
            event("ayrshare", None, "/hooks/a", br#"{"n":"old"}"#),
            Some((&target.url, answer(Some(200), ""))),
        )],
    );
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/old/new/; s/X-Dup: two/X-Dup: 2/' \"$1\"\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hooktap"))
        .args(["replay", &got[0].to_string(), "--edit"])
        .env("HOOKTAP_DB", &db)
        .env("EDITOR", &editor)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = target.requests();
    assert_eq!(&seen[0].body[..], br#"{"n":"new"}"#);
    let rows = ids(&ok(&db, &["list", "--json"]));
    assert_eq!(rows.len(), 2);
    let edited = json(&ok(&db, &["show", &rows[0].to_string(), "--json"]));
    assert_eq!(edited["ingress"], "edit");
    assert_eq!(edited["derived_from"], got[0]);
    assert_eq!(edited["deliveries"][0]["kind"], "replay");
    let original = json(&ok(&db, &["show", &got[0].to_string(), "--json"]));
    assert_eq!(
        original["body"], r#"{"n":"old"}"#,
        "the original stays untouched"
    );
}

#[test]
fn prune_by_count_age_and_filter() {
    let (_dir, db) = temp_db();
    let mut items = Vec::new();
    for i in 0..10 {
        let mut e = event(
            if i % 2 == 0 { "ayrshare" } else { "github" },
            None,
            "/p",
            b"{}",
        );
        e.received_at -= (10 - i) * 86_400_000_000; // one a day, the oldest 10 days ago
        items.push((e, None));
    }
    let got = fill(&db, items);
    assert_eq!(
        ok(&db, &["prune", "--keep", "3", "--dry-run"]).trim(),
        "would delete 7 event(s)"
    );
    assert_eq!(ids(&ok(&db, &["list", "--json"])).len(), 10);
    ok(&db, &["prune", "--older-than", "8d", "provider:github"]);
    assert!(!ids(&ok(&db, &["list", "--json"])).contains(&got[1]));
    assert!(ids(&ok(&db, &["list", "--json"])).contains(&got[0]));
    assert!(ok(&db, &["prune", "--keep", "3"]).contains("deleted 6 event(s)"));
    assert_eq!(
        ids(&ok(&db, &["list", "--json"])),
        vec![got[9], got[8], got[7]]
    );
    let out = hooktap(&db, &["prune"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_and_help_with_examples() {
    let (_dir, db) = temp_db();
    for shell in ["bash", "zsh", "fish"] {
        assert!(ok(&db, &["completions", shell]).contains("hooktap"));
    }
    for cmd in [
        "list",
        "show",
        "replay",
        "export",
        "import",
        "prune",
        "completions",
    ] {
        let help = ok(&db, &[cmd, "--help"]);
        assert!(
            help.contains("Example"),
            "{cmd} --help has an example: {help}"
        );
    }
}

#[test]
fn reader_pages_by_id_and_scans_past_a_batch_for_body_terms() {
    use hooktap::filter::{self, Order, Page};
    use hooktap::store::Reader;
    let (_dir, db) = temp_db();
    let items = (0..700)
        .map(|i| {
            let body = if i % 100 == 0 {
                format!("needle {i}")
            } else {
                format!("hay {i}")
            };
            (event("x", None, "/p", body.as_bytes()), None)
        })
        .collect();
    let got = fill(&db, items);
    let reader = Reader::open(&db).unwrap();
    let all = filter::parse("").unwrap();
    let page = reader.list(&all, &Page::first(3)).unwrap();
    let first: Vec<i64> = page.iter().map(|s| s.id).collect();
    assert_eq!(first, vec![got[699], got[698], got[697]]);
    let older = Page {
        before: Some(got[697]),
        ..Page::first(2)
    };
    let next: Vec<i64> = reader
        .list(&all, &older)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(next, vec![got[696], got[695]]);
    let newer = Page {
        after: Some(got[695]),
        order: Order::OldestFirst,
        ..Page::first(2)
    };
    let back: Vec<i64> = reader
        .list(&all, &newer)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(back, vec![got[696], got[697]]);
    // Matches are 300+ rows apart: the scan crosses batches until the page is full.
    let needle = filter::parse("needle").unwrap();
    let found: Vec<i64> = reader
        .list(&needle, &Page::first(5))
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        found,
        vec![got[600], got[500], got[400], got[300], got[200]]
    );
    let rest = Page {
        before: Some(got[200]),
        ..Page::first(5)
    };
    let found: Vec<i64> = reader
        .list(&needle, &rest)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(found, vec![got[100], got[0]]);
    assert_eq!(reader.ids(&needle, Order::OldestFirst).unwrap().len(), 7);
    assert_eq!(
        reader
            .count_indexed(&filter::parse("id:10..19").unwrap())
            .unwrap(),
        10
    );
}
