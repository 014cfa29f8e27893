//! Private files (issue 13): every folder hooktap creates is `0700` and every file `0600`,
//! under umask 000 and through a `--db` symlink that points nowhere yet: the Store (`listen`,
//! `import`, `demo`), its `-wal`, `-shm` and redeliver lock, the Relay's database, and the
//! data folder with the terminal UI's log.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Behaviour, Binary, TestTarget, listen_args, ok_on, post};

/// One Event, for `import`.
const HAR: &str =
    r#"{"log": {"entries": [{"request": {"method": "POST", "url": "https://x/a"}}]}}"#;

/// `sh -c 'umask 000; exec hooktap ...'`: the binary under the loosest umask; add its args.
pub fn umask_000() -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", r#"umask 000; exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_hooktap"))
        .env_remove("HOOKTAP_DB")
        .env("NO_COLOR", "1");
    cmd
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Asserts each of `folders` is `0700`, and `db` with whichever of its `-wal` and `-shm` exist
/// `0600` (the database itself must exist).
fn private(folders: &[&Path], db: &Path) {
    for f in folders {
        assert_eq!(mode(f), 0o700, "folder {} is {:o}", f.display(), mode(f));
    }
    assert_eq!(mode(db), 0o600, "{} is {:o}", db.display(), mode(db));
    for suffix in ["-wal", "-shm"] {
        let p = Path::new(&format!("{}{suffix}", db.display())).to_owned();
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{} is {:o}", p.display(), mode(&p));
        }
    }
}

/// Reads `child`'s stderr until a line contains `needle` (30 s at most).
fn wait_for(child: &mut Child, needle: &str) {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains(needle) {
            return;
        }
        seen.push(line);
    }
    panic!("no line with {needle:?} within 30 s: {seen:?}");
}

/// Pass (listen): under umask 000, a `--db` symlink pointing nowhere yet gets its file created
/// `0600`, with `-wal`, `-shm` and the `--redeliver` lock `0600`; a `--db` in folders that do
/// not exist gets them `0700`.
#[tokio::test]
async fn listen_files_are_private_through_a_dangling_symlink() {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.db");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut cmd = umask_000();
    cmd.args(listen_args(&target.url(), &link))
        .arg("--redeliver");
    let bin = Binary::spawn(cmd);
    post(&bin.url("/x"), &[], b"x".to_vec()).await;
    private(&[], &real);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(mode(&dir.path().join("link.db-redeliver.lock")), 0o600);
    drop(bin);

    let nested = dir.path().join("a").join("b").join("events.db");
    let bin = Binary::spawn({
        let mut cmd = umask_000();
        cmd.args(listen_args(&target.url(), &nested));
        cmd
    });
    post(&bin.url("/x"), &[], b"x".to_vec()).await;
    private(&[&dir.path().join("a"), &dir.path().join("a/b")], &nested);
}

/// Pass (import): a file made beforehand that becomes a Store is made `0600`: an empty SQLite
/// database (`0644`), and an empty file reached through a symlink (`0644`).
#[test]
fn import_makes_a_file_made_beforehand_private() {
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("in.har");
    std::fs::write(&har, HAR).unwrap();
    let sqlite = dir.path().join("empty.db");
    rusqlite::Connection::open(&sqlite)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); DROP TABLE t;")
        .unwrap();
    let touched = dir.path().join("touched.db");
    std::fs::write(&touched, "").unwrap();
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&touched, &link).unwrap();
    for (db, file) in [(&sqlite, &sqlite), (&link, &touched)] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = ok_on(db, &["import", har.to_str().unwrap()]);
        assert!(out.contains("imported 1 event"), "{out}");
        private(&[], file);
    }
}

/// Pass (relay): `relay channel add` under umask 000 creates the Relay's database `0600`
/// through a symlink pointing nowhere yet, and in new folders `0700`.
#[test]
fn the_relay_database_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("relay.db");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let nested = dir.path().join("r").join("s").join("relay.db");
    for db in [&link, &nested] {
        let out = umask_000()
            .args(["relay", "channel", "add", "demo", "--db"])
            .arg(db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    private(&[], &real);
    private(&[&dir.path().join("r"), &dir.path().join("r/s")], &nested);
}

/// Pass (demo): `demo --no-tui` under umask 000 makes its Store's new folders `0700` and its
/// files `0600`.
#[test]
fn demo_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d").join("e").join("events.db");
    let mut child = umask_000()
        .args(["demo", "--no-tui", "--db"])
        .arg(&db)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&mut child, "sample events sent");
    private(&[&dir.path().join("d"), &dir.path().join("d/e")], &db);
    let _ = child.kill();
    let _ = child.wait();
}

/// Pass (ui, the data folder and the log): `hooktap ui` in a terminal (`script` gives it one)
/// under umask 000 creates the data folder `0700` and its log file `0600`.
#[test]
fn the_ui_data_folder_and_log_are_private() {
    crate::support::require("script");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let har = dir.path().join("in.har");
    std::fs::write(&har, HAR).unwrap();
    ok_on(&db, &["import", har.to_str().unwrap()]);
    let data = dir.path().join("xdg");
    let mut child = Command::new("sh")
        .args([
            "-c",
            r#"umask 000; exec script -qec "\"$0\" ui --db \"$1\"" /dev/null"#,
        ])
        .arg(env!("CARGO_BIN_EXE_hooktap"))
        .arg(&db)
        .env("XDG_DATA_HOME", &data)
        .env("XDG_STATE_HOME", &data)
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = data.join("hooktap").join("hooktap.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log.exists() {
        assert!(Instant::now() < deadline, "the ui made no log file in 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    for (path, want) in [
        (&data, 0o700),
        (&data.join("hooktap"), 0o700),
        (&log, 0o600),
    ] {
        assert_eq!(mode(path), want, "{} is {:o}", path.display(), mode(path));
    }
    let _ = child.kill();
    let _ = child.wait();
}
