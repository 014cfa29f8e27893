//! The runtime file beside the Store (`events.db.runtime.json`, `0600`): hooktap's pid, its
//! listener port and the public URL, for scripts and `hooktap trigger`. Rewritten when the URL
//! changes, removed when `listen` stops.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// What the runtime file says.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Runtime {
    /// hooktap's process id.
    pub pid: u32,
    /// The port `listen` accepts webhooks on.
    pub port: u16,
    /// The public URL the tunnel gave (empty without `--public`).
    #[serde(default)]
    pub public_url: String,
    /// The web inspector's address, e.g. `http://127.0.0.1:8788`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector: Option<String>,
    /// The token the inspector's state-changing calls need (header `X-Hooktap-Token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector_token: Option<String>,
    /// The token every request needs when the inspector is bound beyond loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector_access: Option<String>,
}

/// The runtime file of the Store at `db`.
pub fn path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".runtime.json");
    db.with_file_name(name)
}

/// Writes `runtime` to `file` (a new file renamed into place, so a reader never sees half).
pub fn write(file: &Path, runtime: &Runtime) -> anyhow::Result<()> {
    let json = serde_json::to_vec(runtime)?;
    let tmp = file.with_extension("json.tmp");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&json))
        .and_then(|()| std::fs::rename(&tmp, file));
    written.with_context(|| format!("cannot write the runtime file {}", file.display()))
}

/// Writes this process's runtime file; a failure is only logged (scripts lose a convenience,
/// the capture goes on).
pub fn record(file: &Path, port: u16, url: &str) {
    let r = Runtime {
        public_url: url.to_string(),
        ..ours(file, port)
    };
    if let Err(e) = write(file, &r) {
        tracing::warn!("{e:#}");
    }
}

/// Writes the inspector's address and tokens into this process's runtime file, keeping what
/// it already says; a failure is only logged.
pub fn record_inspector(file: &Path, port: u16, url: &str, token: &str, access: Option<&str>) {
    let r = Runtime {
        inspector: Some(url.to_string()),
        inspector_token: Some(token.to_string()),
        inspector_access: access.map(str::to_string),
        ..ours(file, port)
    };
    if let Err(e) = write(file, &r) {
        tracing::warn!("{e:#}");
    }
}

/// The runtime file as this process last wrote it (another process's is replaced whole).
fn ours(file: &Path, port: u16) -> Runtime {
    let pid = std::process::id();
    std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Runtime>(&b).ok())
        .filter(|r| r.pid == pid)
        .unwrap_or(Runtime {
            pid,
            port,
            public_url: String::new(),
            inspector: None,
            inspector_token: None,
            inspector_access: None,
        })
}

/// Removes the runtime file (already gone is fine).
pub fn remove(file: &Path) {
    match std::fs::remove_file(file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("cannot remove {}: {e}", file.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn written_private_beside_the_store_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(&dir.path().join("events.db"));
        assert_eq!(file, dir.path().join("events.db.runtime.json"));
        let r = Runtime {
            pid: 7,
            port: 8787,
            public_url: "https://a.trycloudflare.com".into(),
            inspector: None,
            inspector_token: None,
            inspector_access: None,
        };
        write(&file, &r).unwrap();
        let back: Runtime = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(back, r);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        remove(&file);
        assert!(!file.exists());
        remove(&file);
    }

    #[test]
    fn the_inspector_and_the_public_url_share_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(&dir.path().join("events.db"));
        record_inspector(&file, 8787, "http://127.0.0.1:8788", "ht_t", None);
        record(&file, 8787, "https://a.example");
        let back: Runtime = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(back.public_url, "https://a.example");
        assert_eq!(back.inspector.as_deref(), Some("http://127.0.0.1:8788"));
        assert_eq!(back.inspector_token.as_deref(), Some("ht_t"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
