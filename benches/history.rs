//! Measures the history queries on a Store (make one with the `gen_store` example): `list`
//! first page, a filtered list, a text search, `show`, and an NDJSON export streamed to nowhere,
//! with the peak memory of this process.
//!
//! Usage: cargo bench --bench history -- PATH

use std::time::Instant;

use anyhow::Context;
use hooktap::export::{self, Format, Options};
use hooktap::filter::{self, Page};
use hooktap::record;
use hooktap::store::Reader;

#[path = "support/median.rs"]
mod median;
use median::median;

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`: the first other argument is the Store.
    let Some(path) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        println!(
            "history: skipped; give it a Store: cargo bench --bench history -- PATH \
             (cargo run --release --example gen_store -- PATH makes one)"
        );
        return Ok(());
    };
    let reader = Reader::open(path.as_ref())?;
    println!("events: {}", reader.count()?);
    let cases = [
        "",
        "provider:ayrshare status:5xx",
        "provider:github type:pull_request.*",
        "outcome:timeout",
        "status:404 after:7d",
        "json:.platform=tiktok provider:stripe",
        "locked instagram",
        "provider:slack status:404",
        "method:GET",
    ];
    for text in cases {
        let f = filter::parse(text)?;
        let (t, n) = median(7, || Ok(reader.list(&f, &Page::first(50))?.len()))?;
        println!(
            "list {text:<42} {:>8.2} ms  ({n} rows)",
            t.as_secs_f64() * 1e3
        );
    }
    let newest = reader.list(&filter::Filter::all(), &Page::first(1))?[0].id;
    let (t, _) = median(7, || {
        let (s, e) = reader.event(newest / 2)?.context("event")?;
        let d = reader.deliveries(newest / 2)?;
        Ok(record::event_json(&s, &e, &d).to_string().len())
    })?;
    println!(
        "show (one event, full record)                  {:>8.2} ms",
        t.as_secs_f64() * 1e3
    );
    let before = peak_mib();
    let t = Instant::now();
    let f = filter::parse("provider:ayrshare")?;
    let n = export::export(
        &reader,
        &f,
        Format::Ndjson,
        &Options::default(),
        &mut std::io::sink(),
    )?;
    println!(
        "export ndjson provider:ayrshare: {n} events in {:.1} s; peak memory {:.1} MiB (before {:.1} MiB)",
        t.elapsed().as_secs_f64(),
        peak_mib(),
        before
    );
    Ok(())
}
