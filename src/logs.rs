//! Where log lines (tracing) go: stderr, or a file while a terminal UI owns the screen, so a
//! warning never scribbles over it. `main` installs [`Sink`]; the TUI calls [`to_file`].

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use std::fmt;

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{FormatFields, Writer, debug_fn};

use crate::text::sanitize;

/// The file log lines go to instead of stderr, when set.
static FILE: Mutex<Option<File>> = Mutex::new(None);

/// The tracing writer: stderr, or the file set by [`to_file`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Sink;

impl<'a> MakeWriter<'a> for Sink {
    type Writer = Sink;

    fn make_writer(&'a self) -> Sink {
        Sink
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut file = FILE.lock().unwrap_or_else(|e| e.into_inner());
        match file.as_mut() {
            // The file gets plain text: colour codes are for terminals.
            Some(f) => f.write_all(&strip_ansi(buf)).map(|_| buf.len()),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut file = FILE.lock().unwrap_or_else(|e| e.into_inner());
        match file.as_mut() {
            Some(f) => f.flush(),
            None => std::io::stderr().flush(),
        }
    }
}

/// How a log line's fields are written: each value through [`crate::text::sanitize`], since a
/// warning may quote what a sender sent (a path, a header): a log line stays one line and
/// carries no terminal control from captured data.
pub fn fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    debug_fn(
        |writer: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug| {
            let text = format!("{value:?}");
            match field.name() {
                "message" => write!(writer, "{}", sanitize(&text)),
                name => write!(writer, "{name}={}", sanitize(&text)),
            }
        },
    )
    .delimited(" ")
}

/// Sends log lines to `path` (appended, `0600`) until the returned guard is dropped.
pub fn to_file(path: &Path) -> std::io::Result<Redirect> {
    crate::store::files::create_parent(path)?;
    let file = crate::store::files::append_private_file(path)?;
    *FILE.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
    Ok(Redirect(()))
}

/// While alive, log lines go to the file; dropped, they go to stderr again.
#[must_use]
pub struct Redirect(());

impl Drop for Redirect {
    fn drop(&mut self) {
        *FILE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Removes `ESC [ ... letter` sequences.
fn strip_ansi(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b && bytes.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            i += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_to_the_file_while_redirected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/hooktap.log");
        {
            let _guard = to_file(&path).unwrap();
            Sink.write_all(b"\x1b[33m WARN\x1b[0m hello\n").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), " WARN hello\n");
        assert!(FILE.lock().unwrap().is_none());
    }

    /// The log file and the folders made for it are private: `0700` and `0600`, and a log file
    /// left wider by an older hooktap is narrowed when opened.
    #[test]
    fn the_log_file_and_its_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/hooktap/hooktap.log");
        drop(to_file(&path).unwrap());
        assert_eq!(mode(&dir.path().join("data")), 0o700);
        assert_eq!(mode(&dir.path().join("data/hooktap")), 0o700);
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(to_file(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
    }
}
