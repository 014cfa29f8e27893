//! Bad input through the real binary: URLs with impossible ports, zero limits, malformed flags
//! and files are usage errors or one-line runtime errors that name what was wrong; a reader that
//! closes the pipe early is not an error.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::support::{event, fill, ids, ok, temp_db};

/// Runs hooktap, asserts exit code `code`, and returns stdout and stderr. Without the checks
/// under test some of these commands would start serving, so each gets a deadline.
fn fails(db: &std::path::Path, args: &[&str], code: i32) -> (String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_hooktap"))
        .args(args)
        .env("HOOKTAP_DB", db)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hooktap binary runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let out = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("hooktap {args:?} was still running after 30 s");
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "hooktap {args:?}: {stdout}{stderr}"
    );
    (stdout, stderr)
}

/// A local port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

#[test]
fn a_port_outside_1_to_65535_is_a_usage_error_everywhere_a_url_is_given() {
    let (_dir, db) = temp_db();
    let forward = "http://127.0.0.1:1";
    for args in [
        vec![
            "listen",
            "--forward",
            "http://127.0.0.1:99999",
            "--port",
            "0",
        ],
        vec!["replay", "1", "--to", "http://127.0.0.1:99999"],
        vec![
            "export",
            "--format",
            "curl",
            "--to",
            "http://127.0.0.1:99999",
        ],
        vec![
            "trigger",
            "ayrshare",
            "scheduled",
            "--to",
            "http://127.0.0.1:99999/h",
        ],
        vec![
            "listen",
            "--forward",
            forward,
            "--port",
            "0",
            "--no-tui",
            "--relay",
            "http://127.0.0.1:99999",
            "--channel",
            "a",
            "--token",
            "t",
        ],
    ] {
        let (_, err) = fails(&db, &args, 2);
        assert!(
            err.contains("port 99999 is not a port number"),
            "{args:?}: {err}"
        );
    }
    assert!(!db.exists(), "a usage error creates no Store");
}

#[test]
fn trigger_checks_to_when_the_command_line_is_read() {
    let (_dir, db) = temp_db();
    let (out, err) = fails(
        &db,
        &["trigger", "ayrshare", "scheduled", "--to", "notaurl"],
        2,
    );
    assert!(out.is_empty(), "nothing claims to be sent: {out}");
    assert!(err.contains("'notaurl' has no scheme"), "{err}");
    assert!(!err.contains("is the receiver running"), "{err}");
    // A well-formed URL where nothing listens: a runtime error, with the hint.
    let to = format!("http://127.0.0.1:{}/hooks/ayrshare", closed_port());
    let (_, err) = fails(&db, &["trigger", "ayrshare", "scheduled", "--to", &to], 1);
    assert!(err.contains("is the receiver running?"), "{err}");
    // --list takes nothing to send.
    for args in [
        vec!["trigger", "ayrshare", "--list", "extra"],
        vec!["trigger", "--list", "ayrshare", "scheduled"],
        vec![
            "trigger",
            "ayrshare",
            "--list",
            "--to",
            "http://127.0.0.1:1",
        ],
    ] {
        let (_, err) = fails(&db, &args, 2);
        assert!(
            err.contains("'--list' cannot be used with"),
            "{args:?}: {err}"
        );
    }
    assert!(ok(&db, &["trigger", "stripe", "--list"]).contains("invoice.paid"));
    let (_, err) = fails(&db, &["trigger", "paypal", "--list"], 2);
    assert!(err.contains("no provider called 'paypal'"), "{err}");
    assert!(ok(&db, &["trigger", "--list"]).contains("social-unlink"));
}

#[test]
fn zero_limits_and_timeouts_are_usage_errors() {
    let (_dir, db) = temp_db();
    let listen = [
        "listen",
        "--forward",
        "http://127.0.0.1:1",
        "--port",
        "0",
        "--no-tui",
    ];
    let relay = ["relay", "--bind", "127.0.0.1:0"];
    let cases: Vec<(&[&str], &[&str])> = vec![
        (&listen, &["--timeout", "0s"]),
        (&listen, &["--header-timeout", "0s"]),
        (&listen, &["--body-timeout", "0ms"]),
        (&listen, &["--body-deadline", "0"]),
        (&listen, &["--max-connections", "0"]),
        (&listen, &["--keep", "0"]),
        (&listen, &["--max-body", "0"]),
        (&listen, &["--max-db-size", "0MiB"]),
        (&listen, &["--redeliver", "0s"]),
        (&relay, &["--wait", "0s"]),
        (&relay, &["--ping", "0s"]),
        (&relay, &["--handshake-timeout", "0s"]),
        (&relay, &["--retain", "0d"]),
        (&relay, &["--max-queue", "0"]),
        (&relay, &["--max-body", "0"]),
        (&relay, &["--max-connections", "0"]),
        (&["ui"], &["--timeout", "0s"]),
        (&["ui"], &["--max-response", "0"]),
        (&["trigger", "ayrshare", "scheduled"], &["--timeout", "0s"]),
        (&["replay", "1"], &["--timeout", "0s"]),
        (&["replay", "1"], &["--max-response", "0"]),
    ];
    for (command, flag) in cases {
        let args = [command, flag].concat();
        let (_, err) = fails(&db, &args, 2);
        assert!(
            err.contains(&format!("for '{}", flag[0])) && err.contains("must be more than zero"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn flag_and_file_errors_say_what_was_expected() {
    let (dir, db) = temp_db();
    let (_, err) = fails(&db, &["prune", "--keep", "abc"], 2);
    assert!(
        err.contains("'--keep <N>'") && err.contains("whole number"),
        "{err}"
    );
    let (_, err) = fails(
        &db,
        &[
            "listen",
            "--forward",
            "http://127.0.0.1:1",
            "--secret",
            "ayrshare",
        ],
        2,
    );
    assert!(err.contains("use --secret ayrshare=SECRET"), "{err}");
    assert!(!err.contains('…'), "{err}");
    let (_, err) = fails(
        &db,
        &["export", "--format", "har", "--to", "http://127.0.0.1:1"],
        2,
    );
    assert!(err.contains("--to applies to --format curl only"), "{err}");

    fill(
        &db,
        vec![(event("github", Some("push"), "/gh", b"{}"), None)],
    );
    let missing = dir.path().join("missing").join("x.har");
    let (_, err) = fails(
        &db,
        &["export", "--format", "har", "-o", missing.to_str().unwrap()],
        1,
    );
    assert!(
        err.contains(&format!("cannot write {}", missing.display()))
            && err.contains("does not exist")
            && !err.contains(".partial"),
        "{err}"
    );

    let obj = dir.path().join("obj.har");
    std::fs::write(&obj, "{}\n").unwrap();
    let (_, err) = fails(&db, &["import", obj.to_str().unwrap()], 1);
    assert!(
        err.contains("is neither a HAR file (it has no log.entries) nor an NDJSON export"),
        "{err}"
    );
    let bad = dir.path().join("bad.har");
    std::fs::write(
        &bad,
        r#"{"log":{"entries":[{"request":{"method":"POST","url":"https://x/ok"}},
            {"request":{"method":"POST","url":"not a url"}}]}}"#,
    )
    .unwrap();
    let (_, err) = fails(&db, &["import", bad.to_str().unwrap()], 1);
    assert!(
        err.contains("HAR entry 2: request.url: 'not a url' is not an absolute URL"),
        "{err}"
    );
}

#[test]
fn json_exports_to_a_pipe_closed_early_end_quietly() {
    let (_dir, db) = temp_db();
    // Far more than a pipe holds, so the writer is still writing when the reader goes.
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(100 << 10));
    let events = (0..40)
        .map(|_| (event("unknown", None, "/big", body.as_bytes()), None))
        .collect();
    fill(&db, events);
    for format in ["ndjson", "har", "curl"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hooktap"))
            .args(["export", "--format", format])
            .env("HOOKTAP_DB", &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 10];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{format}: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Issue 13, item 9. Pass: filters past what SQLite takes (5000 bare words, 1000 `provider:`
/// terms: an expression tree deeper than 1000; a `path:` glob of 60,000 bytes: a pattern past
/// 50,000) are usage errors (exit 2) that say the limit, for `list`, `export` and `prune`, and
/// leave the Store as it was; a filter at the limits (256 terms; a 10,000-byte glob of `[`,
/// which SQLite reads as three bytes each) runs.
#[test]
fn a_filter_too_long_for_sqlite_is_a_usage_error_that_says_the_limit() {
    let (_dir, db) = temp_db();
    fill(
        &db,
        vec![(event("github", Some("push"), "/gh", b"{}"), None)],
    );
    let words: Vec<String> = (0..5000).map(|i| format!("word{i}")).collect();
    let providers: Vec<String> = (0..1000).map(|i| format!("provider:p{i}")).collect();
    let glob = format!("path:/{}", "x".repeat(60_000));
    for (what, filter) in [
        (
            "words",
            words.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        ("providers", providers.iter().map(String::as_str).collect()),
    ] {
        for command in [
            vec!["list"],
            vec!["export", "--format", "ndjson"],
            vec!["prune", "--older-than", "1d"],
        ] {
            let args: Vec<&str> = command.iter().copied().chain(filter.clone()).collect();
            let (_, err) = fails(&db, &args, 2);
            assert!(
                err.contains("filter too long: at most 256 terms"),
                "{what} {command:?}: {err}"
            );
            assert!(!err.contains("SQL"), "{err}");
        }
    }
    let (_, err) = fails(&db, &["list", &glob], 2);
    assert!(err.contains("term too long: at most 10000 bytes"), "{err}");

    // At the limits: SQLite takes them.
    let negated: Vec<String> = (0..256).map(|i| format!("-provider:p{i}")).collect();
    let mut args = vec!["list", "--json", "--"];
    args.extend(negated.iter().map(String::as_str));
    assert_eq!(ids(&ok(&db, &args)), vec![1]);
    for command in [
        vec!["export", "--format", "ndjson", "--"],
        vec!["prune", "--older-than", "1d", "--"],
    ] {
        let args: Vec<&str> = command
            .into_iter()
            .chain(negated.iter().map(String::as_str))
            .collect();
        ok(&db, &args);
    }
    let brackets = format!("path:{}", "[".repeat(9_995));
    assert_eq!(ok(&db, &["list", "--json", &brackets]), "");
    assert_eq!(
        ids(&ok(&db, &["list", "--json"])),
        vec![1],
        "nothing pruned"
    );
}

/// Pass: a negated term right after the command is a term, and the flags after it still work
/// (clap alone read `-method:POST` as `-m`).
#[test]
fn negated_terms_after_the_command_just_work() {
    let (_dir, db) = temp_db();
    let mut get = event("github", Some("push"), "/gh", b"{}");
    get.method = "GET".into();
    let both = fill(
        &db,
        vec![
            (event("github", Some("push"), "/gh", b"{}"), None),
            (get, None),
        ],
    );
    let out = ok(&db, &["list", "-method:POST", "--json", "--limit", "1"]);
    assert_eq!(ids(&out), vec![both[1]], "{out}");
    let out = ok(&db, &["list", "-method:GET", "-replayed", "--json"]);
    assert_eq!(ids(&out), vec![both[0]], "{out}");
    let out = ok(&db, &["list", "--json", "--", "-method:GET"]);
    assert_eq!(ids(&out), vec![both[0]], "`--` keeps working: {out}");
    let out = ok(&db, &["export", "-method:POST", "--format", "ndjson"]);
    assert_eq!(ids(&out), vec![both[1]], "{out}");
}

/// Pass: with `$HOOKTAP_DB` set, `--db` is not shown as required in a usage line, and the
/// variable still chooses the Store.
#[test]
fn hooktap_db_from_the_environment_is_no_required_flag() {
    let (_dir, db) = temp_db();
    fill(
        &db,
        vec![(event("github", Some("push"), "/gh", b"{}"), None)],
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hooktap"))
            .args(args)
            .env("HOOKTAP_DB", &db)
            .output()
            .unwrap()
    };
    let out = run(&["prune"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("Usage: hooktap prune <--keep") && !err.contains("--db"),
        "{err}"
    );
    let out = run(&["list", "--json"]);
    assert_eq!(ids(&String::from_utf8_lossy(&out.stdout)), vec![1]);
}
