//! Where signing secrets come from: `--secret PROVIDER=SECRET` flags, `HOOKTAP_SECRET_<PROVIDER>`
//! variables, and `[providers.<name>] secret = "…"` in `$XDG_CONFIG_HOME/hooktap/config.toml`
//! (`~/.config/hooktap/config.toml`). For each provider the first source that has one wins, in
//! that order. Secrets are never written to the Store nor printed.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use super::{NAMES, Providers, canonical};

/// The environment variable prefix: `HOOKTAP_SECRET_AYRSHARE`, `HOOKTAP_SECRET_STANDARD_WEBHOOKS`.
pub const ENV_PREFIX: &str = "HOOKTAP_SECRET_";

/// The config file: `$XDG_CONFIG_HOME/hooktap/config.toml`, else `~/.config/hooktap/config.toml`.
pub fn config_path() -> PathBuf {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
            PathBuf::from(home).join(".config")
        }
    };
    base.join("hooktap").join("config.toml")
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    providers: HashMap<String, ProviderConfig>,
}

#[derive(Default, Deserialize)]
struct ProviderConfig {
    secret: Option<String>,
    /// Several at once, e.g. during a secret rotation.
    #[serde(default)]
    secrets: Vec<String>,
}

/// Secrets found, and warnings for the user (never containing a secret).
#[derive(Debug, Default)]
pub struct Found {
    pub pairs: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// Merges the three sources. `flags` are `(provider, secret)` pairs already checked by the
/// command line; `env` is the process environment; `file` is the config file's path, text and
/// permission bits, when it exists.
pub fn gather(
    flags: &[(String, String)],
    env: impl IntoIterator<Item = (String, String)>,
    file: Option<(&Path, &str, u32)>,
) -> anyhow::Result<Found> {
    let mut found = Found::default();
    let mut by_source: [HashMap<&'static str, Vec<String>>; 3] = Default::default();
    for (name, secret) in flags {
        if let Some(name) = canonical(name) {
            by_source[0].entry(name).or_default().push(secret.clone());
        }
    }
    for (var, secret) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        match canonical(rest) {
            Some(name) if !secret.is_empty() => by_source[1].entry(name).or_default().push(secret),
            Some(_) => {}
            None => found.warnings.push(format!(
                "{var} names no known provider (known: {}); ignored",
                NAMES.join(", ")
            )),
        }
    }
    if let Some((path, text, mode)) = file {
        if mode & 0o004 != 0 {
            found.warnings.push(format!(
                "{} holds secrets but every user of this machine can read it: run chmod 600 {}",
                path.display(),
                path.display()
            ));
        }
        let config: ConfigFile = toml::from_str(text).with_context(|| {
            format!(
                "cannot read {}: fix the TOML (e.g. [providers.ayrshare] secret = \"...\")",
                path.display()
            )
        })?;
        for (name, p) in config.providers {
            match canonical(&name) {
                Some(canon) => {
                    let list = by_source[2].entry(canon).or_default();
                    list.extend(
                        p.secret
                            .into_iter()
                            .chain(p.secrets)
                            .filter(|s| !s.is_empty()),
                    );
                }
                None => found.warnings.push(format!(
                    "{}: [providers.{name}] is no known provider (known: {}); ignored",
                    path.display(),
                    NAMES.join(", ")
                )),
            }
        }
    }
    for name in NAMES {
        if let Some(list) = by_source
            .iter()
            .find_map(|s| s.get(name).filter(|l| !l.is_empty()))
        {
            found
                .pairs
                .extend(list.iter().map(|s| (name.to_string(), s.clone())));
        }
    }
    Ok(found)
}

/// Reads the environment and the config file, merges them with `flags`, prints any warnings
/// on stderr, and returns the configured [`Providers`].
pub fn load(flags: &[(String, String)]) -> anyhow::Result<Providers> {
    let path = config_path();
    let file = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode())
                .unwrap_or(0);
            Some((text, mode))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    let env = std::env::vars().filter(|(k, _)| k.starts_with(ENV_PREFIX));
    let found = gather(
        flags,
        env,
        file.as_ref().map(|(t, m)| (path.as_path(), t.as_str(), *m)),
    )?;
    for w in &found.warnings {
        eprintln!("hooktap: warning: {w}");
    }
    Ok(Providers::new(found.pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(found: &Found) -> Vec<(&str, &str)> {
        found
            .pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect()
    }

    #[test]
    fn flags_then_env_then_file() {
        let flags = vec![("ayrshare".to_string(), "from-flag".to_string())];
        let env = vec![
            ("HOOKTAP_SECRET_AYRSHARE".into(), "from-env".into()),
            (
                "HOOKTAP_SECRET_STANDARD_WEBHOOKS".into(),
                "whsec_env".into(),
            ),
            ("HOOKTAP_SECRET_NOPE".into(), "x".into()),
        ];
        let text = "[providers.ayrshare]\nsecret = \"from-file\"\n\
                    [providers.github]\nsecret = \"gh-file\"\n\
                    [providers.svix]\nsecrets = [\"a\", \"b\"]\n";
        let found = gather(&flags, env, Some((Path::new("c.toml"), text, 0o600))).unwrap();
        assert_eq!(
            pairs(&found),
            vec![
                ("ayrshare", "from-flag"),
                ("github", "gh-file"),
                ("standard-webhooks", "whsec_env"),
            ]
        );
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(found.warnings[0].contains("HOOKTAP_SECRET_NOPE"));
    }

    #[test]
    fn world_readable_file_warns_without_the_secret() {
        let text = "[providers.ayrshare]\nsecret = \"s3cret\"\n";
        let found = gather(&[], Vec::new(), Some((Path::new("c.toml"), text, 0o644))).unwrap();
        assert_eq!(pairs(&found), vec![("ayrshare", "s3cret")]);
        assert!(found.warnings[0].contains("chmod 600"));
        assert!(!found.warnings[0].contains("s3cret"));
    }

    #[test]
    fn broken_toml_is_an_error_naming_the_file() {
        let err = gather(
            &[],
            Vec::new(),
            Some((Path::new("c.toml"), "[providers", 0o600)),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("c.toml"));
    }
}
