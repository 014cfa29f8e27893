//! `hooktap replay ID|FILTER`: send recorded Events again through the forward path, each as a
//! new Delivery of kind `replay`.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cmd::list::parse_filter;
use crate::cmd::show::parse_id;
use crate::cmd::{DbArg, UsageError};
use crate::config::{format_size, parse_duration, parse_positive_duration, parse_positive_size};
use crate::filter::Order;
use crate::forward::{Forwarder, Target};
use crate::replay::schedule::{Pace, Schedule, Shape, Slot};
use crate::replay::{self, Batch, Options};
use crate::store::{Durability, Reader, Store};
use crate::text::sanitize;

mod check;
mod tally;

use tally::{Ended, Tally, signals};

/// Send recorded Events to your app again, as captured or edited
///
/// With ids, replays those Events in the order given; with a filter, every match in arrival
/// order. The Target is --to, else the one the Event's latest answered Delivery went to. A
/// batch can also do what providers do: keep the original gaps (--pace), deliver twice
/// (--repeat), out of order (--shuffle), at once (--concurrency), to test that your app is
/// idempotent and order-proof.
///
/// Examples:
///   hooktap replay 42
///   hooktap replay 42 43 44
///   hooktap replay 42 --to http://localhost:4000 --edit
///   hooktap replay 42 --resign --secret stripe=whsec_...
///   hooktap replay provider:ayrshare status:5xx after:1h --dry-run
///   hooktap replay after:1h --pace 10x
///   hooktap replay type:scheduled --repeat 2 --shuffle --concurrency 4
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Event ids (42 or #42; several in the order given), or filter terms
    #[arg(value_name = "ID|FILTER", required = true)]
    pub what: Vec<String>,
    /// Send to this Target instead of the one that last answered
    #[arg(long, value_name = "URL", value_parser = Target::parse)]
    pub to: Option<Target>,
    /// Edit the raw request in $EDITOR first; the edit is stored as a new Event
    #[arg(long, conflicts_with_all = ["pace", "repeat", "shuffle", "concurrency"])]
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
    /// asap (each as soon as a sender is free), original (the gaps between the Events as they
    /// arrived), or a speed such as 10x (the original gaps, ten times faster)
    #[arg(long, value_name = "PACE", default_value = "asap", value_parser = Pace::parse)]
    pub pace: Pace,
    /// With --pace: the longest wait between two Events, whatever the original gap
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub max_gap: Duration,
    /// Send each Event N times, one right after the other (as a provider's retry would)
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Send the Events in a random order (the seed is printed, to run the same order again)
    #[arg(long)]
    pub shuffle: bool,
    /// The seed for --shuffle: the same seed gives the same order
    #[arg(long, value_name = "N", requires = "shuffle")]
    pub seed: Option<u64>,
    /// Most replays in flight at once
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// How long the app may take to answer
    #[arg(long, default_value = "9s", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Largest response recorded
    #[arg(long, default_value = "25MiB", value_parser = parse_positive_size)]
    pub max_response: u64,
    /// Compare each new answer with the recorded one (status; `--check body`: the body too)
    /// and exit 1 if any changed: the captured history as the app's regression tests
    #[arg(long, value_name = "WHAT", num_args = 0..=1, default_missing_value = "status",
          value_parser = ["status", "body"],
          conflicts_with_all = ["edit", "pace", "repeat", "shuffle", "concurrency", "dry_run"])]
    pub check: Option<String>,
    /// With --check body: leave this field out of both bodies, json:.path (repeatable)
    #[arg(long, value_name = "json:.PATH", requires = "check",
          value_parser = crate::replay::check::Spec::ignore_path)]
    pub ignore: Vec<Vec<crate::filter::JsonStep>>,
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
    // Only ids (`replay 4 5`) name Events; anything else is a filter.
    let named: Option<Vec<i64>> = args.what.iter().map(|w| parse_id(w).ok()).collect();
    let path = args.db.path();
    let reader = Reader::open(&path)?;
    let events = match named {
        Some(ids) => {
            if args.edit && ids.len() > 1 {
                return Err(UsageError("--edit takes one event id".into()).into());
            }
            arrivals(&reader, &ids)?
        }
        None => {
            if args.edit {
                return Err(UsageError("--edit takes one event id, not a filter".into()).into());
            }
            matches(&reader, &args.what)?
        }
    };
    // Without --to, refused before anything is sent or stored (a batch whole).
    if args.to.is_none()
        && let Some(why) = replay::refusal(&reader, events.iter().map(|&(id, _)| id))?
    {
        return Err(UsageError(why).into());
    }
    if let Some(what) = &args.check {
        let spec = crate::replay::check::Spec {
            body: what == "body",
            ignore: args.ignore.clone(),
        };
        return check::run(&args, &reader, &path, &events, spec, options);
    }
    let shape = Shape {
        pace: args.pace,
        max_gap: args.max_gap,
        repeat: args.repeat,
        shuffle: args.shuffle.then(|| args.seed.unwrap_or_else(random_seed)),
    };
    let edit_id = args
        .edit
        .then(|| events.first().map(|(id, _)| *id))
        .flatten();
    let schedule = Schedule::new(events, &shape).map_err(UsageError)?;
    if let Some(seed) = shape.shuffle.filter(|_| args.seed.is_none()) {
        eprintln!("hooktap: shuffled with --seed {seed} (pass it again for the same order)");
    }
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        return dry_run(&reader, &schedule, &shape, &args, &options, &mut out);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = Store::open(&path, Durability::Normal)?;
    let writer = store.writer();
    let forwarder = Forwarder::new(args.timeout, args.max_response as usize);
    let stop = CancellationToken::new();
    let mut tally = Tally::new(schedule.len(), stop.clone());
    let started = std::time::Instant::now();
    let ended = if let Some(id) = edit_id {
        let plan = edit(&runtime, &reader, &writer, &args, &options, id)?;
        let done = runtime.block_on(replay::send(&writer, &forwarder, plan, &options));
        tally.add(&mut out, done);
        Ended::All
    } else {
        let batch = Batch {
            reader: &reader,
            writer: writer.clone(),
            forwarder: std::sync::Arc::new(forwarder),
            to: args.to.clone(),
            options: std::sync::Arc::new(options),
            concurrency: args.concurrency as usize,
        };
        let sends = batch.run(schedule.iter(), &stop, |_, done| tally.add(&mut out, done));
        runtime.block_on(async {
            tokio::select! {
                // First, so the signals are caught before the first send goes.
                biased;
                () = signals(stop.clone()) => Ended::Abandoned,
                all = sends => if all { Ended::All } else { Ended::Stopped },
            }
        })
    };
    // The runtime first: after a second signal it still holds the abandoned sends, and each
    // holds a Writer that `close` would wait for.
    drop(runtime);
    drop(writer);
    store.close();
    tally.finish(ended, started.elapsed())
}

/// `--dry-run`: a line for each send the batch would make, and one on stderr for each it could
/// not (no Target, the Event gone); those make the exit code 1.
fn dry_run(
    reader: &Reader,
    schedule: &Schedule,
    shape: &Shape,
    args: &Args,
    options: &Options,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // What the real run would refuse, the dry run refuses too: no Target, no way to re-sign.
    let check = |plan: replay::Plan| match &options.resign {
        Some(providers) => match providers.resign(&plan.event, chrono::Utc::now().timestamp()) {
            Ok(_) => Ok(plan),
            Err(e) => Err(anyhow::anyhow!(
                "cannot re-sign event #{}: {e}",
                plan.event_id
            )),
        },
        None => Ok(plan),
    };
    let mut unsent = 0;
    // Copies follow their Event: plan once per Event, not once per copy.
    let mut last: Option<(i64, anyhow::Result<replay::Plan>)> = None;
    for slot in schedule.iter() {
        let planned = match last.take() {
            Some((id, planned)) if id == slot.event_id => planned,
            _ => replay::plan(reader, slot.event_id, args.to.as_ref()).and_then(check),
        };
        match &planned {
            Ok(plan) => writeln!(
                out,
                "would send #{} {} {} ({}){}{}",
                slot.event_id,
                sanitize(&plan.event.method),
                sanitize(&plan.url()),
                format_size(plan.event.body.len() as u64),
                if args.resign { ", re-signed" } else { "" },
                when(&slot, shape)
            )?,
            Err(e) if schedule.len() > 1 => {
                unsent += 1;
                eprintln!("hooktap: cannot send: {}", sanitize(&format!("{e:#}")));
            }
            Err(_) => return planned.map(|_| ()),
        }
        last = Some((slot.event_id, planned));
    }
    match unsent {
        0 => Ok(()),
        n => anyhow::bail!(
            "{n} of {} replays could not be sent (see the lines above)",
            schedule.len()
        ),
    }
}

/// The arrival times of the Events `ids` names, in the order given.
fn arrivals(reader: &Reader, ids: &[i64]) -> anyhow::Result<Vec<(i64, crate::event::Micros)>> {
    ids.iter()
        .map(|&id| match reader.summary(id)? {
            Some(s) => Ok((id, s.received_at)),
            None => anyhow::bail!("no event #{id} (`hooktap list` shows the ids)"),
        })
        .collect()
}

/// The ids and arrival times of the Events `what` matches, oldest first.
fn matches(reader: &Reader, what: &[String]) -> anyhow::Result<Vec<(i64, crate::event::Micros)>> {
    let filter = parse_filter(what)?;
    let events = reader.arrivals(&filter, Order::OldestFirst)?;
    if events.is_empty() {
        anyhow::bail!("no events match this filter, so nothing was replayed");
    }
    Ok(events)
}

/// What a dry run adds to a line: when the send would start, and which copy it is.
fn when(slot: &Slot, shape: &Shape) -> String {
    let mut text = String::new();
    if shape.pace != Pace::Asap {
        text.push_str(&format!(" at +{:.3}s", slot.at.as_secs_f64()));
    }
    if shape.repeat > 1 {
        text.push_str(&format!(", copy {} of {}", slot.copy, shape.repeat));
    }
    text
}

/// `--edit`: the Event in $EDITOR, stored as a new Event, planned to go where it would have.
fn edit(
    runtime: &tokio::runtime::Runtime,
    reader: &Reader,
    writer: &crate::store::Writer,
    args: &Args,
    options: &Options,
    id: i64,
) -> anyhow::Result<replay::Plan> {
    let mut plan = replay::plan(reader, id, args.to.as_ref())?;
    let raw = replay::raw_request(&plan.event)?;
    let text = replay::open_in_editor(&raw)?;
    if text == raw {
        eprintln!("hooktap: the request was not changed; replaying it as an edit anyway");
    }
    let edited = replay::parse_raw(&text, &plan.event, id)?;
    let stored = runtime.block_on(replay::store_edit(writer, &edited, &options.redact))?;
    eprintln!("stored the edit as event #{stored} (from #{id})");
    plan.event_id = stored;
    plan.event = edited;
    Ok(plan)
}

/// A seed for `--shuffle` without `--seed`.
fn random_seed() -> u64 {
    (crate::tunnel::backoff::jitter() * (1u64 << 53) as f64) as u64
}
