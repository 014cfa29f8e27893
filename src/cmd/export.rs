//! `hooktap export`: matching Events as HAR, NDJSON or curl commands, streamed to a file or
//! stdout.

use std::io::BufWriter;
use std::path::PathBuf;

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
    /// Filter terms (`-term` negates one: `-method:POST`)
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Output format
    #[arg(long, short = 'f', value_enum)]
    pub format: Format,
    /// Write to this file instead of stdout (`-`): written whole or not at all, a new file
    /// `0600`, an existing one keeps its mode (at most `0600` with --include-secrets); a
    /// folder, a device or a symlink is refused
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
    let write =
        |out: &mut dyn std::io::Write| export::export(&reader, &filter, args.format, &options, out);
    let path = match args.output {
        Some(path) if path.as_os_str() != "-" => path,
        _ => {
            write(&mut BufWriter::new(std::io::stdout().lock()))?;
            return Ok(());
        }
    };
    let count = export::file::write_file(&path, args.include_secrets, write)?;
    eprintln!("exported {count} event(s) to {}", path.display());
    Ok(())
}
