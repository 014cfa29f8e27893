//! `hooktap trigger ayrshare EVENT`: send a realistic, correctly signed sample event.

use std::io::Write;
use std::time::Duration;

use crate::cmd::UsageError;
use crate::config::format_size;
use crate::forward::Forwarder;
use crate::providers::secrets;
use crate::trigger::{self, DEFAULT_URL, SAMPLES, others};

/// Send a realistic, signed sample event (like `stripe trigger`), for every provider.
///
/// Example: hooktap trigger ayrshare social-unlink --secret s3cret
/// Example: hooktap trigger github pull_request.opened
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The provider: ayrshare, github, stripe, standard-webhooks (svix), shopify, slack
    #[arg(value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// The sample to send (see --list)
    #[arg(value_name = "EVENT")]
    pub event: Option<String>,
    /// Where to send it (default: the running `listen` of the Store, found by its runtime
    /// file, else port 8787; path /hooks/PROVIDER)
    #[arg(long, value_name = "URL", value_parser = parse_to)]
    pub to: Option<String>,
    #[command(flatten)]
    pub db: crate::cmd::DbArg,
    /// The signing secret (else HOOKTAP_SECRET_<PROVIDER> or the config file; none: ayrshare
    /// sends unsigned, the others sign with a new secret that is printed)
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Override a body field that exists: --set json:.postIds[0].platform=x (the filter
    /// language's json: path) or --set platform=tiktok (dotted) (repeatable)
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// List the samples
    #[arg(long, conflicts_with_all = ["event", "to", "secret", "sets", "print", "timeout"])]
    pub list: bool,
    /// Print the request instead of sending it
    #[arg(long)]
    pub print: bool,
    /// How long to wait for the answer
    #[arg(long, default_value = "10s", value_parser = crate::config::parse_positive_duration)]
    pub timeout: Duration,
}

/// Runs `trigger`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.list {
        let only = match args.provider.as_deref() {
            Some(p) => Some(crate::providers::canonical(p).ok_or_else(|| {
                UsageError(format!(
                    "no provider called '{p}'; try ayrshare, github, stripe, \
                                    standard-webhooks, shopify or slack"
                ))
            })?),
            None => None,
        };
        if only.is_none_or(|p| p == "ayrshare") {
            writeln!(out, "Ayrshare samples (hooktap trigger ayrshare EVENT):")?;
            for s in SAMPLES {
                writeln!(out, "  {:<24} {}", s.name, s.about)?;
            }
        }
        for provider in ["github", "stripe", "standard-webhooks", "shopify", "slack"] {
            if only.is_none_or(|p| p == provider) {
                writeln!(out, "{provider}: {}", others::events(provider).join(", "))?;
            }
        }
        return Ok(());
    }
    let (Some(provider), Some(name)) = (&args.provider, &args.event) else {
        return Err(UsageError(
            "trigger needs PROVIDER and EVENT, e.g. hooktap trigger ayrshare social-unlink \
             (--list shows the samples)"
                .into(),
        )
        .into());
    };
    let Some(provider) = crate::providers::canonical(provider) else {
        return Err(UsageError(format!(
            "no provider called '{provider}'; try ayrshare, github, stripe, standard-webhooks, \
             shopify or slack"
        ))
        .into());
    };
    let to = match &args.to {
        Some(url) => url.clone(),
        None => default_url(&args.db.path(), provider),
    };
    let sets = parse_sets(&args.sets)?;
    if provider != "ayrshare" {
        return run_other(&args, provider, name, &to, &sets, &mut out).await;
    }
    let Some(sample) = trigger::sample(name) else {
        let names: Vec<&str> = SAMPLES.iter().map(|s| s.name).collect();
        return Err(UsageError(format!(
            "no Ayrshare sample called '{name}'; choose one of: {}",
            names.join(", ")
        ))
        .into());
    };
    let flags: Vec<(String, String)> = args
        .secret
        .iter()
        .map(|s| ("ayrshare".to_string(), s.clone()))
        .collect();
    let providers = secrets::load(&flags)?;
    let secret = providers.secret("ayrshare");
    let now = chrono::Utc::now();
    let body = trigger::render(sample, &sets, now).map_err(UsageError)?;
    let headers = trigger::headers(&body, secret, now.timestamp());
    if args.print {
        return print_request(&mut out, &to, &headers, &body);
    }
    let hook = crate::providers::ayrshare::parse(&body)
        .and_then(|b| b.hook_id.get().map(|h| format!(" (hookId {h})")))
        .unwrap_or_default();
    let signed = match secret {
        Some(_) => "signed".to_string(),
        None => {
            "unsigned: no ayrshare secret (--secret, HOOKTAP_SECRET_AYRSHARE or the config file)"
                .to_string()
        }
    };
    writeln!(out, "sending ayrshare {name}{hook} to {to}, {signed}")?;
    let forwarder = Forwarder::new(args.timeout, 1 << 20);
    let result = trigger::send(&forwarder, &to, headers, body)
        .await
        .map_err(|e| {
            // The client's hint speaks of "your app"; here the receiver is usually hooktap. Only
            // a failed connection gets a hint: a timeout or a broken answer says enough.
            let Some(e) = e.strip_suffix(": is your app running?") else {
                return anyhow::anyhow!("{e}");
            };
            let hint = if args.to.is_none() {
                ": is `hooktap listen` running? (--to sends elsewhere)"
            } else {
                ": is the receiver running?"
            };
            anyhow::anyhow!("{e}{hint}")
        })?;
    report(&result, &mut out)
}

/// Prints the answer; a non-2xx answer is an error.
fn report(result: &crate::event::DeliveryResult, out: &mut impl Write) -> anyhow::Result<()> {
    let status = result.status.unwrap_or(0);
    let answer = String::from_utf8_lossy(&result.body);
    let answer = crate::providers::mac::clip(answer.trim(), 200);
    let answer = crate::text::sanitize(&answer);
    writeln!(
        out,
        "answer: {status} in {:.1} ms, {}{}",
        result.duration_us as f64 / 1000.0,
        format_size(result.body.len() as u64),
        if answer.is_empty() {
            String::new()
        } else {
            format!(": {answer}")
        }
    )?;
    if !(200..300).contains(&status) {
        anyhow::bail!("the receiver answered {status}, not 2xx");
    }
    Ok(())
}

/// `trigger` for a provider other than Ayrshare: always signed, with the configured secret or
/// a new one that is printed.
async fn run_other(
    args: &Args,
    provider: &str,
    name: &str,
    to: &str,
    sets: &[(String, String)],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let Some(sample) = others::find(provider, name) else {
        return Err(UsageError(format!(
            "no {provider} sample called '{name}'; choose one of: {}",
            others::events(provider).join(", ")
        ))
        .into());
    };
    let flags: Vec<(String, String)> = args
        .secret
        .iter()
        .map(|s| (provider.to_string(), s.clone()))
        .collect();
    let providers = secrets::load(&flags)?;
    let (secret, made) = match providers.secret(provider) {
        Some(s) => (s.to_string(), false),
        None => (others::new_secret(provider), true),
    };
    let now = chrono::Utc::now();
    let body = others::render(sample, sets, now).map_err(UsageError)?;
    let headers = others::headers(sample, &body, &secret, now.timestamp())
        .map_err(|e| anyhow::anyhow!("cannot sign the {provider} sample: {e}"))?;
    if args.print {
        return print_request(out, &to, &headers, &body);
    }
    if made {
        writeln!(
            out,
            "signed with a new secret (none configured): {secret}\n  so that listen verifies it: \
             hooktap listen --secret {provider}={}",
            crate::text::shell_quote(secret.as_bytes())
        )?;
    }
    writeln!(out, "sending {provider} {name} to {to}")?;
    let forwarder = Forwarder::new(args.timeout, 1 << 20);
    let result = trigger::send(&forwarder, to, headers, body)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    report(&result, out)
}

/// `--set PATH=VALUE` pairs; the path is checked when the sample is rendered.
fn parse_sets(sets: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| {
            // A json: path may hold `=` only in its value: split at the first `=` after it.
            match s.split_once('=') {
                Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                _ => Err(UsageError(format!(
                    "--set takes PATH=VALUE, e.g. json:.platform=tiktok (got '{s}')"
                ))
                .into()),
            }
        })
        .collect()
}

/// Where `trigger` sends without `--to`: the `listen` running on the Store at `db` (its
/// runtime file gives the port), else port 8787; the path `/hooks/PROVIDER`.
fn default_url(db: &std::path::Path, provider: &str) -> String {
    let file = crate::public::runtime::path(db);
    let port = std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice::<crate::public::runtime::Runtime>(&b).ok())
        .map_or(8787, |r| r.port);
    format!("http://127.0.0.1:{port}/hooks/{provider}")
}

/// `--to`: checked when the command line is read, like every URL a user passes (exit 2).
fn parse_to(url: &str) -> Result<String, String> {
    crate::forward::parse_url(url, DEFAULT_URL).map(|_| url.to_string())
}

/// `--print`: the request as it would be sent, instead of sending it.
fn print_request(
    out: &mut impl Write,
    to: &impl std::fmt::Display,
    headers: &crate::event::HeaderList,
    body: &[u8],
) -> anyhow::Result<()> {
    writeln!(out, "POST {to}")?;
    for (n, v) in headers.iter() {
        writeln!(out, "{n}: {}", String::from_utf8_lossy(v))?;
    }
    writeln!(out)?;
    out.write_all(body)?;
    writeln!(out)?;
    Ok(())
}
