//! `hooktap __supervise -- CMD ARGS`: the small process between hooktap and its tunnel, so the
//! tunnel never outlives hooktap, even after `kill -9`. hooktap holds a pipe to our stdin; when
//! it closes (hooktap stopped or died) we end the tunnel's whole process group and exit. A
//! process group alone would not do: nothing signals it when its parent is killed.

use std::io::Read;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::Context;

/// Hidden: run a tunnel for `listen --public`, tied to the life of the calling hooktap.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The tunnel's program and arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// Runs the tunnel until it exits (its exit code is ours) or our stdin closes.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (program, rest) = args
        .command
        .split_first()
        .context("__supervise needs a command")?;
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        // Its own group, so ending it reaches what it started too; the group's id is its pid.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let group = child.id();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 64];
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        // hooktap is gone: ask the group to stop, then make it.
        signal_group(group, "TERM");
        std::thread::sleep(Duration::from_secs(2));
        signal_group(group, "KILL");
        std::process::exit(0);
    });
    let status = child.wait().context("waiting for the tunnel")?;
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        eprintln!("{program} was killed by signal {signal}");
    }
    // The leader is gone; anything it left in its group goes with it.
    signal_group(group, "KILL");
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

/// Sends `signal` to process group `group` with the system's `kill` (no `unsafe` here).
fn signal_group(group: u32, signal: &str) {
    let target = format!("-{group}");
    for kill in ["/bin/kill", "/usr/bin/kill", "kill"] {
        let ran = Command::new(kill)
            .args(["-s", signal, "--", &target])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if ran.is_ok() {
            return;
        }
    }
}
