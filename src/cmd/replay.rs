//! `hooktap replay ID|FILTER`: send recorded Events again through the forward path, each as a
//! new Delivery of kind `replay`.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;

use crate::cmd::list::parse_filter;
use crate::cmd::show::parse_id;
use crate::cmd::{DbArg, UsageError};
use crate::config::{format_size, parse_duration, parse_size};
use crate::filter::{Flow, Order, Page};
use crate::forward::{Forwarder, Target};
use crate::lines::text_line;
use crate::replay::{self, Options};
use crate::store::{Durability, Reader, Store};

/// Send recorded Events to your app again, as captured or edited
///
/// With an id, replays that Event; with a filter, every match in arrival order. The Target is
/// --to, else the one the Event was last delivered to.
///
/// Examples:
///   hooktap replay 42
///   hooktap replay 42 --to http://localhost:4000 --edit
///   hooktap replay 42 --resign --secret stripe=whsec_...
///   hooktap replay provider:ayrshare status:5xx after:1h --dry-run
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// An Event id (42 or #42), or filter terms
    #[arg(value_name = "ID|FILTER", required = true)]
    pub what: Vec<String>,
    /// Send to this Target instead of the one last used
    #[arg(long, value_name = "URL", value_parser = Target::parse)]
    pub to: Option<Target>,
    /// Edit the raw request in $EDITOR first; the edit is stored as a new Event
    #[arg(long)]
    pub edit: bool,
    /// Re-sign with a fresh timestamp and the provider's configured secret (--secret, env
    /// HOOKTAP_SECRET_<PROVIDER> or the config file)
    #[arg(long)]
    pub resign: bool,
    /// A signing secret for --resign, e.g. stripe=whsec_... (repeatable)
    #[arg(long = "secret", value_name = "PROVIDER=SECRET", requires = "resign")]
    pub secrets: Vec<String>,
    /// List what would be sent, send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How long the app may take to answer
    #[arg(long, default_value = "9s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Largest response recorded
    #[arg(long, default_value = "25MiB", value_parser = parse_size)]
    pub max_response: u64,
    #[command(flatten)]
    pub db: DbArg,
}

/// Runs `replay`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let resign = if args.resign {
        let flags = crate::cmd::parse_secrets(&args.secrets)?;
        Some(crate::providers::secrets::load(&flags)?)
    } else {
        None
    };
    let options = Options {
        resign,
        redact: crate::redact::load(&[])?,
    };
    let single = match args.what.as_slice() {
        [one] => parse_id(one).ok(),
        _ => None,
    };
    let path = args.db.path();
    let reader = Reader::open(&path)?;
    let ids = match single {
        Some(id) => vec![id],
        None => {
            if args.edit {
                return Err(UsageError("--edit takes one event id, not a filter".into()).into());
            }
            let filter = parse_filter(&args.what)?;
            let mut ids = Vec::new();
            let all = Page {
                order: Order::OldestFirst,
                ..Page::first(usize::MAX)
            };
            reader.walk(&filter, &all, |s, _| {
                ids.push(s.id);
                Ok(Flow::Continue)
            })?;
            if ids.is_empty() {
                anyhow::bail!("no events match this filter, so nothing was replayed");
            }
            ids
        }
    };
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        for id in ids {
            let plan = replay::plan(&reader, id, args.to.as_ref())?;
            writeln!(
                out,
                "would send #{} {} {} ({})",
                id,
                plan.event.method,
                plan.url(),
                format_size(plan.event.body.len() as u64)
            )?;
        }
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = Store::open(&path, Durability::Normal)?;
    let writer = store.writer();
    let forwarder = Forwarder::new(args.timeout, args.max_response as usize);
    let mut failed = 0;
    let total = ids.len();
    for id in ids {
        let mut plan = replay::plan(&reader, id, args.to.as_ref())?;
        if args.edit {
            let raw = replay::raw_request(&plan.event)?;
            let text = replay::open_in_editor(&raw)?;
            if text == raw {
                eprintln!("hooktap: the request was not changed; replaying it as an edit anyway");
            }
            let edited = replay::parse_raw(&text, &plan.event, id)?;
            let stored = runtime.block_on(replay::store_edit(&writer, &edited, &options.redact))?;
            eprintln!("stored the edit as event #{stored} (from #{id})");
            plan.event_id = stored;
            plan.event = edited;
        }
        let done = runtime.block_on(replay::send(&writer, &forwarder, plan, &options))?;
        writeln!(
            out,
            "{}",
            text_line(&done.summary, done.result.error.as_deref())
        )?;
        if !done.answered() {
            failed += 1;
        }
    }
    drop(writer);
    store.close();
    match (failed, total) {
        (0, _) => Ok(()),
        (1, 1) => anyhow::bail!("the replay failed (recorded as a failed Delivery)"),
        _ => anyhow::bail!("{failed} of {total} replays failed (recorded as failed Deliveries)"),
    }
}
