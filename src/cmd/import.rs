//! `hooktap import FILE`: add the Events of a HAR file or an NDJSON export to the Store.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use rusqlite::OptionalExtension;
use tokio::task::JoinSet;

use crate::cmd::DbArg;
use crate::config::parse_positive_size;
use crate::import::{self, Imported, Kind, Limits, Seen};
use crate::store::{Durability, Reader, Store};
use crate::text::sanitize;

/// How many Events may wait for the Store's writer at once.
const IN_FLIGHT: usize = 256;

/// Import Events from a HAR file or an NDJSON export (the kind is detected)
///
/// Events keep their bytes, headers, time and uid; ones already in the Store are skipped.
/// A file's signature verdicts are not kept (imported Events are `unchecked`), and its
/// recorded Targets are shown but never used: `replay` of an imported Event needs --to.
/// A record no sender could have sent (a method or header name that is not one, a status
/// outside 100..999, a body over --max-body) is refused with a message; the rest go in.
///
/// Example: hooktap import ayrshare.har
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A HAR file (from hooktap or a browser) or an NDJSON export
    pub file: PathBuf,
    /// Largest request or response body taken from the file (a larger one refuses its record)
    #[arg(long, default_value = "25MiB", value_parser = parse_positive_size)]
    pub max_body: u64,
    #[command(flatten)]
    pub db: DbArg,
}

/// Runs `import`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let path = args.db.path();
    // A current-thread runtime runs spawned inserts in spawn order, so ids follow file order.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = Store::open(&path, Durability::Normal)?;
    let reader = Reader::open(&path)?;
    let writer = store.writer();
    let mut seen = Seen::default();
    let (mut added, mut skipped) = (0u64, 0u64);
    let mut ids: Option<(i64, i64)> = None;
    // Ids in the exporting Store -> ids here, and the edits whose original is to be linked.
    let mut here: HashMap<i64, i64> = HashMap::new();
    let mut edits: Vec<(i64, i64)> = Vec::new();
    let mut already: Vec<(i64, i64)> = Vec::new();
    let mut masked = 0u64;
    let mut refused = 0u64;
    let limits = Limits {
        max_body: args.max_body,
    };
    let mut batch = Vec::with_capacity(IN_FLIGHT);
    // Sends a batch and waits for it: memory stays bounded by IN_FLIGHT Events, and a
    // current-thread runtime runs the spawned inserts in order, so ids follow the file.
    let mut flush = |batch: &mut Vec<Imported>| -> anyhow::Result<()> {
        runtime.block_on(async {
            let mut tasks = JoinSet::new();
            for item in batch.drain(..) {
                let writer = writer.clone();
                let source = item.source;
                tasks.spawn(async move {
                    let id = writer.insert_event(item.event, None).await?.event_id;
                    // Deliveries go in as recorded; the Event's latest one is folded in as usual.
                    for (new, result) in item.deliveries {
                        let kind = new.kind;
                        let d = writer.start_delivery(id, new).await?;
                        writer.finish_delivery(d, id, kind, result).await?;
                    }
                    anyhow::Ok((id, source))
                });
            }
            while let Some(done) = tasks.join_next().await {
                let (id, source) = done.context("an import task stopped")??;
                if let Some((theirs, edited_from)) = source {
                    here.insert(theirs, id);
                    edits.extend(edited_from.map(|from| (id, from)));
                }
                added += 1;
                let (lo, hi) = ids.get_or_insert((id, id));
                *lo = (*lo).min(id);
                *hi = (*hi).max(id);
            }
            Ok(())
        })
    };
    let kind = import::read(&args.file, &limits, |item| {
        let item = match item {
            Ok(item) => item,
            Err(no) => {
                refused += 1;
                // `why` quotes the file's text.
                eprintln!("hooktap: refused {}: {}", no.at, sanitize(&no.why));
                return Ok(());
            }
        };
        let event = &item.event;
        let exists = reader
            .conn()
            .prepare_cached("SELECT 1 FROM events WHERE uid = ?1")?
            .query_row([&event.uid], |_| Ok(()))
            .optional()?
            .is_some();
        if exists || !seen.first(&event.uid) {
            // Already here: an edit imported now may still point at it.
            if let Some((theirs, _)) = item.source {
                let local = reader
                    .conn()
                    .prepare_cached("SELECT id FROM events WHERE uid = ?1")?
                    .query_row([&event.uid], |r| r.get(0))
                    .optional()?;
                already.extend(local.map(|id| (theirs, id)));
            }
            skipped += 1;
            return Ok(());
        }
        if item.masked() {
            masked += 1;
        }
        batch.push(item);
        if batch.len() >= IN_FLIGHT {
            flush(&mut batch)?;
        }
        Ok(())
    });
    let kind = kind.and_then(|k| flush(&mut batch).map(|_| k));
    let kind = kind?;
    // Edits point at their original again, when it came along (or was here already).
    here.extend(already);
    let links: Vec<(i64, i64)> = edits
        .into_iter()
        .filter_map(|(edit, from)| here.get(&from).map(|&original| (edit, original)))
        .collect();
    if !links.is_empty() {
        runtime.block_on(writer.run(move |t| {
            let mut stmt = t.prepare("UPDATE events SET derived_from = ?1 WHERE id = ?2")?;
            for (edit, original) in links {
                stmt.execute([original, edit])?;
            }
            Ok(crate::store::Change::Reload)
        }))?;
    }
    drop(writer);
    store.close();
    let what = match kind {
        Kind::Har => "HAR",
        Kind::Ndjson => "NDJSON",
    };
    let range = match ids {
        Some((lo, hi)) if lo == hi => format!(" as #{lo}"),
        Some((lo, hi)) => format!(" as #{lo}..#{hi}"),
        None => String::new(),
    };
    let mut notes = String::new();
    if skipped > 0 {
        notes.push_str(&format!("; skipped {skipped} already in the Store"));
    }
    if refused > 0 {
        notes.push_str(&format!("; refused {refused} (see the messages above)"));
    }
    println!(
        "imported {added} event(s) from {what} {}{range}{notes}",
        args.file.display(),
    );
    if masked > 0 {
        eprintln!(
            "hooktap: {masked} of them carry header values the export masked ([masked]): a replay \
             sends the masks; export with --include-secrets to keep the originals"
        );
    }
    Ok(())
}
