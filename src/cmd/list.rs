//! `hooktap list`: the newest Events, as a table or as JSON lines.

use std::io::Write;

use crate::cmd::DbArg;
use crate::config::format_size;
use crate::store::{EventSummary, Reader};

/// List captured Events, newest first.
///
/// Example: hooktap list --limit 20 --json
#[derive(clap::Args, Debug)]
pub struct Args {
    /// How many Events to show
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// One JSON object per line (the stable shape in the README)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbArg,
}

/// Runs `list`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let reader = Reader::open(&args.db.path())?;
    let rows = reader.recent(args.limit, None)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for row in &rows {
            writeln!(out, "{}", row.to_json())?;
        }
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(
            out,
            "No events yet. Start `hooktap listen --forward URL` and send a webhook."
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>6}  {:<12}  {:<6} {:<28} {:<26} {:>6} {:>9} {:>9}",
        "ID", "TIME", "METHOD", "PATH", "PROVIDER/TYPE", "STATUS", "DURATION", "SIZE"
    )?;
    for row in &rows {
        writeln!(out, "{}", table_row(row))?;
    }
    Ok(())
}

fn table_row(s: &EventSummary) -> String {
    let time = chrono::DateTime::from_timestamp_micros(s.received_at)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S%.3f")
                .to_string()
        })
        .unwrap_or_default();
    let kind = match &s.event_type {
        Some(t) => format!("{} {t}", s.provider),
        None => s.provider.clone(),
    };
    let status = match (s.status, s.outcome.as_deref()) {
        (Some(code), _) => code.to_string(),
        (None, Some(o)) => o.to_string(),
        (None, None) => "-".into(),
    };
    let duration = s
        .duration_us
        .map(|us| format!("{:.1} ms", us as f64 / 1000.0))
        .unwrap_or_default();
    format!(
        "{:>6}  {:<12}  {:<6} {:<28} {:<26} {:>6} {:>9} {:>9}",
        format!("#{}", s.id),
        time,
        s.method,
        truncate(&s.path, 28),
        truncate(&kind, 26),
        status,
        duration,
        format_size(s.body_size)
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
