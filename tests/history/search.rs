//! Text search through the index (`store::search`) finds exactly the Events the scan finds:
//! random Stores (non-ASCII, invalid UTF-8, NUL, LZ4-packed bodies) and random needles (pieces
//! of the bodies with their ASCII case changed), with the index whole and partial; prune takes
//! rows out of the index.

use hooktap::event::Event;
use hooktap::filter::{Filter, Flow, Order, Page, Test};
use hooktap::store::{EventSummary, Reader};
use proptest::prelude::*;

use super::support::{event, fill, ok, temp_db};

/// Pieces bodies are made of: ASCII in both cases, characters whose Unicode case folding
/// differs from ASCII's (Kelvin sign, dotted I, sharp s, accented letters), NUL, quotes and
/// bytes that are not UTF-8.
const PIECES: &[&[u8]] = &[
    b"abc",
    b"ABC",
    b"aBc",
    b"xyz",
    b"Xy",
    b" ",
    b"\"",
    b"'",
    b"\0",
    b"*",
    b"-",
    "Stra\u{df}e".as_bytes(),
    "\u{c9}t\u{e9}".as_bytes(),
    "\u{e9}T\u{c9}".as_bytes(),
    "\u{212a}elvin".as_bytes(),
    b"kelvin",
    "\u{130}i".as_bytes(),
    "\u{20ac}".as_bytes(),
    b"\xff",
    b"\xe2\x82",
    b"\xc3",
];

fn ids(reader: &Reader, filter: &Filter, order: Order, scan: bool) -> Vec<i64> {
    let mut out = Vec::new();
    let page = Page {
        order,
        ..Page::first(usize::MAX)
    };
    let visit = |s: EventSummary, _: Event| {
        out.push(s.id);
        Ok(Flow::Continue)
    };
    if scan {
        reader.walk_scan(filter, &page, visit).unwrap();
    } else {
        reader.walk(filter, &page, visit).unwrap();
    }
    out
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(0..PIECES.len(), 0..24),
        prop_oneof![3 => Just(1usize), 1 => Just(40usize)],
    )
        .prop_map(|(pieces, repeat)| {
            let one: Vec<u8> = pieces.iter().flat_map(|i| PIECES[*i].to_vec()).collect();
            one.repeat(repeat)
        })
}

/// A needle: a piece of some body (by characters, its ASCII case flipped here and there), or
/// pieces glued together.
fn needle(bodies: &[Vec<u8>], pick: usize, start: usize, len: usize, flips: u64) -> String {
    let text = String::from_utf8_lossy(&bodies[pick % bodies.len()]).into_owned();
    let chars: Vec<char> = text.chars().collect();
    let start = start % chars.len().max(1);
    let piece: String = chars.iter().skip(start).take(len).collect();
    piece
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if flips >> (i % 64) & 1 == 1 {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

fn store_of(db: &std::path::Path, bodies: &[Vec<u8>]) -> Vec<i64> {
    let items = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut e = event("x", None, if i % 3 == 0 { "/Hooks/ABC" } else { "/p" }, b);
            if i % 4 == 1 {
                e.query = Some("q=Xyz".into());
            }
            (e, None)
        })
        .collect();
    fill(db, items)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_index_finds_what_the_scan_finds(
        bodies in prop::collection::vec(body(), 1..24),
        later in prop::collection::vec(body(), 0..8),
        asks in prop::collection::vec((any::<usize>(), any::<usize>(), 1usize..9, any::<u64>()), 6),
        glued in prop::collection::vec(prop::collection::vec(0..PIECES.len(), 1..4), 3),
    ) {
        let (_dir, db) = temp_db();
        store_of(&db, &bodies);
        let mut needles: Vec<String> = asks
            .iter()
            .map(|(pick, start, len, flips)| needle(&bodies, *pick, *start, *len, *flips))
            .collect();
        needles.extend(glued.iter().map(|p| {
            String::from_utf8_lossy(&p.iter().flat_map(|i| PIECES[*i].to_vec()).collect::<Vec<_>>())
                .into_owned()
        }));
        let filters: Vec<Filter> = needles
            .iter()
            .map(|n| Filter::all().and(Test::Text(n.clone())))
            .chain([Filter::all()
                .and(Test::Text(needles[0].clone()))
                .and(Test::Text(needles[1].clone()))])
            .collect();
        let check = |reader: &Reader, what: &str| {
            for f in &filters {
                for order in [Order::NewestFirst, Order::OldestFirst] {
                    let want = ids(reader, f, order, true);
                    let got = ids(reader, f, order, false);
                    assert_eq!(got, want, "{what}: {f:?} {order:?}");
                }
            }
        };
        // Whole: the first search indexes the Store, then answers from the index.
        let reader = Reader::open(&db).unwrap();
        check(&reader, "whole");
        let (mark, max) = hooktap::store::search::progress(reader.conn()).unwrap();
        prop_assert_eq!(mark, max);
        // Partial: Events added since are scanned, the rest comes from the index.
        if !later.is_empty() {
            store_of(&db, &later);
            let mut reader = Reader::open(&db).unwrap();
            reader.set_search_catch_up(0);
            check(&reader, "partial");
        }
    }
}

#[test]
fn prune_takes_rows_out_of_the_index_and_new_events_are_found() {
    let (_dir, db) = temp_db();
    let bodies: Vec<Vec<u8>> = (0..6).map(|i| format!("needle {i}").into_bytes()).collect();
    let got = store_of(&db, &bodies);
    // `list` with a word indexes the Store first.
    assert_eq!(ok(&db, &["list", "--json", "needle"]).lines().count(), 6);
    let in_index = || -> Vec<i64> {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn
            .prepare("SELECT rowid FROM search WHERE search MATCH '\"eed\"' ORDER BY rowid")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(in_index(), got);
    ok(&db, &["prune", "--keep", "2"]);
    assert_eq!(in_index(), got[4..].to_vec());
    // The newest Event deleted: its id may be handed out again, and must not count as indexed.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("DELETE FROM events WHERE id = ?1", [got[5]])
        .unwrap();
    let mark: i64 = conn
        .query_row("SELECT indexed_to FROM search_state", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mark, got[4]);
    drop(conn);
    let again = store_of(&db, &[b"needle again".to_vec()]);
    let mut reader = Reader::open(&db).unwrap();
    reader.set_search_catch_up(0);
    let f = Filter::all().and(Test::Text("NEEDLE".into()));
    assert_eq!(
        ids(&reader, &f, Order::NewestFirst, false),
        vec![again[0], got[4]]
    );
}
