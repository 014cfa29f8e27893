//! `hooktap prune`: delete old Events (and their Deliveries) by count, age and filter.

use std::time::Duration;

use anyhow::Context;

use crate::cmd::list::parse_filter;
use crate::cmd::{DbArg, UsageError};
use crate::config::{parse_count, parse_duration};
use crate::event::now_micros;
use crate::prune::{self, Rule};
use crate::store::{Durability, Reader, Store};

/// Delete old Events and their Deliveries (freed space is reused)
///
/// With both --keep and --older-than, deletes Events that are old AND beyond the newest N.
/// A filter limits pruning to the Events it matches.
///
/// Examples:
///   hooktap prune --keep 10000
///   hooktap prune --older-than 7d
///   hooktap prune --older-than 1d provider:unknown --dry-run
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("rule").required(true).multiple(true).args(["keep", "older_than"])))]
pub struct Args {
    /// Filter terms limiting what may be deleted
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Keep the newest N (matching) Events
    #[arg(long, value_name = "N", value_parser = parse_count::<u64>)]
    pub keep: Option<u64>,
    /// Delete Events received longer ago than this (e.g. 7d, 12h)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<Duration>,
    /// Say how many would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub db: DbArg,
}

/// Runs `prune`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let filter = parse_filter(&args.filter)?;
    let rule = Rule {
        keep: args.keep,
        before: match args.older_than {
            Some(d) => Some(
                now_micros()
                    .checked_sub(d.as_micros() as i64)
                    .ok_or_else(|| UsageError("--older-than is too large".into()))?,
            ),
            None => None,
        },
    };
    let path = args.db.path();
    let reader = Reader::open(&path)?;
    let mut ids = prune::select(&reader, &filter, &rule)?;
    // Events held for redelivery (`listen --redeliver`) are owed to the app: never pruned.
    let held = prune::held(&reader)?;
    let before = ids.len();
    ids.retain(|id| !held.contains(id));
    if ids.len() < before {
        eprintln!(
            "hooktap: kept {} event(s) held for redelivery to your app (`hooktap list` shows \
             them failed until they get through)",
            before - ids.len()
        );
    }
    if args.dry_run || ids.is_empty() {
        let verb = if args.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        println!("{verb} {} event(s)", ids.len());
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = Store::open(&path, Durability::Normal)?;
    let writer = store.writer();
    let deleted = runtime.block_on(prune::delete(&writer, &ids))?;
    drop(writer);
    store.close();
    println!("deleted {deleted} event(s); their space will be reused");
    Ok(())
}
