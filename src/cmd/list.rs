//! `hooktap list`: the Events that match a filter, as a table for people or as JSON lines.

use std::io::Write;

use crate::cmd::{DbArg, UsageError};
use crate::config::format_size;
use crate::filter::{self, Filter, Order, Page};
use crate::store::{EventSummary, Reader};
use crate::text::{sanitize, to_json_string};

/// List captured Events that match a filter, newest first
///
/// Terms are ANDed, `-term` negates, a bare word or "phrase" searches path and body:
/// method:POST path:/hooks/* status:5xx status:400..499 outcome:failed provider:ayrshare
/// type:social.* sig:invalid header:x-foo=bar json:.platform=instagram after:1h
/// before:2026-11-27T10:00 id:40..50 replayed
///
/// Examples:
///   hooktap list provider:ayrshare status:5xx
///   hooktap list --json -- -replayed type:social.*
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Filter terms (`-term` negates one: `-method:POST`)
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
    /// How many Events to show (at least 1)
    #[arg(long, short = 'n', default_value_t = 50, value_parser = at_least_one)]
    pub limit: usize,
    /// Oldest first
    #[arg(long)]
    pub reverse: bool,
    /// One JSON object per line (the stable shape in the README)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbArg,
}

/// Parses command-line filter words; a bad filter is a usage error (exit 2).
pub fn parse_filter(words: &[String]) -> anyhow::Result<Filter> {
    filter::parse_args(words).map_err(|e| UsageError(e.to_string()).into())
}

/// Runs `list`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let filter = parse_filter(&args.filter)?;
    let reader = Reader::open(&args.db.path())?;
    let page = Page {
        order: if args.reverse {
            Order::OldestFirst
        } else {
            Order::NewestFirst
        },
        ..Page::first(args.limit)
    };
    let rows = reader.list(&filter, &page)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for row in &rows {
            writeln!(out, "{}", to_json_string(row))?;
        }
        return Ok(());
    }
    if rows.is_empty() {
        let text = if filter.is_empty() {
            "No events yet. Start `hooktap listen --forward URL` and send a webhook."
        } else {
            "No events match this filter."
        };
        writeln!(out, "{text}")?;
        return Ok(());
    }
    let colour = use_colour();
    // One `now` for the page, so every row is dated against the same day.
    let now = crate::event::now_micros();
    let times: Vec<String> = rows
        .iter()
        .map(|s| crate::event::list_time(s.received_at, now, &chrono::Local))
        .collect();
    let widths = Widths::of(&rows, &times);
    writeln!(
        out,
        "{:<tw$}  {:>iw$}  {:<mw$} {:<pw$} {:<kw$} {:>sw$} {:>9} {:>9}",
        "TIME",
        "ID",
        "METHOD",
        "PATH",
        "PROVIDER/TYPE",
        "STATUS",
        "DURATION",
        "SIZE",
        tw = widths.time,
        iw = widths.id,
        mw = widths.method,
        pw = widths.path,
        kw = widths.kind,
        sw = widths.status,
    )?;
    for (row, time) in rows.iter().zip(&times) {
        writeln!(out, "{}", table_row(row, time, &widths, colour))?;
    }
    Ok(())
}

/// Column widths for a page: at least the usual ones, wider (to a cap) when a row needs it, so
/// a date, an id past #99999, an `OPTIONS`, a long Ayrshare type or an `interrupted` does not
/// push its row out of line.
struct Widths {
    time: usize,
    id: usize,
    method: usize,
    path: usize,
    kind: usize,
    status: usize,
}

impl Widths {
    /// The widths for `rows`, whose times (as shown) are `times`.
    fn of(rows: &[EventSummary], times: &[String]) -> Widths {
        let most = |min: usize, cap: usize, len: &dyn Fn(&EventSummary) -> usize| {
            rows.iter().map(len).max().unwrap_or(0).clamp(min, cap)
        };
        let time = times.iter().map(|t| t.chars().count()).max().unwrap_or(0);
        Widths {
            time: time.clamp(12, 19),
            id: most(6, 20, &|s| id(s).len()),
            method: most(6, 10, &|s| method(s).chars().count()),
            path: most(28, 40, &|s| path(s).chars().count()),
            kind: most(28, 40, &|s| kind(s).chars().count()),
            status: most(6, 12, &|s| status(s).chars().count()),
        }
    }
}

fn id(s: &EventSummary) -> String {
    format!("#{}", s.id)
}

/// The latest Delivery's status code, else `held`, else its outcome (`interrupted`), else `-`.
fn status(s: &EventSummary) -> String {
    s.status_word()
}

fn path(s: &EventSummary) -> String {
    let path = match &s.query {
        Some(q) => format!("{}?{q}", s.path),
        None => s.path.clone(),
    };
    sanitize(&path).into_owned()
}

fn kind(s: &EventSummary) -> String {
    let kind = match &s.event_type {
        Some(t) => format!("{} {t}", s.provider),
        None => s.provider.clone(),
    };
    sanitize(&kind).into_owned()
}

fn method(s: &EventSummary) -> String {
    sanitize(&s.method).into_owned()
}

/// Colour only on a terminal, and never when `NO_COLOR` is set (no-color.org).
pub fn use_colour() -> bool {
    crate::cmd::stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Wraps `text` in the ANSI colour for a status: green 2xx, cyan 3xx, yellow 4xx, red 5xx and
/// failures.
pub fn paint_status(text: &str, status: Option<u16>, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match status {
        Some(200..=299) => "32",
        Some(300..=399) => "36",
        Some(400..=499) => "33",
        Some(_) => "31",
        None if matches!(text.trim(), "pending" | "-") => "2",
        // Waiting for `listen --redeliver`: not lost, not done.
        None if text.trim() == "held" => "33",
        None => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn table_row(s: &EventSummary, time: &str, w: &Widths, colour: bool) -> String {
    let duration = s
        .duration_us
        .map(|us| format!("{:.1} ms", us as f64 / 1000.0))
        .unwrap_or_default();
    let marks = match (s.replayed, s.derived_from) {
        (_, Some(_)) => "✎",
        (true, None) => "↻",
        _ => " ",
    };
    format!(
        "{:<tw$}  {:>iw$}{marks} {:<mw$} {:<pw$} {:<kw$} {} {:>9} {:>9}",
        time,
        id(s),
        truncate(&method(s), w.method),
        truncate(&path(s), w.path),
        truncate(&kind(s), w.kind),
        paint_status(
            &format!("{:>sw$}", status(s), sw = w.status),
            s.status,
            colour
        ),
        duration,
        format_size(s.body_size),
        tw = w.time,
        iw = w.id,
        mw = w.method,
        pw = w.path,
        kw = w.kind,
    )
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

/// `--limit`: a count of at least one (`0` would print nothing, and say the Store is empty).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{text}' is not a count")),
    }
}
