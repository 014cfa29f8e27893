//! The `hooktap` binary: parses the command line, sets up logging, runs the command, and is the
//! only place that exits.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use hooktap::cmd::{self, UsageError};

/// mimalloc, which also stands in for `malloc` (the `override` feature) so SQLite's memory comes
/// from it too. glibc's allocator handed the Store writer's freed pages back to the kernel after
/// nearly every commit (`madvise`); faulting them in again, and the TLB flushes on the other
/// core, cost about a third of the capture path's CPU (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A local webhook tunnel and capture proxy: receive, record, inspect and re-send webhooks.
#[derive(Parser)]
#[command(name = "hooktap", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Listen(Box<cmd::listen::Args>),
    List(cmd::list::Args),
    Show(cmd::show::Args),
    Trigger(cmd::trigger::Args),
    Demo(cmd::demo::Args),
    Replay(cmd::replay::Args),
    Export(cmd::export::Args),
    Import(cmd::import::Args),
    Prune(cmd::prune::Args),
    Completions(cmd::completions::Args),
    Relay(cmd::relay::Args),
    Ui(cmd::ui::Args),
    /// Runs a `listen --public` tunnel; never by hand
    #[command(name = "__supervise", hide = true)]
    Supervise(hooktap::public::supervise::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOOKTAP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(hooktap::logs::Sink)
        .fmt_fields(hooktap::logs::fields())
        // Colour only for a terminal: a log redirected to a file reads as plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Listen(args) => runtime().and_then(|rt| rt.block_on(cmd::listen::run(*args))),
        Command::List(args) => cmd::list::run(args),
        Command::Show(args) => cmd::show::run(args),
        Command::Trigger(args) => runtime().and_then(|rt| rt.block_on(cmd::trigger::run(args))),
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(cmd::demo::run(args))),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Prune(args) => cmd::prune::run(args),
        Command::Completions(args) => cmd::completions::run(args, Cli::command()),
        Command::Relay(args) => runtime().and_then(|rt| rt.block_on(cmd::relay::run(args))),
        Command::Ui(args) => runtime().and_then(|rt| rt.block_on(cmd::ui::run(args))),
        Command::Supervise(args) => {
            return hooktap::public::supervise::run(args).unwrap_or_else(|e| {
                eprintln!("error: {e:#}");
                ExitCode::from(127)
            });
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // An error may quote a file or a Store's data: no terminal controls. Line breaks stay
            // (a tunnel's last lines); each call site shows a quoted field on one line.
            eprintln!(
                "error: {}",
                hooktap::text::sanitize_block(&format!("{e:#}"))
            );
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// `hooktap list | head` closes our stdout early; that is not an error. The JSON writers
/// (`export --format har|ndjson`) fail with a `serde_json::Error` whose `source()` skips the
/// io error it wraps, so it is asked for its io error kind itself.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
    })
}
