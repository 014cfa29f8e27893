//! The binary as a user meets it: `list` and `show` output, clear one-line errors with the
//! right exit codes, and the Store's file modes.

use std::os::unix::fs::PermissionsExt;

use crate::common::{Behaviour, Binary, TestTarget, hooktap, post};

/// Pass: `list --json` and `show --json` print the guide's shapes for captured Events.
#[tokio::test]
async fn list_and_show_print_the_json_shape() {
    let target = TestTarget::start(Behaviour::Status(201)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = Binary::listen(&db, &target.url(), &[]);
    post(
        &bin.url("/hooks/a?x=1"),
        &[("x-dup", b"1"), ("x-dup", b"2")],
        b"{\"action\":\"social\",\"hookId\":\"h1\"}".to_vec(),
    )
    .await;
    post(&bin.url("/hooks/b"), &[], vec![0xff, 0x00, 0xfe]).await;

    let out = hooktap()
        .args(["list", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], 2, "newest first");
    assert_eq!(lines[1]["path"], "/hooks/a");
    assert_eq!(lines[1]["query"], "x=1");
    assert_eq!(lines[1]["status"], 201);
    assert_eq!(lines[1]["outcome"], "ok");
    assert_eq!(lines[1]["deliveries"], 1);
    assert_eq!(lines[1]["provider"], "ayrshare");
    assert_eq!(lines[1]["ingress"], "local");
    assert_eq!(lines[1]["body_size"], 33);
    assert!(lines[1]["duration_ms"].is_f64());

    let out = hooktap()
        .args(["show", "1", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dups: Vec<&str> = record["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0] == "x-dup")
        .map(|h| h[1].as_str().unwrap())
        .collect();
    assert_eq!(dups, ["1", "2"]);
    assert_eq!(record["body"], "{\"action\":\"social\",\"hookId\":\"h1\"}");
    assert_eq!(record["deliveries"][0]["kind"], "original");
    assert_eq!(record["deliveries"][0]["status"], 201);
    assert_eq!(record["deliveries"][0]["body"], "target says 201");

    let out = hooktap()
        .args(["show", "2", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["body_base64"], "/wD+");
    let out = hooktap()
        .args(["show", "2", "--body", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.stdout, vec![0xff, 0x00, 0xfe]);

    let out = hooktap().args(["list", "--db"]).arg(&db).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("/hooks/a") && text.contains("#2"), "{text}");
}

fn run_err(args: &[&str]) -> (i32, String) {
    let out = hooktap().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Pass: each mistake gets one line saying what failed and what to do, exit 1 (runtime) or 2
/// (usage).
#[tokio::test]
async fn errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let db_s = db.to_str().unwrap();

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, err) = run_err(&[
        "listen",
        "--forward",
        "http://127.0.0.1:9",
        "--port",
        &port,
        "--db",
        db_s,
        "--no-tui",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("address in use") && err.contains("--port"),
        "{err}"
    );

    let (code, err) = run_err(&["listen", "--forward", "example.com:3000", "--db", db_s]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("did you mean http://example.com:3000"),
        "{err}"
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let bad_db = file.join("events.db");
    let (code, err) = run_err(&["list", "--db", bad_db.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no Store at") && err.contains("--db"), "{err}");
    let (code, err) = run_err(&[
        "listen",
        "--forward",
        "http://127.0.0.1:9",
        "--port",
        "0",
        "--db",
        bad_db.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot create the folder") && err.contains("--db"),
        "{err}"
    );

    let (code, err) = run_err(&[
        "listen",
        "--forward",
        "http://127.0.0.1:9",
        "--port",
        "0",
        "--db",
        db_s,
        "--tls-cert",
        "/nonexistent.pem",
        "--tls-key",
        "/nonexistent.pem",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--tls-cert"), "{err}");

    let (code, err) = run_err(&["list", "-n", "0", "--db", db_s]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must be at least 1"), "{err}");

    let (code, err) = run_err(&["show", "999", "--db", db_s]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "error: no event #999 (`hooktap list` shows the ids)"
    );

    let (code, err) = run_err(&[
        "listen",
        "--forward",
        "http://x",
        "--secret",
        "nonsense",
        "--db",
        db_s,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("PROVIDER=SECRET"), "{err}");

    let (code, _) = run_err(&["listen", "--bogus-flag"]);
    assert_eq!(code, 2);
    let (_, err) = run_err(&[
        "listen",
        "--forward",
        "http://127.0.0.1:9",
        "--port",
        &port,
        "--db",
        db_s,
        "--no-tui",
    ]);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

/// Pass: a new Store's folder is 0700 and its db, -wal and -shm files are 0600.
#[tokio::test]
async fn store_files_are_private() {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("data").join("hooktap");
    let db = folder.join("events.db");
    let bin = Binary::listen(&db, &target.url(), &[]);
    post(&bin.url("/x"), &[], b"x".to_vec()).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&folder), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let p = folder.join(format!("events.db{suffix}"));
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

/// A webhook turned away at the door is no Event, so the log says so: what, from where, why.
#[tokio::test]
async fn a_refused_request_leaves_a_log_line() {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = Binary::listen(&db, &target.url(), &["--max-body", "1KiB"]);
    let head = b"POST /hooks/big HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n";
    let (resp, _) = crate::common::raw(bin.addr, head, std::time::Duration::from_secs(5)).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    let line = crate::common::eventually(std::time::Duration::from_secs(10), || {
        let lines = bin.stderr.lock().unwrap();
        lines
            .iter()
            .find(|l| l.contains("refused POST /hooks/big"))
            .cloned()
    })
    .await;
    assert!(line.contains("from 127.0.0.1:"), "{line}");
    assert!(
        line.contains("with 413: body larger than the limit of 1.0 KiB (raise it with --max-body); not recorded"),
        "{line}"
    );
    assert_eq!(target.count(), 0);
}

/// A client refused in a loop does not flood the log: one line a second at most, each with the
/// path cut short (under the TUI the log is a file nothing rotates).
#[tokio::test]
async fn refusals_in_a_loop_leave_few_short_log_lines() {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = Binary::listen(&db, &target.url(), &["--max-body", "1KiB"]);
    let path = format!("/{}", "a".repeat(30_000));
    let head = format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n");
    let start = std::time::Instant::now();
    for _ in 0..20 {
        let wait = std::time::Duration::from_secs(5);
        let (resp, _) = crate::common::raw(bin.addr, head.as_bytes(), wait).await;
        assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    }
    let took = start.elapsed();
    let line = crate::common::eventually(std::time::Duration::from_secs(10), || {
        let lines = bin.stderr.lock().unwrap();
        lines
            .iter()
            .find(|l| l.contains("refused POST /a"))
            .cloned()
    })
    .await;
    assert!(line.contains(&format!("{}…", &path[..99])), "{line}");
    assert!(line.len() < 400, "{} bytes: {line}", line.len());
    let logged = bin
        .stderr
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("refused POST"))
        .count();
    assert!(
        logged as u64 <= took.as_secs() + 1,
        "{logged} lines for 20 refusals in {took:?}"
    );
    assert_eq!(target.count(), 0);
}
