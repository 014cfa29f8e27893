//! `export -o FILE` (issue 13): written through a temporary file of its own in FILE's folder,
//! never through something planted there; a new FILE is `0600`, an existing one keeps its mode
//! (at most `0600` with `--include-secrets`); folders, special files and symlinks are refused
//! with exit 1 and nothing left behind; `-o -` is stdout.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{hooktap, ok_on, on_store};

/// A Store holding two imported Events, one with an `Authorization` header.
fn store(dir: &Path) -> PathBuf {
    let db = dir.join("events.db");
    let har = dir.join("in.har");
    std::fs::write(
        &har,
        r#"{"log": {"entries": [
        {"request": {"method": "POST", "url": "https://x/hooks/a",
          "headers": [{"name": "Authorization", "value": "Bearer s3cret"}],
          "postData": {"mimeType": "application/json", "text": "{\"a\":1}"}}},
        {"request": {"method": "POST", "url": "https://x/hooks/b"}}]}}"#,
    )
    .unwrap();
    ok_on(&db, &["import", har.to_str().unwrap()]);
    std::fs::remove_file(&har).unwrap();
    db
}

fn export(db: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["export", "--format", "har", "-o", out.to_str().unwrap()];
    args.extend(extra);
    on_store(db, &args)
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every name in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts `out` failed with exit 1 and a message containing `says`.
fn refused(out: &Output, says: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(says), "{err}");
}

/// Pass: a symlink planted at `FILE.partial` (the name today's export wrote through) is not
/// followed: the file it points to is unchanged, and FILE is a new regular file with the
/// export.
#[test]
fn a_planted_partial_symlink_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let out = dir.path().join("out.har");
    std::os::unix::fs::symlink(&victim, dir.path().join("out.har.partial")).unwrap();
    let done = export(&db, &out, &[]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(std::fs::symlink_metadata(&out).unwrap().is_file());
    assert!(std::fs::read_to_string(&out).unwrap().contains("/hooks/b"));
}

/// Pass: a folder, a socket, a FIFO, a symlink (to a regular file) and a path ending in `/`
/// are refused with exit 1 and a message saying what is there; each is left as it was and
/// nothing else appears in the folder.
#[test]
fn folders_special_files_and_symlinks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    let socket = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let fifo = dir.path().join("fifo");
    crate::support::require("mkfifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let real = dir.path().join("real.har");
    std::fs::write(&real, "mine").unwrap();
    let link = dir.path().join("link.har");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let before = names(dir.path());

    refused(
        &export(&db, &folder, &[]),
        "it is a folder; give a file name, such as",
    );
    refused(&export(&db, &socket, &[]), "is not a regular file");
    refused(&export(&db, &fifo, &[]), "is not a regular file");
    refused(&export(&db, &link, &[]), "is a symbolic link");
    let slash = PathBuf::from(format!("{}/new/", dir.path().display()));
    refused(&export(&db, &slash, &[]), "it names a folder");

    assert_eq!(names(dir.path()), before, "something was left behind");
    assert!(names(&folder).is_empty());
    assert!(
        std::fs::symlink_metadata(&socket)
            .unwrap()
            .file_type()
            .is_socket()
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "mine");
}

/// Pass: a new FILE is `0600` even under umask 000; an existing FILE keeps its mode (`0640`),
/// and with `--include-secrets` is narrowed to at most `0600` (`0644` becomes `0600`, `0400`
/// stays `0400`).
#[test]
fn modes_new_0600_existing_kept_and_narrowed_with_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let new = dir.path().join("new.har");
    let done = crate::files::umask_000()
        .args(["export", "--format", "har", "-o"])
        .arg(&new)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(mode(&new), 0o600, "a new export is {:o}", mode(&new));

    for (old, extra, want) in [
        (0o640, &[][..], 0o640),
        (0o644, &["--include-secrets"][..], 0o600),
        (0o400, &["--include-secrets"][..], 0o400),
    ] {
        let out = dir.path().join(format!("old-{old:o}.har"));
        std::fs::write(&out, "old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(old)).unwrap();
        let done = export(&db, &out, extra);
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        assert_eq!(
            mode(&out),
            want,
            "{old:o} {extra:?} became {:o}",
            mode(&out)
        );
        assert!(std::fs::read_to_string(&out).unwrap().contains("/hooks/a"));
    }
}

/// Pass: `-o -` writes the export to stdout, and no file named `-` appears.
#[test]
fn dash_is_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let done = hooktap()
        .current_dir(dir.path())
        .args(["export", "--format", "ndjson", "-o", "-", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&done.stdout).lines().count(), 2);
    assert!(!dir.path().join("-").exists());
}
