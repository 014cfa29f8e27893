//! `export -o FILE`: the export is written whole to a new temporary file in FILE's folder
//! (created exclusively, `0600`, so nothing planted there can redirect it) and renamed over
//! FILE at the end, or not at all: a failed export leaves nothing behind.
//!
//! Modes: a new FILE is `0600` (an export holds request bodies, as private as the Store); an
//! existing regular FILE keeps its mode, narrowed to at most `0600` with `--include-secrets`.
//! Refused, before anything is written: a folder, a device, a FIFO or a socket (`-o -` or a
//! shell redirect writes to those), and a symlink (its target is not replaced through it:
//! give the file's own path).

use std::fs::{File, Metadata, Permissions};
use std::io::{BufWriter, ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use anyhow::Context;

/// Writes an export to `path` through `write` (which returns how many Events it wrote), whole
/// or not at all. `secrets`: the export keeps secrets (`--include-secrets`).
pub fn write_file(
    path: &Path,
    secrets: bool,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<u64>,
) -> anyhow::Result<u64> {
    let existing = check(path)?;
    let folder = folder_of(path);
    let name = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy();
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(folder)
        .with_context(|| {
            format!(
                "cannot write {}: cannot create a file in {} (check its permissions)",
                path.display(),
                folder.display()
            )
        })?;
    let written = (|| {
        let mut out = BufWriter::new(temp.as_file());
        let count = write(&mut out)?;
        out.flush()?;
        drop(out);
        let file = temp.as_file();
        if let Some(meta) = &existing {
            keep_owner(file, meta);
        }
        file.set_permissions(Permissions::from_mode(mode(existing.as_ref(), secrets)))?;
        file.sync_all()?;
        anyhow::Ok(count)
    })()
    .with_context(|| format!("cannot write {}", path.display()))?;
    // A new FILE must still be new: never replace what appeared meanwhile.
    let placed = match existing {
        None => temp.persist_noclobber(path).map(drop),
        Some(_) => temp.persist(path).map(drop),
    };
    placed.map_err(|e| e.error).with_context(|| {
        format!(
            "cannot move the export into place at {} (nothing was written there)",
            path.display()
        )
    })?;
    Ok(written)
}

/// The mode the export gets: see the module docs.
fn mode(existing: Option<&Metadata>, secrets: bool) -> u32 {
    match existing.map(|m| m.permissions().mode() & 0o777) {
        None => 0o600,
        Some(m) if secrets => m & 0o600,
        Some(m) => m,
    }
}

/// Gives the export the owner of the file it replaces, where allowed (as root, or a group one
/// belongs to); elsewhere it is the user's own, as a new file would be.
fn keep_owner(file: &File, old: &Metadata) {
    let Ok(new) = file.metadata() else { return };
    if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
        let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
        if file.metadata().is_ok_and(|m| m.uid() != old.uid()) {
            let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
        }
    }
}

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// What is at `path` now: nothing (`None`) or a regular file; anything else is refused.
fn check(path: &Path) -> anyhow::Result<Option<Metadata>> {
    let shown = path.display();
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        anyhow::bail!(
            "cannot write {shown}: it names a folder; give a file name, such as {shown}export.har"
        );
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let folder = folder_of(path);
            if !folder.is_dir() {
                anyhow::bail!(
                    "cannot write {shown}: the folder {} does not exist",
                    folder.display()
                );
            }
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot write {shown}")),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        anyhow::bail!(
            "cannot write {shown}: it is a symbolic link, and export never replaces a file \
             through one; give the file's own path, or another name"
        );
    }
    if kind.is_dir() {
        anyhow::bail!(
            "cannot write {shown}: it is a folder; give a file name, such as {}",
            path.join("export.har").display()
        );
    }
    if !kind.is_file() {
        anyhow::bail!(
            "cannot write {shown}: it is not a regular file (a device, FIFO or socket), and \
             export writes only files; use `-o -` or a shell redirect (>) to write to it"
        );
    }
    Ok(Some(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_kept_and_narrowed_with_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "x").unwrap();
        for (old, secrets, new) in [
            (0o644, false, 0o644),
            (0o644, true, 0o600),
            (0o640, false, 0o640),
            (0o400, true, 0o400),
            (0o755, true, 0o600),
        ] {
            std::fs::set_permissions(&path, Permissions::from_mode(old)).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(mode(Some(&meta), secrets), new, "{old:o} {secrets}");
        }
        assert_eq!(mode(None, false), 0o600);
        assert_eq!(mode(None, true), 0o600);
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.har");
        let err = write_file(&path, false, |out| {
            out.write_all(b"half")?;
            anyhow::bail!("the Store went away")
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("the Store went away"),
            "{err:#}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
