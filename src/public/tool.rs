//! The tunnels `--public` knows: how each is started, on which stream and in which form it
//! prints its URL, which header carries the sender's address, and how to install it.

use crate::cmd::UsageError;
use crate::listener::ClientHeader;

/// A tunnel program hooktap can start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tool {
    /// `cloudflared tunnel --url`: a quick tunnel, no account.
    Cloudflared,
    /// `ngrok http PORT`: needs the user's authtoken.
    Ngrok,
    /// `ssh ... nokey@localhost.run`.
    LocalhostRun,
    /// `ssh -p 443 ... a.pinggy.io`.
    Pinggy,
    /// Any other command, run by `sh -c` with `{port}` replaced.
    Exec(String),
}

/// Where a tunnel prints its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    Either,
}

/// Options every ssh tunnel gets: no stdin, no prompt ever (a prompt would wait forever in the
/// background), a dead connection noticed, and failure when the remote port is refused.
const SSH_OPTIONS: [&str; 12] = [
    "-T",
    "-n",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-o",
    "ServerAliveInterval=30",
    "-o",
    "ExitOnForwardFailure=yes",
    "-o",
    "LogLevel=ERROR",
];

impl Tool {
    /// Parses `--public`'s value.
    pub fn parse(text: &str) -> Result<Tool, UsageError> {
        let usage = |m: String| UsageError(m);
        match text.trim() {
            "cloudflared" | "cloudflare" => Ok(Tool::Cloudflared),
            "ngrok" => Ok(Tool::Ngrok),
            "localhost.run" | "localhostrun" => Ok(Tool::LocalhostRun),
            "pinggy" => Ok(Tool::Pinggy),
            "relay" => Err(usage(
                "--public relay is hooktap's own Relay: use --relay URL --channel NAME --token T"
                    .into(),
            )),
            other => match other.strip_prefix("exec:").map(str::trim) {
                Some("") => Err(usage(
                    "--public exec: needs a command, e.g. --public 'exec:mytunnel --port {port}'"
                        .into(),
                )),
                Some(cmd) => Ok(Tool::Exec(cmd.to_string())),
                None => Err(usage(format!(
                    "--public '{other}' is not a tunnel hooktap knows: use cloudflared, ngrok, \
                     localhost.run, pinggy, 'exec:COMMAND {{port}}', or relay"
                ))),
            },
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> &str {
        match self {
            Tool::Cloudflared => "cloudflared",
            Tool::Ngrok => "ngrok",
            Tool::LocalhostRun => "localhost.run",
            Tool::Pinggy => "pinggy",
            Tool::Exec(_) => "exec",
        }
    }

    /// What the start-up line says after the URL.
    pub fn describe(&self) -> &str {
        match self {
            Tool::Cloudflared => "cloudflared quick tunnel, no account",
            Tool::Ngrok => "ngrok",
            Tool::LocalhostRun => "localhost.run over ssh",
            Tool::Pinggy => "pinggy over ssh",
            Tool::Exec(_) => "your tunnel command",
        }
    }

    /// The program to look for on `PATH`.
    pub fn program(&self) -> &str {
        match self {
            Tool::Cloudflared => "cloudflared",
            Tool::Ngrok => "ngrok",
            Tool::LocalhostRun | Tool::Pinggy => "ssh",
            Tool::Exec(_) => "sh",
        }
    }

    /// The program and its arguments for a tunnel to `127.0.0.1:port`. `empty_config` is an
    /// empty file of hooktap's for cloudflared: a user's `~/.cloudflared/config.yml` with
    /// ingress rules would otherwise turn every quick-tunnel request into a 404.
    pub fn command(&self, port: u16, empty_config: &str) -> Vec<String> {
        let local = format!("127.0.0.1:{port}");
        let mut argv: Vec<String> = vec![self.program().to_string()];
        match self {
            Tool::Cloudflared => argv.extend(
                [
                    "tunnel",
                    "--no-autoupdate",
                    "--config",
                    empty_config,
                    "--url",
                    &format!("http://{local}"),
                ]
                .map(String::from),
            ),
            Tool::Ngrok => argv.extend(
                [
                    "http",
                    &port.to_string(),
                    "--log",
                    "stdout",
                    "--log-format",
                    "json",
                ]
                .map(String::from),
            ),
            Tool::LocalhostRun => {
                argv.extend(SSH_OPTIONS.map(String::from));
                argv.extend(
                    ["-R", &format!("80:{local}"), "nokey@localhost.run"].map(String::from),
                );
            }
            Tool::Pinggy => {
                argv.extend(["-p", "443"].map(String::from));
                argv.extend(SSH_OPTIONS.map(String::from));
                argv.extend([&format!("-R0:{local}"), "a.pinggy.io"].map(String::from));
            }
            Tool::Exec(cmd) => {
                argv.push("-c".into());
                argv.push(cmd.replace("{port}", &port.to_string()));
            }
        }
        argv
    }

    /// The stream the real tool prints its URL on.
    pub fn stream(&self) -> Stream {
        match self {
            Tool::Cloudflared => Stream::Stderr,
            Tool::Ngrok | Tool::LocalhostRun | Tool::Pinggy => Stream::Stdout,
            Tool::Exec(_) => Stream::Either,
        }
    }

    /// The header this tunnel sets to the sender's address.
    pub fn client_header(&self) -> ClientHeader {
        match self {
            Tool::Cloudflared => ClientHeader::CfConnectingIp,
            _ => ClientHeader::ForwardedForLast,
        }
    }

    /// The public URL in one line of the tunnel's output, if it has it.
    /// Only a URL that parses as one (no spaces, no controls) counts: it is shown, stored in the
    /// runtime file and registered with providers.
    pub fn url_in(&self, line: &str) -> Option<String> {
        self.found_in(line)
            .filter(|u| u.parse::<http::Uri>().is_ok() && !u.chars().any(crate::text::is_unsafe))
    }

    fn found_in(&self, line: &str) -> Option<String> {
        match self {
            Tool::Cloudflared => urls(line).find(|u| host_ends(u, ".trycloudflare.com")),
            // The `started tunnel` record, whatever the domain (ngrok-free.app became .dev).
            Tool::Ngrok => {
                let record: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
                if record.get("msg")?.as_str()? != "started tunnel" {
                    return None;
                }
                let url = record.get("url")?.as_str()?;
                url.starts_with("https://").then(|| url.to_string())
            }
            Tool::LocalhostRun => {
                let (_, rest) = line.split_once("tunneled with tls termination,")?;
                urls(rest).next()
            }
            Tool::Pinggy => {
                urls(line).find(|u| host_ends(u, ".pinggy.link") || host_ends(u, ".pinggy.online"))
            }
            Tool::Exec(_) => urls(line).next(),
        }
    }

    /// What the user sees when the tunnel refused to start, if the lines say why.
    pub fn diagnose(&self, lines: &[String]) -> Option<String> {
        let said = |what: &str| lines.iter().any(|l| l.contains(what));
        match self {
            Tool::Ngrok if said("ERR_NGROK_4018") || said("authtoken") => Some(
                "ngrok needs your authtoken: sign up at https://dashboard.ngrok.com/signup, then \
                 run `ngrok config add-authtoken TOKEN` (or pick --public cloudflared, no account)"
                    .into(),
            ),
            Tool::LocalhostRun | Tool::Pinggy if said("Permission denied") || said("Host key") => {
                Some(format!(
                    "ssh could not log in to {} without a prompt; check `ssh -T {}` by hand",
                    self.name(),
                    if *self == Tool::Pinggy {
                        "-p 443 a.pinggy.io"
                    } else {
                        "nokey@localhost.run"
                    }
                ))
            }
            _ => None,
        }
    }

    /// One line: which package provides the program, and how to install it.
    pub fn install_hint(&self) -> String {
        match self {
            Tool::Cloudflared => "cloudflared is not installed (or not on PATH): on macOS \
                `brew install cloudflared`; on Linux the `cloudflared` package from \
                https://pkg.cloudflare.com or a binary from \
                https://github.com/cloudflare/cloudflared/releases"
                .into(),
            Tool::Ngrok => "ngrok is not installed (or not on PATH): on macOS `brew install \
                ngrok`; on Linux `snap install ngrok` or https://ngrok.com/download"
                .into(),
            Tool::LocalhostRun | Tool::Pinggy => "ssh is not installed (or not on PATH): it is \
                the OpenSSH client, `sudo apt install openssh-client` (Debian, Ubuntu) or `sudo \
                dnf install openssh-clients` (Fedora); macOS has it built in"
                .into(),
            Tool::Exec(_) => "sh is not on PATH: --public exec: runs its command with sh".into(),
        }
    }
}

/// The `https://` URLs in `text`, each cut at the first character no URL has.
fn urls(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices("https://").filter_map(move |(at, _)| {
        let rest = &text[at..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "\"'<>|`,)]}".contains(c) || c.is_control())
            .unwrap_or(rest.len());
        let url = rest[..end].trim_end_matches(['.', ';']);
        (url.len() > "https://".len()).then(|| url.to_string())
    })
}

/// Whether `url`'s host ends with `suffix` (which starts with a dot).
fn host_ends(url: &str, suffix: &str) -> bool {
    let host = url["https://".len()..]
        .split(['/', ':', '?', '#'])
        .next()
        .unwrap_or("");
    host.len() > suffix.len() && host.to_ascii_lowercase().ends_with(suffix)
}

#[cfg(test)]
#[path = "tool_tests.rs"]
mod tests;
