//! What `--register` must remember across runs, in the user's data folder
//! (`ayrshare-webhooks.json`, `0600`): the URLs hooktap registered (so a later run may take
//! them back) and the URLs it replaced (so they are restored, at the next start if hooktap died
//! first). And a signing secret hooktap made, kept in the user's config file (`0600`).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// How many registered URLs are remembered.
const KEPT_URLS: usize = 50;

/// The remembered registrations.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// URLs hooktap registered, oldest first.
    #[serde(default)]
    pub ours: Vec<String>,
    /// Action → the URL it pointed to before `--register-replace`.
    #[serde(default)]
    pub replaced: BTreeMap<String, String>,
}

/// The state file: `<data folder>/ayrshare-webhooks.json`.
pub fn path() -> PathBuf {
    crate::config::data_dir().join("ayrshare-webhooks.json")
}

impl State {
    /// Reads `file`; missing is empty, unreadable is an error naming the file.
    pub fn load(file: &Path) -> anyhow::Result<State> {
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("cannot read {}: fix or remove it", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
        }
    }

    /// Remembers `url` as one hooktap registered.
    pub fn add_ours(&mut self, url: &str) {
        self.ours.retain(|u| u != url);
        self.ours.push(url.to_string());
        let extra = self.ours.len().saturating_sub(KEPT_URLS);
        self.ours.drain(..extra);
    }

    /// Writes `file` (`0600`, its folder `0700`).
    pub fn save(&self, file: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        write_private(file, &json)
    }
}

/// Writes `bytes` to `file` through a new file renamed into place, `0600`, its folder `0700`.
fn write_private(file: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = file.with_extension("tmp");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, file))
        .with_context(|| format!("cannot write {}", file.display()))
}

/// A new signing secret: 32 random bytes, hex.
pub fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .context("cannot read /dev/urandom to make a signing secret")?;
    Ok(hex::encode(bytes))
}

/// Stores `secret` as `[providers.ayrshare] secret` in the config file at `file` (made `0600`),
/// keeping what else it holds.
pub fn store_secret(file: &Path, secret: &str) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let mut table: toml::Table = toml::from_str(&text)
        .with_context(|| format!("cannot read {}: fix the TOML", file.display()))?;
    let has_section = table
        .get("providers")
        .and_then(|p| p.get("ayrshare"))
        .is_some();
    let new_text = if has_section {
        // Rewritten whole: the section exists (without a secret) and TOML forbids a second.
        let providers = table
            .entry("providers")
            .or_insert_with(|| toml::Value::Table(Default::default()));
        if let Some(t) = providers.get_mut("ayrshare").and_then(|a| a.as_table_mut()) {
            t.insert("secret".into(), secret.into());
        }
        toml::to_string(&table)?
    } else {
        // Appended, so the user's comments stay.
        let sep = if text.is_empty() || text.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        format!(
            "{text}{sep}\n# Made by `hooktap listen --register ayrshare`: Ayrshare signs webhooks with it.\n\
             [providers.ayrshare]\nsecret = \"{secret}\"\n"
        )
    };
    write_private(file, new_text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn state_round_trips_private_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub").join("ayrshare-webhooks.json");
        assert_eq!(State::load(&file).unwrap(), State::default());
        let mut s = State::default();
        for i in 0..60 {
            s.add_ours(&format!("https://{i}.example"));
        }
        s.add_ours("https://10.example");
        s.replaced
            .insert("social".into(), "https://prod.example/h".into());
        s.save(&file).unwrap();
        let back = State::load(&file).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.ours.len(), KEPT_URLS);
        assert_eq!(back.ours.last().unwrap(), "https://10.example");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_made_secret_is_added_to_the_config_file_keeping_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "# mine\n[providers.github]\nsecret = \"gh\"").unwrap();
        let secret = new_secret().unwrap();
        assert_eq!(secret.len(), 64);
        assert_ne!(secret, new_secret().unwrap());
        store_secret(&file, &secret).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("# mine\n"), "{text}");
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            table["providers"]["ayrshare"]["secret"].as_str(),
            Some(secret.as_str())
        );
        assert_eq!(table["providers"]["github"]["secret"].as_str(), Some("gh"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        std::fs::write(&file, "[providers.ayrshare]\n").unwrap();
        store_secret(&file, "abc").unwrap();
        let table: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(
            table["providers"]["ayrshare"]["secret"].as_str(),
            Some("abc")
        );
    }
}
