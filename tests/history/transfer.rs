//! Export and import through the real binary: round trips, masking, other tools' HAR, curl.

use std::process::{Command, Stdio};

use super::json;
use super::support::{Target, answer, event, fill, hooktap, ok, temp_db};

#[test]
fn export_then_import_keeps_bytes_headers_and_hashes() {
    let (dir, db) = temp_db();
    let t = "http://127.0.0.1:9";
    let binary: Vec<u8> = (0..=255u8).collect();
    fill(
        &db,
        vec![
            (
                event(
                    "ayrshare",
                    Some("social.unlink"),
                    "/hooks/a",
                    b"{\"x\": 1}\n",
                ),
                Some((t, answer(Some(200), "ok"))),
            ),
            (
                with_bytes_header(event("unknown", None, "/bin", &binary)),
                None,
            ),
        ],
    );
    let before = ok(&db, &["export", "--format", "ndjson", "--include-secrets"]);
    assert!(
        before.contains(r#"["X-Latin1","Y2Fm6Q==","base64"]"#),
        "a value that is not UTF-8 is exported as base64: {before}"
    );
    for format in ["ndjson", "har"] {
        let file = dir.path().join(format!("out.{format}"));
        ok(
            &db,
            &[
                "export",
                "--format",
                format,
                "--include-secrets",
                "-o",
                file.to_str().unwrap(),
            ],
        );
        let copy = dir.path().join(format!("copy-{format}.db"));
        let said = ok(&copy, &["import", file.to_str().unwrap()]);
        assert!(said.contains("imported 2 event(s)"), "{said}");
        let after = ok(
            &copy,
            &["export", "--format", "ndjson", "--include-secrets"],
        );
        for (a, b) in before.lines().zip(after.lines()) {
            let (a, b) = (json(a), json(b));
            for key in [
                "uid",
                "method",
                "path",
                "headers",
                "body",
                "body_base64",
                "body_sha256",
                "received_at",
                "provider",
            ] {
                assert_eq!(a[key], b[key], "{format}: {key}");
            }
            assert_eq!(b["ingress"], "import");
            assert_eq!(
                a["status"], b["status"],
                "{format}: the latest Delivery is folded in"
            );
            let (da, db) = (
                a["deliveries"].as_array().unwrap(),
                b["deliveries"].as_array().unwrap(),
            );
            assert_eq!(da.len(), db.len(), "{format}: Deliveries imported");
            for (x, y) in da.iter().zip(db) {
                for key in [
                    "kind",
                    "target",
                    "started_at",
                    "status",
                    "outcome",
                    "headers",
                    "body",
                    "duration_ms",
                ] {
                    assert_eq!(x[key], y[key], "{format}: delivery {key}");
                }
            }
        }
        // Importing again adds nothing.
        assert!(ok(&copy, &["import", file.to_str().unwrap()]).contains("skipped 2"));
    }
    let masked = ok(&db, &["export", "--format", "har"]);
    assert!(!masked.contains("secret-token") && masked.contains("[masked]"));
    let har = json(&masked);
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(
        har["log"]["entries"][1]["request"]["postData"]["encoding"],
        "base64"
    );
}

#[test]
fn an_imported_edit_points_at_its_imported_original_and_masks_are_said() {
    let (dir, db) = temp_db();
    let mut original = event("github", Some("push"), "/hooks/g", b"{}");
    original.received_at -= 1_000;
    let got = fill(&db, vec![(original, None)]);
    let mut edit = event("github", Some("push"), "/hooks/g", b"{\"edited\":1}");
    edit.derived_from = Some(got[0]);
    edit.ingress = hooktap::event::Ingress::Edit;
    let got2 = fill(&db, vec![(edit, None)]);
    assert_eq!(got2[0], got[0] + 1);
    for (format, secrets) in [("ndjson", true), ("har", true), ("ndjson", false)] {
        let file = dir.path().join(format!("edit-{format}-{secrets}"));
        let mut args = vec!["export", "--format", format, "-o", file.to_str().unwrap()];
        if secrets {
            args.push("--include-secrets");
        }
        ok(&db, &args);
        // A Store that already has Events, so the ids change on the way in.
        let copy = dir.path().join(format!("copy-{format}-{secrets}.db"));
        fill(&copy, vec![(event("stripe", None, "/s", b"{}"), None)]);
        let out = hooktap(&copy, &["import", file.to_str().unwrap()]);
        assert!(out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.contains("2 of them carry header values the export masked"),
            !secrets,
            "{format}: {stderr}"
        );
        let edited = json(&ok(&copy, &["show", "3", "--json"]));
        assert_eq!(edited["body"], "{\"edited\":1}", "{format}");
        assert_eq!(
            edited["derived_from"], 2,
            "{format}: linked to the imported original"
        );
    }
    // The original imported before (skipped now as already here) is still found, by its uid.
    let first = dir.path().join("original-only.ndjson");
    let both = dir.path().join("both.ndjson");
    let id = format!("id:{}", got[0]);
    ok(
        &db,
        &[
            "export",
            &id,
            "--format",
            "ndjson",
            "-o",
            first.to_str().unwrap(),
        ],
    );
    ok(
        &db,
        &["export", "--format", "ndjson", "-o", both.to_str().unwrap()],
    );
    let later = dir.path().join("later.db");
    fill(&later, vec![(event("stripe", None, "/s", b"{}"), None)]);
    ok(&later, &["import", first.to_str().unwrap()]);
    fill(&later, vec![(event("stripe", None, "/s2", b"{}"), None)]);
    let said = ok(&later, &["import", both.to_str().unwrap()]);
    assert!(said.contains("skipped 1"), "{said}");
    let edited = json(&ok(&later, &["show", "4", "--json"]));
    assert_eq!(edited["body"], "{\"edited\":1}");
    assert_eq!(
        edited["derived_from"], 2,
        "linked to the copy imported before"
    );
}

#[test]
fn import_reports_bad_files_and_reads_other_tools_har() {
    let (dir, db) = temp_db();
    let out = hooktap(&db, &["import", "/nonexistent/file.har"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/file.har"));
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello\n").unwrap();
    let out = hooktap(&db, &["import", junk.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is neither a HAR file nor an NDJSON export")
    );
    let chrome = dir.path().join("chrome.har");
    std::fs::write(
        &chrome,
        r#"{"log": {"version": "1.2", "creator": {"name": "WebInspector"},
      "entries": [{"startedDateTime": "2026-01-02T03:04:05.678Z",
        "request": {"method": "POST", "url": "https://api.example.com/webhook?x=1",
          "headers": [{"name": "X-GitHub-Event", "value": "push"}],
          "postData": {"mimeType": "application/json", "text": "{\"ref\":\"main\"}"}},
        "response": {"status": 200}},
        {"request": {"method": "GET", "url": "https://api.example.com/"}}]}}"#,
    )
    .unwrap();
    assert!(
        ok(&db, &["import", chrome.to_str().unwrap()]).contains("imported 2 event(s) from HAR")
    );
    let rows = ok(&db, &["list", "--json", "--reverse"]);
    let first = json(rows.lines().next().unwrap());
    assert_eq!(
        (first["path"].as_str(), first["query"].as_str()),
        (Some("/webhook"), Some("x=1"))
    );
    assert_eq!(first["provider"], "github");
    assert_eq!(first["received_at"], "2026-01-02T03:04:05.678000Z");
    let broken = dir.path().join("broken.har");
    std::fs::write(&broken, r#"{"log": {"entries": [{"response": {}}]}}"#).unwrap();
    let out = hooktap(&db, &["import", broken.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HAR entry 1: no \"request\""));
}

#[test]
fn curl_export_sends_the_exact_bytes() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl is not installed; skipping");
        return;
    }
    let (dir, db) = temp_db();
    let target = Target::start();
    let text = b"line one\nHOOKTAP_BODY\nno final newline".to_vec();
    let binary: Vec<u8> = vec![0, 1, 2, 255, b'\n'];
    fill(
        &db,
        vec![
            (event("x", None, "/t", &text), None),
            (with_bytes_header(event("x", None, "/b", &binary)), None),
        ],
    );
    let script = dir.path().join("send.sh");
    ok(
        &db,
        &["export", "--format", "curl", "-o", script.to_str().unwrap()],
    );
    let status = Command::new("sh")
        .arg(&script)
        .env("HOOKTAP_TARGET", &target.url)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let seen = target.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(&seen[0].body[..], &text[..]);
    assert_eq!(&seen[1].body[..], &binary[..]);
    let dups = seen[0].headers.iter().filter(|(n, _)| n == "x-dup").count();
    assert_eq!(dups, 2);
    let latin1 = seen[1].headers.iter().find(|(n, _)| n == "x-latin1");
    assert_eq!(
        latin1.map(|(_, v)| &v[..]),
        Some(&b"caf\xe9"[..]),
        "the header's bytes, not UTF-8, as they were"
    );
}

/// `event` with a header whose value is Latin-1, not UTF-8 (HTTP allows such bytes).
fn with_bytes_header(mut event: hooktap::event::Event) -> hooktap::event::Event {
    event.headers.push("X-Latin1", b"caf\xe9".to_vec());
    event
}
