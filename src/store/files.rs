//! hooktap's private folders (`0700`) and files (`0600`): the Store and the Relay's database
//! (whose `-wal` and `-shm` SQLite creates with the database file's mode), the data folder's
//! log and copies. The modes are given to `mkdir` and `open` themselves, so no umask widens them
//! and no file is ever readable by others, even for a moment.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and its missing parents, each `0700` (folders already there are left as
/// they are).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Creates the folder that holds `file` (see [`create_dir`]), when `file` names one.
pub fn create_parent(file: &Path) -> std::io::Result<()> {
    match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => create_dir(dir),
        _ => Ok(()),
    }
}

/// Creates the database file `path`, `0600`, when nothing is there yet, before SQLite opens it
/// (SQLite would make it `0644`). A symlink that points nowhere yet is followed: the file it
/// names is created, `0600` too. Returns whether this call created the file.
pub fn create_db_file(path: &Path) -> std::io::Result<bool> {
    let private = || {
        let mut options = OpenOptions::new();
        options.write(true).mode(0o600);
        options
    };
    match private().create_new(true).open(path) {
        Ok(_) => Ok(true),
        // `O_EXCL` never follows a symlink, so a dangling one lands here as well.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let dangling = std::fs::symlink_metadata(path)?.file_type().is_symlink()
                && std::fs::metadata(path).is_err_and(|e| e.kind() == ErrorKind::NotFound);
            if dangling {
                private().create(true).open(path)?;
            }
            Ok(dangling)
        }
        Err(e) => Err(e),
    }
}

/// Makes the database file at `path` (or the file a symlink there names) `0600`: for a file
/// made beforehand (`touch`, `mktemp`, an empty SQLite database) that is about to become a
/// Store, since what it will hold is as private as any Store. Anything but a regular file (a
/// device such as `/dev/null`) is left alone; modes are only ever narrowed.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.is_file() || mode & !0o600 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o600))
}

/// Opens `path` for writing, truncated, creating it `0600`; a file already there is made
/// `0600` too (its mode is changed through the open handle, so a swapped path cannot redirect
/// it).
pub fn create_private_file(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    narrow(&file)?;
    Ok(file)
}

/// Opens `path` for appending, creating it `0600`; a file already there is made `0600` too.
pub fn append_private_file(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    narrow(&file)?;
    Ok(file)
}

/// Takes group and other permissions off an open file.
fn narrow(file: &File) -> std::io::Result<()> {
    let mode = file.metadata()?.permissions().mode() & 0o7777;
    if mode & !0o600 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o600))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_are_0700_all_the_way_down() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a").join("b");
        create_parent(&deep.join("events.db")).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&deep), 0o700);
        create_parent(Path::new("events.db")).unwrap();
    }

    #[test]
    fn a_dangling_symlink_gets_its_file_created_0600() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.db");
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(create_db_file(&link).unwrap());
        assert_eq!(mode(&real), 0o600);
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert!(!create_db_file(&link).unwrap(), "there now");
        assert!(!create_db_file(&real).unwrap());
    }

    #[test]
    fn files_made_beforehand_are_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(create_private_file(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        drop(append_private_file(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        make_private(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        make_private(&path).unwrap();
        assert_eq!(mode(&path), 0o400, "never widened");
    }
}
