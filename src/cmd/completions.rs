//! `hooktap completions SHELL`: a shell completion script on stdout.

use clap_complete::Shell;

/// Print a completion script for your shell
///
/// Examples:
///   hooktap completions bash > ~/.local/share/bash-completion/completions/hooktap
///   hooktap completions zsh > ~/.zfunc/_hooktap
///   hooktap completions fish > ~/.config/fish/completions/hooktap.fish
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Runs `completions` for the whole command tree `cli`.
pub fn run(args: Args, mut cli: clap::Command) -> anyhow::Result<()> {
    let name = cli.get_name().to_string();
    clap_complete::generate(args.shell, &mut cli, name, &mut std::io::stdout());
    Ok(())
}
