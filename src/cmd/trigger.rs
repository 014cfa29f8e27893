//! `hooktap trigger ayrshare EVENT`: send a realistic, correctly signed sample event.

use std::io::Write;
use std::time::Duration;

use crate::cmd::UsageError;
use crate::config::format_size;
use crate::forward::Forwarder;
use crate::providers::secrets;
use crate::trigger::{self, DEFAULT_URL, SAMPLES};

/// Send a realistic, signed sample event (like `stripe trigger`, for Ayrshare).
///
/// Example: hooktap trigger ayrshare social-unlink --secret s3cret
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The provider (only ayrshare has samples)
    #[arg(value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// The sample to send (see --list)
    #[arg(value_name = "EVENT")]
    pub event: Option<String>,
    /// Where to send it
    #[arg(long, value_name = "URL", default_value = DEFAULT_URL, value_parser = parse_to)]
    pub to: String,
    /// The signing secret (else HOOKTAP_SECRET_AYRSHARE or the config file; none: unsigned)
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Override a body field by dotted path, e.g. --set platform=tiktok (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
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
        if let Some(provider) = args.provider.as_deref().filter(|p| !is_ayrshare(p)) {
            return Err(
                UsageError(format!("no samples for '{provider}' yet; try ayrshare")).into(),
            );
        }
        writeln!(out, "Ayrshare samples (hooktap trigger ayrshare EVENT):")?;
        for s in SAMPLES {
            writeln!(out, "  {:<24} {}", s.name, s.about)?;
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
    if !is_ayrshare(provider) {
        return Err(UsageError(format!("no samples for '{provider}' yet; try ayrshare")).into());
    }
    let Some(sample) = trigger::sample(name) else {
        let names: Vec<&str> = SAMPLES.iter().map(|s| s.name).collect();
        return Err(UsageError(format!(
            "no Ayrshare sample called '{name}'; choose one of: {}",
            names.join(", ")
        ))
        .into());
    };
    let sets = args
        .sets
        .iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(UsageError(format!(
                "--set takes KEY=VALUE, e.g. platform=tiktok (got '{s}')"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
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
        writeln!(out, "POST {}", args.to)?;
        for (n, v) in headers.iter() {
            writeln!(out, "{n}: {}", String::from_utf8_lossy(v))?;
        }
        writeln!(out)?;
        out.write_all(&body)?;
        writeln!(out)?;
        return Ok(());
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
    writeln!(
        out,
        "sending ayrshare {name}{hook} to {}, {signed}",
        args.to
    )?;
    let forwarder = Forwarder::new(args.timeout, 1 << 20);
    let result = trigger::send(&forwarder, &args.to, headers, body)
        .await
        .map_err(|e| {
            // The client's hint speaks of "your app"; here the receiver is usually hooktap. Only
            // a failed connection gets a hint: a timeout or a broken answer says enough.
            let Some(e) = e.strip_suffix(": is your app running?") else {
                return anyhow::anyhow!("{e}");
            };
            let hint = if args.to == DEFAULT_URL {
                ": is `hooktap listen` running? (--to sends elsewhere)"
            } else {
                ": is the receiver running?"
            };
            anyhow::anyhow!("{e}{hint}")
        })?;
    let status = result.status.unwrap_or(0);
    let answer = String::from_utf8_lossy(&result.body);
    let answer = crate::providers::mac::clip(answer.trim(), 200);
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

fn is_ayrshare(provider: &str) -> bool {
    provider.eq_ignore_ascii_case("ayrshare")
}

/// `--to`: checked when the command line is read, like every URL a user passes (exit 2).
fn parse_to(url: &str) -> Result<String, String> {
    crate::forward::parse_url(url, DEFAULT_URL).map(|_| url.to_string())
}
