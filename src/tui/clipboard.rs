//! Copying (`c` curl, `y` body): to the clipboard through the terminal (OSC 52), and always to a
//! file in the data folder, because a terminal that ignores OSC 52 cannot tell us so.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;

use super::data::Clip;

/// Larger copies go to the file only (terminals cap OSC 52 payloads).
const MAX_OSC52: usize = 512 << 10;

/// The escape sequence that puts `bytes` on the system clipboard.
pub fn osc52(bytes: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("\x1b]52;c;{encoded}\x07").into_bytes()
}

/// Whether the terminal is likely to honour OSC 52, from its environment: not the Linux
/// console, not VTE (GNOME Terminal), and inside tmux only with `set-clipboard on`.
pub fn osc52_likely(term: Option<&str>, vte: bool, tmux_clipboard: Option<&str>) -> bool {
    if vte || matches!(term, None | Some("" | "linux" | "dumb")) {
        return false;
    }
    tmux_clipboard.is_none_or(|setting| setting.trim() == "on")
}

fn osc52_here() -> bool {
    let term = std::env::var("TERM").ok();
    let vte = std::env::var_os("VTE_VERSION").is_some();
    let tmux = std::env::var_os("TMUX").is_some().then(|| {
        std::process::Command::new("tmux")
            .args(["show-options", "-gv", "set-clipboard"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    });
    osc52_likely(term.as_deref(), vte, tmux.as_deref())
}

/// Saves `clip` under `dir/copies/` (folder `0700`, file `0600`) and returns the path.
pub fn save(clip: &Clip, dir: &Path) -> std::io::Result<PathBuf> {
    let folder = dir.join("copies");
    crate::store::files::create_dir(&folder)?;
    let path = folder.join(&clip.file_name);
    let mut file = crate::store::files::create_private_file(&path)?;
    file.write_all(&clip.bytes)?;
    Ok(path)
}

/// `~/…` for paths under the home folder.
fn tidy(path: &Path) -> String {
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) if !home.as_os_str().is_empty() => match path.strip_prefix(&home) {
            Ok(rest) => format!("~/{}", rest.display()),
            Err(_) => path.display().to_string(),
        },
        _ => path.display().to_string(),
    }
}

/// Copies `clip`: OSC 52 through `write` when the terminal likely takes it, and the file.
/// Returns the message for the footer and whether it is an error.
pub fn copy(
    clip: &Clip,
    dir: &Path,
    write: impl FnOnce(&[u8]) -> std::io::Result<()>,
) -> (String, bool) {
    let saved = save(clip, dir);
    let text_like = std::str::from_utf8(&clip.bytes).is_ok();
    let sent = text_like
        && clip.bytes.len() <= MAX_OSC52
        && osc52_here()
        && write(&osc52(&clip.bytes)).is_ok();
    match (sent, saved) {
        (true, Ok(path)) => (
            format!(
                "copied {} to the clipboard; also in {}",
                clip.label,
                tidy(&path)
            ),
            false,
        ),
        (false, Ok(path)) => (format!("saved {} to {}", clip.label, tidy(&path)), false),
        (true, Err(_)) => (format!("copied {} to the clipboard", clip.label), false),
        (false, Err(e)) => (
            format!("cannot save {} in {}: {e}", clip.label, tidy(dir)),
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_sequence_and_when_it_is_tried() {
        assert_eq!(osc52(b"hi"), b"\x1b]52;c;aGk=\x07");
        assert!(osc52_likely(Some("xterm-256color"), false, None));
        assert!(!osc52_likely(Some("linux"), false, None));
        assert!(!osc52_likely(None, false, None));
        assert!(!osc52_likely(Some("xterm-256color"), true, None));
        assert!(osc52_likely(Some("tmux-256color"), false, Some("on\n")));
        assert!(!osc52_likely(
            Some("tmux-256color"),
            false,
            Some("external\n")
        ));
    }

    #[test]
    fn copies_are_saved_privately() {
        let dir = tempfile::tempdir().unwrap();
        let clip = Clip {
            label: "body of #1".into(),
            bytes: vec![0xff, 0x00],
            file_name: "event-1.body.bin".into(),
        };
        let (message, error) = copy(&clip, dir.path(), |_| panic!("binary is never sent"));
        assert!(!error);
        let path = dir.path().join("copies/event-1.body.bin");
        assert!(message.contains("saved body of #1 to"), "{message}");
        assert_eq!(std::fs::read(&path).unwrap(), vec![0xff, 0x00]);
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("copies")), 0o700);
        // A copy left readable by others (an older hooktap, a umask) is narrowed when rewritten.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let fresh = dir.path().join("new/hooktap");
        save(&clip, &fresh).unwrap();
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&fresh.join("copies")), 0o700);
        save(&clip, dir.path()).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
