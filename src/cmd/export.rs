//! `hooktap export`: matching Events as HAR, NDJSON or curl commands, streamed to a file or
//! stdout.

use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;

use crate::cmd::list::parse_filter;
use crate::cmd::{DbArg, UsageError};
use crate::export::{self, Format, Options};
use crate::forward::Target;
use crate::store::Reader;

/// Export Events that match a filter (all when none) in arrival order
///
/// Signature and authorization headers are masked unless --include-secrets.
///
/// Examples:
///   hooktap export provider:ayrshare --format har -o ayrshare.har
///   hooktap export id:40..50 --format curl > replay.sh
///   hooktap export --format ndjson -o all.ndjson
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Filter terms (write `--` before a first term that starts with `-`)
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Output format
    #[arg(long, short = 'f', value_enum)]
    pub format: Format,
    /// Write to this file instead of stdout (written whole or not at all)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep signature and authorization headers instead of masking them
    #[arg(long)]
    pub include_secrets: bool,
    /// With --format curl: send to this Target instead of each Event's last one
    #[arg(long, value_name = "URL", value_parser = Target::parse)]
    pub to: Option<Target>,
    #[command(flatten)]
    pub db: DbArg,
}

/// Runs `export`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.to.is_some() && args.format != Format::Curl {
        return Err(UsageError(
            "--to applies to --format curl only (HAR and NDJSON keep each Event as received)"
                .into(),
        )
        .into());
    }
    let filter = parse_filter(&args.filter)?;
    let reader = Reader::open(&args.db.path())?;
    let options = Options {
        include_secrets: args.include_secrets,
        target: args.to.map(|t| t.as_str().to_string()),
    };
    let Some(path) = args.output else {
        let mut out = BufWriter::new(std::io::stdout().lock());
        export::export(&reader, &filter, args.format, &options, &mut out)?;
        return Ok(());
    };
    // Write beside the target and rename at the end, so a failed export leaves no half file.
    let mut partial = path.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial).map_err(|e| create_error(&path, e))?;
    let mut out = BufWriter::new(file);
    let result = export::export(&reader, &filter, args.format, &options, &mut out).and_then(|n| {
        Ok(out
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()
            .map(|_| n)?)
    });
    let count = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("cannot write {}", path.display())));
        }
    };
    std::fs::rename(&partial, &path)
        .with_context(|| format!("cannot move the export into place at {}", path.display()))?;
    eprintln!("exported {count} event(s) to {}", path.display());
    Ok(())
}

/// Why `path` cannot be created, named as the user gave it (not the `.partial` beside it).
fn create_error(path: &std::path::Path, e: std::io::Error) -> anyhow::Error {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !folder.is_dir() {
        return anyhow::anyhow!(
            "cannot write {}: the folder {} does not exist",
            path.display(),
            folder.display()
        );
    }
    anyhow::Error::new(e).context(format!("cannot create {}", path.display()))
}
