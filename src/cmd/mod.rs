//! The commands behind the CLI. Each module owns its flags (clap `Args`) and its `run`.

pub mod completions;
pub mod demo;
pub mod export;
pub mod import;
pub mod list;
pub mod listen;
pub mod prune;
pub mod relay;
pub mod replay;
pub mod show;
pub mod trigger;
pub mod ui;
pub mod web;

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

/// `--db PATH`, shared by every command that opens the Store.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DbArg {
    /// The Store (SQLite file). Default: $HOOKTAP_DB, else $XDG_DATA_HOME/hooktap/events.db
    // `$HOOKTAP_DB` is read in `path`, not by clap, which would show a flag set from the
    // environment as required in every usage line.
    #[arg(long, value_name = "PATH", global = true)]
    pub db: Option<PathBuf>,
}

impl DbArg {
    /// The Store's path: `--db`, else `$HOOKTAP_DB`, else the default.
    pub fn path(&self) -> PathBuf {
        self.db
            .clone()
            .or_else(|| {
                std::env::var_os("HOOKTAP_DB")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(crate::config::default_db_path)
    }
}

/// The limits on senders that `listen` and `relay` share.
#[derive(clap::Args, Clone, Debug)]
pub struct SenderArgs {
    /// Longest pause allowed while a sender sends a body, or reads the answer
    #[arg(long, default_value = "30s", value_parser = crate::config::parse_positive_duration)]
    pub body_timeout: std::time::Duration,
    /// Longest time a sender may take to send a whole body
    #[arg(long, default_value = "120s", value_parser = crate::config::parse_positive_duration)]
    pub body_deadline: std::time::Duration,
    /// Most connections open at once (more are answered 503 and closed)
    #[arg(long, default_value_t = 1024, value_parser = crate::config::parse_positive_count::<usize>)]
    pub max_connections: usize,
}

impl SenderArgs {
    /// The listener's limits with these and the command's own.
    pub fn limits(
        &self,
        max_body: u64,
        header_timeout: std::time::Duration,
    ) -> crate::listener::Limits {
        crate::listener::Limits {
            max_body,
            header_timeout,
            body_timeout: self.body_timeout,
            body_deadline: self.body_deadline,
            max_connections: self.max_connections,
            ..crate::listener::Limits::default()
        }
    }
}

/// An error in how the command was called (exit code 2), found after parsing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Whether stdout is a terminal (colours, TUI).
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

/// Parses `PROVIDER=SECRET` pairs. A message never repeats a secret: only a provider name, or
/// what is missing.
pub fn parse_secrets(pairs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    pairs.iter().map(|p| parse_secret(p)).collect()
}

fn parse_secret(pair: &str) -> anyhow::Result<(String, String)> {
    let usage = |m: String| anyhow::Error::new(UsageError(m));
    let Some((name, secret)) = pair.split_once('=') else {
        // Without `=` the text is the secret itself as often as the provider: name it only if
        // it is a provider.
        return Err(usage(match crate::providers::canonical(pair) {
            Some(name) => format!("--secret {name} has no secret: use --secret {name}=SECRET"),
            None => "--secret takes PROVIDER=SECRET, e.g. ayrshare=s3cret; the value given has \
                     no '=' (not shown: it may be a secret)"
                .into(),
        }));
    };
    if name.is_empty() {
        return Err(usage(
            "--secret takes PROVIDER=SECRET, e.g. ayrshare=s3cret; the value given has no \
             provider before '='"
                .into(),
        ));
    }
    let Some(canonical) = crate::providers::canonical(name) else {
        let known = crate::providers::NAMES.join(", ");
        // A secret alone that ends in base64 padding (`whsec_...==`) splits here too; a typo of
        // a provider is short and all letters.
        let looks_like_a_name =
            name.len() <= 20 && name.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
        return Err(usage(if looks_like_a_name {
            format!("--secret: unknown provider '{name}' (known: {known})")
        } else {
            format!(
                "--secret takes PROVIDER=SECRET; the text before '=' is not a provider (not \
                 shown: it may be a secret; known: {known})"
            )
        }));
    };
    if secret.is_empty() {
        return Err(usage(format!(
            "--secret {name}= has no secret after '=': use --secret {name}=SECRET"
        )));
    }
    Ok((canonical.to_string(), secret.to_string()))
}

/// Fires `token` on Ctrl-C or SIGTERM.
pub fn stop_on_signal(token: CancellationToken) -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered now, not when the task first runs: a signal that comes before would take the
    // default action (end the process without the graceful stop).
    let signals = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    async move {
        match signals {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        token.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(pair: &str) -> String {
        let e = parse_secrets(&[pair.to_string()]).unwrap_err();
        assert!(e.downcast_ref::<UsageError>().is_some(), "{e}");
        e.to_string()
    }

    #[test]
    fn secret_flags_say_what_they_expect_and_never_echo_a_secret() {
        assert_eq!(
            parse_secrets(&["Ayrshare=s3cret".into()]).unwrap(),
            [("ayrshare".to_string(), "s3cret".to_string())]
        );
        let e = error("ayrshare");
        assert!(e.contains("use --secret ayrshare=SECRET"), "{e}");
        let e = error("s3cret-value");
        assert!(
            e.contains("PROVIDER=SECRET") && !e.contains("s3cret-value"),
            "{e}"
        );
        assert!(!e.contains('…'), "{e}");
        let e = error("ayrshare=");
        assert!(e.contains("has no secret after '='"), "{e}");
        let e = error("=s3cret-value");
        assert!(
            e.contains("no provider") && !e.contains("s3cret-value"),
            "{e}"
        );
        assert!(error("nope=x").contains("unknown provider 'nope'"));
        // A Standard Webhooks secret alone, cut at its base64 padding.
        let e = error("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw==");
        assert!(e.contains("not a provider") && !e.contains("MfKQ"), "{e}");
    }
}

/// Moves negated filter terms (`-method:POST`, `-replayed`, `-"a phrase"`) of the commands that
/// take a filter behind a `--`, so `hooktap list -method:POST --json` parses as a term and a
/// flag (clap would read `-m` as a short flag, or, told to take hyphen values, swallow the
/// flags after the term). Terms are ANDed, so their order does not matter.
pub fn negated_terms_last(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const FILTERED: &[&str] = &["list", "export", "prune", "replay"];
    let command = args
        .iter()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'));
    if !command.is_some_and(|c| FILTERED.contains(&c.to_string_lossy().as_ref())) {
        return args;
    }
    let is_negated_term = |a: &std::ffi::OsString| {
        let a = a.to_string_lossy();
        let Some(term) = a.strip_prefix('-').filter(|t| !t.starts_with('-')) else {
            return false;
        };
        let field = term.split(':').next().unwrap_or("");
        term.starts_with('"')
            || term == "replayed"
            || (term.contains(':') && crate::filter::FIELDS.contains(&field))
    };
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (mut front, moved): (Vec<_>, Vec<_>) = args[..end]
        .iter()
        .cloned()
        .partition(|a| !is_negated_term(a));
    if moved.is_empty() {
        return args;
    }
    front.push("--".into());
    front.extend(moved);
    front.extend(args[end..].iter().skip(1).cloned());
    front
}

#[cfg(test)]
mod negated_tests {
    use super::negated_terms_last;

    fn run(args: &str) -> String {
        let args = args.split(' ').map(Into::into).collect();
        let out: Vec<String> = negated_terms_last(args)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        out.join(" ")
    }

    #[test]
    fn negated_terms_move_behind_the_flags() {
        assert_eq!(
            run("hooktap list -method:POST --json --limit 1"),
            "hooktap list --json --limit 1 -- -method:POST"
        );
        assert_eq!(
            run("hooktap list -status:5xx provider:github -- -replayed"),
            "hooktap list provider:github -- -status:5xx -replayed"
        );
        assert_eq!(
            run("hooktap export -o out.har -sig:valid"),
            "hooktap export -o out.har -- -sig:valid"
        );
    }

    #[test]
    fn flags_and_other_commands_are_left_alone() {
        for args in [
            "hooktap list --json -n",
            "hooktap show -method:POST",
            "hooktap list -o:x",
            "hooktap listen --forward 3000",
        ] {
            assert_eq!(run(args), args);
        }
    }
}
