//! `hooktap show ID`: one Event and all its Deliveries.

use std::io::Write;

use crate::cmd::DbArg;
use crate::config::format_size;
use crate::event::{HeaderList, format_time};
use crate::record;
use crate::store::Reader;

/// Show one Event and all its Deliveries.
///
/// Example: hooktap show 42 --json
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Event's id (the `#42` of `list`)
    pub id: i64,
    /// Print the full record as JSON
    #[arg(long)]
    pub json: bool,
    /// Write the raw body bytes to stdout, nothing else
    #[arg(long, conflicts_with = "json")]
    pub body: bool,
    #[command(flatten)]
    pub db: DbArg,
}

/// Runs `show`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let reader = Reader::open(&args.db.path())?;
    let Some((summary, event)) = reader.event(args.id)? else {
        anyhow::bail!("no event #{}", args.id);
    };
    let deliveries = reader.deliveries(args.id)?;
    let mut out = std::io::stdout().lock();
    if args.body {
        out.write_all(&event.body)?;
        return Ok(out.flush()?);
    }
    if args.json {
        writeln!(out, "{}", record::event_json(&summary, &event, &deliveries))?;
        return Ok(());
    }
    writeln!(
        out,
        "Event #{}  {}  {}  ({})",
        summary.id,
        summary.uid,
        format_time(summary.received_at),
        summary.ingress
    )?;
    writeln!(
        out,
        "{} {}  from {}  {}  sha256 {}",
        event.method,
        event.path_and_query(),
        event.remote_addr.as_deref().unwrap_or("?"),
        format_size(summary.body_size),
        summary.body_sha256
    )?;
    write!(out, "Provider {}", summary.provider)?;
    if let Some(t) = &summary.event_type {
        write!(out, " {t}")?;
    }
    if let Some(p) = &summary.provider_event_id {
        write!(out, " ({p})")?;
    }
    writeln!(out, "  signature {}", summary.signature)?;
    if let Some(s) = &summary.summary {
        writeln!(out, "{s}")?;
    }
    for note in crate::explain::notes(&reader, &summary, &event)? {
        writeln!(out, "  {note}")?;
    }
    writeln!(out, "\nRequest headers")?;
    print_headers(&mut out, &event.headers)?;
    writeln!(out, "\nRequest body")?;
    print_body(&mut out, &event.body)?;
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
            d.target,
            format_time(d.started_at),
            status,
            r.outcome,
            r.duration_us as f64 / 1000.0
        )?;
        if let Some(e) = &r.error {
            writeln!(out, "  error: {e}")?;
        }
        if r.status.is_some() {
            print_headers(&mut out, &r.headers)?;
            print_body(&mut out, &r.body)?;
        }
    }
    Ok(())
}

fn print_headers(out: &mut impl Write, headers: &HeaderList) -> std::io::Result<()> {
    for (name, value) in headers.iter() {
        writeln!(out, "  {name}: {}", String::from_utf8_lossy(value))?;
    }
    Ok(())
}

fn print_body(out: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    if body.is_empty() {
        return writeln!(out, "  (empty)");
    }
    match std::str::from_utf8(body) {
        Ok(text) => {
            for line in text.lines() {
                writeln!(out, "  {line}")?;
            }
            Ok(())
        }
        Err(_) => writeln!(
            out,
            "  ({} of binary data; --body writes it out)",
            format_size(body.len() as u64)
        ),
    }
}
