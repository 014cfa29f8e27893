//! `hooktap show ID`: one Event and all its Deliveries; `--diff` compares two Deliveries.

use std::io::Write;

use crate::cmd::list::{paint_status, use_colour};
use crate::cmd::{DbArg, UsageError};
use crate::config::format_size;
use crate::event::{HeaderList, format_time};
use crate::pretty::{body, diff};
use crate::record;
use crate::store::Reader;
use crate::text::{sanitize, sanitize_bytes, sanitize_bytes_block, to_json_string};

pub use crate::pretty::{hex_dump, indent_json};

/// Show one Event and all its Deliveries
///
/// JSON bodies are shown indented and compressed bodies decoded (the stored bytes stay exactly
/// as received); `--body` writes the raw bytes.
///
/// Examples:
///   hooktap show 42
///   hooktap show 42 --body > body.json
///   hooktap show 42 --diff          # the original Delivery against the latest replay
///   hooktap show 42 --diff 3 7      # two Deliveries by id
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The Event's id (the `#42` of `list`)
    #[arg(value_parser = parse_id)]
    pub id: i64,
    /// Print the full record as JSON
    #[arg(long, conflicts_with_all = ["body", "headers", "diff"])]
    pub json: bool,
    /// Write the raw body bytes to stdout, nothing else
    #[arg(long, conflicts_with_all = ["headers", "diff"])]
    pub body: bool,
    /// Print only the request headers, one `name: value` per line
    #[arg(long, conflicts_with = "diff")]
    pub headers: bool,
    /// Compare two Deliveries: by default the original and the latest replay
    #[arg(long, num_args = 0..=2, value_names = ["DELIVERY_A", "DELIVERY_B"])]
    pub diff: Option<Vec<i64>>,
    #[command(flatten)]
    pub db: DbArg,
}

/// Parses an Event id, with or without the `#` that `list` prints.
pub fn parse_id(text: &str) -> Result<i64, String> {
    text.trim_start_matches('#')
        .parse()
        .map_err(|_| format!("'{text}' is not an event id (e.g. 42)"))
}

/// Runs `show`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let named = match args.diff.as_deref() {
        Some([a, b]) => Some((*a, *b)),
        Some([_]) => {
            return Err(
                UsageError("--diff takes no Delivery ids or two (e.g. --diff 3 7)".into()).into(),
            );
        }
        _ => None,
    };
    let reader = Reader::open(&args.db.path())?;
    let Some((summary, event)) = reader.event(args.id)? else {
        anyhow::bail!("no event #{} (`hooktap list` shows the ids)", args.id);
    };
    let deliveries = reader.deliveries(args.id)?;
    let mut out = std::io::stdout().lock();
    if args.body {
        // The exact bytes for a pipe or a file; a terminal gets them escaped (crate::text).
        if crate::cmd::stdout_is_terminal() {
            out.write_all(sanitize_bytes_block(&event.body).as_bytes())?;
        } else {
            out.write_all(&event.body)?;
        }
        return Ok(out.flush()?);
    }
    if args.json {
        let record = record::event_json(&summary, &event, &deliveries);
        writeln!(out, "{}", to_json_string(&record))?;
        return Ok(());
    }
    if args.headers {
        for (name, value) in event.headers.iter() {
            writeln!(out, "{}: {}", sanitize(name), sanitize_bytes(value))?;
        }
        return Ok(());
    }
    if args.diff.is_some() {
        let (a, b) = diff::pick(&deliveries, args.id, named)?;
        diff::write(&mut out, a, b)?;
        return Ok(());
    }
    let colour = use_colour();
    // Every field a sender or an imported file wrote goes through crate::text.
    writeln!(
        out,
        "Event #{}  {}  {}  ({})",
        summary.id,
        sanitize(&summary.uid),
        format_time(summary.received_at),
        sanitize(&summary.ingress)
    )?;
    writeln!(
        out,
        "{} {}  from {}  {}  sha256 {}",
        sanitize(&event.method),
        sanitize(&event.path_and_query()),
        sanitize(event.remote_addr.as_deref().unwrap_or("?")),
        format_size(summary.body_size),
        sanitize(&summary.body_sha256)
    )?;
    write!(out, "Provider {}", sanitize(&summary.provider))?;
    if let Some(t) = &summary.event_type {
        write!(out, " {}", sanitize(t))?;
    }
    if let Some(p) = &summary.provider_event_id {
        write!(out, " ({})", sanitize(p))?;
    }
    writeln!(out, "  signature {}", sanitize(&summary.signature))?;
    if let Some(s) = &summary.summary {
        writeln!(out, "{}", sanitize(s))?;
    }
    if let Some(d) = summary.derived_from {
        writeln!(out, "Edited from event #{d}")?;
    }
    // Signature detail, provider retries, linked Events, payload drift.
    for note in crate::explain::notes(&reader, &summary, &event)? {
        writeln!(out, "  {}", sanitize(&note))?;
    }
    writeln!(out, "\nRequest headers")?;
    print_headers(&mut out, &event.headers)?;
    writeln!(out, "\nRequest body")?;
    print_body(&mut out, &event.headers, &event.body)?;
    if deliveries.is_empty() {
        writeln!(
            out,
            "\nNo Deliveries (hooktap replay {} sends it)",
            summary.id
        )?;
    }
    for d in &deliveries {
        let r = &d.result;
        let status = r
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "\nDelivery #{} {} -> {}  {}  {} {}  {:.1} ms",
            d.id,
            d.kind,
            sanitize(&d.target),
            format_time(d.started_at),
            paint_status(&status, r.status, colour),
            r.outcome,
            r.duration_us as f64 / 1000.0
        )?;
        if let Some(e) = &r.error {
            writeln!(out, "  error: {}", sanitize(e))?;
        }
        if r.status.is_some() {
            print_headers(&mut out, &r.headers)?;
            print_body(&mut out, &r.headers, &r.body)?;
        }
    }
    Ok(())
}

fn print_headers(out: &mut impl Write, headers: &HeaderList) -> std::io::Result<()> {
    for (name, value) in headers.iter() {
        writeln!(out, "  {}: {}", sanitize(name), sanitize_bytes(value))?;
    }
    Ok(())
}

fn print_body(out: &mut impl Write, headers: &HeaderList, bytes: &[u8]) -> std::io::Result<()> {
    let shown = body::render(headers, bytes);
    if let Some(note) = shown.note {
        writeln!(out, "  ({})", sanitize(&note))?;
    }
    for line in shown.lines {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}
