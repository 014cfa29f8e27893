//! Measures text search on a Store (make one with the `gen_store` example): builds the text
//! search index if the Store has none yet (time, cost per Event, size beside the Store's), then
//! times a word that matches nothing and a word that matches about 1 % (first page of 50),
//! through the index and by the scan, in the same run.
//!
//! Usage: cargo bench --bench search -- PATH

use std::time::Instant;

use hooktap::filter::{self, Flow, Page};
use hooktap::store::{Reader, search};

#[path = "support/median.rs"]
mod median;
use median::median;

/// The bytes the Store's pages take, and those of the text search index's tables.
fn sizes(reader: &Reader) -> anyhow::Result<(u64, u64)> {
    let conn = reader.conn();
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let index: i64 = conn
        .query_row(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'search%'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(-1);
    Ok((((pages - free) * page) as u64, index.max(0) as u64))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn main() -> anyhow::Result<()> {
    let Some(path) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        println!(
            "search: skipped; give it a Store: cargo bench --bench search -- PATH \
             (cargo run --release --example gen_store -- PATH makes one)"
        );
        return Ok(());
    };
    let path = std::path::Path::new(&path);
    let mut reader = Reader::open(path)?;
    let (mark, max) = search::progress(reader.conn())?;
    println!(
        "events: {}, indexed up to #{mark} of #{max}",
        reader.count()?
    );
    if mark < max {
        let (before, _) = sizes(&reader)?;
        let started = Instant::now();
        // The background indexer's batches, back to back (it pauses between them).
        search::catch_up(path, i64::MAX)?;
        let took = started.elapsed();
        let (after, _) = sizes(&reader)?;
        println!(
            "index build: {} Events in {:.1} s, {:.1} us/Event; Store {:.0} MiB before, \
             {:.0} MiB after",
            max - mark,
            took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / (max - mark) as f64,
            mib(before),
            mib(after)
        );
    }
    let (used, index) = sizes(&reader)?;
    println!(
        "sizes: Store {:.0} MiB in use, of which the text search index {:.0} MiB ({:.0} %)",
        mib(used),
        mib(index),
        100.0 * index as f64 / (used - index).max(1) as f64
    );
    // The search itself indexes nothing more: what is timed is the query.
    reader.set_search_catch_up(0);
    for word in ["zzzznotthere", "app_mention", "instagram"] {
        let f = filter::parse(word)?;
        let (t, n) = median(7, || Ok(reader.list(&f, &Page::first(50))?.len()))?;
        let scan = |runs| {
            median(runs, || {
                let mut n = 0;
                reader.walk_scan(&f, &Page::first(50), |_, _| {
                    n += 1;
                    Ok(if n >= 50 { Flow::Stop } else { Flow::Continue })
                })?;
                Ok(n)
            })
        };
        // The scan of a word that matches nothing reads every body: once is enough.
        let (s, _) = scan(if n < 50 { 1 } else { 7 })?;
        println!(
            "search {word:<14} first page: index {:>8.2} ms, scan {:>9.2} ms  ({n} rows)",
            t.as_secs_f64() * 1e3,
            s.as_secs_f64() * 1e3
        );
    }
    let f = filter::parse("app_mention")?;
    let (t, n) = median(3, || Ok(reader.ids(&f, filter::Order::NewestFirst)?.len()))?;
    println!(
        "search app_mention, every match: index {:>8.2} ms ({n} Events)",
        t.as_secs_f64() * 1e3
    );
    Ok(())
}
