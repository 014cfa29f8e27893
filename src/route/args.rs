//! The `listen` flags that choose where each Event goes, and their `[listen]` keys in a config
//! file (`--config FILE`, else the user's config.toml); a flag wins over the file.

use anyhow::Context;

use super::{Fail, Mock, Route, Routes};
use crate::cmd::UsageError;
use crate::event::HeaderList;
use crate::forward::Target;

/// Where each Event goes: `--forward`, `--route`, `--mock`, `--only`, `--fail`, `-H`.
#[derive(clap::Args, Debug, Default)]
pub struct RouteArgs {
    /// Your app: every request is forwarded to this base URL plus its path and query (a port
    /// alone, 3000, :3000 or localhost:3000, means http://127.0.0.1:PORT). Without it, what no
    /// --route takes is answered by --mock
    #[arg(long, value_name = "URL", value_parser = Target::parse_arg)]
    pub forward: Option<Target>,
    /// '/PREFIX -> URL [strip]' or 'FILTER -> URL|mock:SPEC' (repeatable): the longest prefix
    /// wins, then the first matching filter, then --forward
    #[arg(long = "route", value_name = "RULE", value_parser = Route::parse)]
    pub routes: Vec<Route>,
    /// What hooktap answers instead of an app: 'status=N,delay=D,body=@FILE,header=Name:value'
    /// (default status=200)
    #[arg(long, value_name = "SPEC")]
    pub mock: Option<String>,
    /// Forward only the Events this filter matches; the others are stored and get --mock
    #[arg(long, value_name = "FILTER")]
    pub only: Option<String>,
    /// Fail deliveries on purpose: 30% (or 30%:503) at random, or first:N (or first:N:STATUS),
    /// the first N of each provider event id
    #[arg(long, value_name = "RULE")]
    pub fail: Option<String>,
    /// A header added to every forwarded request, 'Name: value' (repeatable; never stored as
    /// part of the Event)
    #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// A config file whose [listen] table gives defaults for these flags (and --port,
    /// --public, --register); default: the [listen] table of ~/.config/hooktap/config.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
}

/// The `[listen]` table of a config file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenFile {
    pub forward: Option<String>,
    #[serde(default)]
    pub routes: Vec<String>,
    pub mock: Option<String>,
    pub only: Option<String>,
    pub fail: Option<String>,
    #[serde(default)]
    pub headers: Vec<String>,
    pub port: Option<u16>,
    pub public: Option<String>,
    pub register: Option<String>,
    /// The file it came from, for messages.
    #[serde(skip)]
    pub source: Option<std::path::PathBuf>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct File {
    #[serde(default)]
    listen: ListenFile,
}

/// Reads the `[listen]` table of `path` (a missing default file is an empty table).
pub fn read_file(path: Option<&std::path::Path>) -> anyhow::Result<ListenFile> {
    let default = crate::providers::secrets::config_path();
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (default, false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ListenFile::default());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let file: File = toml::from_str(&text)
        .map_err(|e| UsageError(format!("{}: [listen]: {}", path.display(), e.message())))?;
    Ok(ListenFile {
        source: Some(path),
        ..file.listen
    })
}

/// What the flags and the file chose, checked.
pub struct Chosen {
    pub routes: Routes,
    pub fail: Option<Fail>,
    pub headers: HeaderList,
}

impl RouteArgs {
    /// Merges `file` under the flags and checks it all (a usage error names the bad value).
    pub fn resolve(&self, file: &ListenFile) -> anyhow::Result<Chosen> {
        let usage = |m: String| anyhow::Error::new(UsageError(m));
        let in_file = |m: String| match &file.source {
            Some(path) => usage(format!("{}: [listen]: {m}", path.display())),
            None => usage(m),
        };
        let forward = match (&self.forward, &file.forward) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(text)) => Some(Target::parse_arg(text).map_err(in_file)?),
            (None, None) => None,
        };
        let routes = if self.routes.is_empty() {
            let parsed: Result<Vec<Route>, String> =
                file.routes.iter().map(|r| Route::parse(r)).collect();
            parsed.map_err(in_file)?
        } else {
            self.routes.clone()
        };
        let mock = match (&self.mock, &file.mock) {
            (Some(text), _) => Some(Mock::parse(text).map_err(|e| usage(format!("--mock: {e}")))?),
            (None, Some(text)) => Some(Mock::parse(text).map_err(in_file)?),
            (None, None) => None,
        };
        let only = match self.only.as_ref().or(file.only.as_ref()) {
            Some(text) => Some(
                crate::filter::parse(text).map_err(|e| usage(format!("--only: the filter {e}")))?,
            ),
            None => None,
        };
        let fail = match self.fail.as_ref().or(file.fail.as_ref()) {
            Some(text) => Some(Fail::parse(text).map_err(usage)?),
            None => None,
        };
        let pairs = if self.headers.is_empty() {
            let parsed: Result<Vec<_>, String> =
                file.headers.iter().map(|h| parse_header(h)).collect();
            parsed.map_err(in_file)?
        } else {
            self.headers.clone()
        };
        let mut headers = HeaderList::default();
        for (name, value) in pairs {
            headers.push(&name, value.into_bytes());
        }
        Ok(Chosen {
            routes: Routes::new(routes, forward, mock).only(only),
            fail,
            headers,
        })
    }
}

/// Parses `Name: value` (a valid header name and value).
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(format!("-H '{text}' has no ':': write 'Name: value'"));
    };
    let (name, value) = (name.trim(), value.trim());
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("-H '{text}': '{name}' is not a header name"));
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err(format!(
            "-H '{text}': the value is not a valid header value"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file() {
        let file: File = toml::from_str(
            "[listen]\nforward = \"3000\"\nroutes = [\"/gh -> 4000\"]\nmock = \"status=202\"\n\
             headers = [\"X-Env: file\"]\nfail = \"first:1\"\n",
        )
        .unwrap();
        let none = RouteArgs::default();
        let chosen = none.resolve(&file.listen).unwrap();
        assert_eq!(
            chosen.routes.default_target().unwrap().as_str(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(chosen.routes.targets().count(), 2);
        assert_eq!(chosen.headers.get("x-env"), Some(&b"file"[..]));
        assert!(chosen.fail.is_some());
        let flags = RouteArgs {
            forward: Some(Target::parse_arg("5000").unwrap()),
            headers: vec![("X-Env".into(), "flag".into())],
            ..RouteArgs::default()
        };
        let chosen = flags.resolve(&file.listen).unwrap();
        assert_eq!(
            chosen.routes.default_target().unwrap().as_str(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(chosen.headers.get("x-env"), Some(&b"flag"[..]));
        let bad: Result<File, _> = toml::from_str("[listen]\nfoward = \"3000\"\n");
        assert!(bad.is_err(), "an unknown key is refused");
    }

    #[test]
    fn header_flags() {
        assert_eq!(
            parse_header("X-Env: dev"),
            Ok(("X-Env".into(), "dev".into()))
        );
        assert!(parse_header("X-Env dev").unwrap_err().contains("no ':'"));
        assert!(
            parse_header("X Env: dev")
                .unwrap_err()
                .contains("not a header name")
        );
    }
}
