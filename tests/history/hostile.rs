//! Hostile files: an imported Event's recorded Target is never where a replay goes without
//! --to (a shared export must not make hooktap a signing oracle), and `import` refuses records
//! no sender could have sent.

use hooktap::event::Ingress;
use serde_json::json;

use super::json;
use crate::support::{Target, answer, event, fill, hooktap, ok, temp_db};

/// One NDJSON record of a GitHub Event whose recorded Delivery went to `target`.
fn github_record(target: &str, uid: &str) -> serde_json::Value {
    json!({"id": 7, "uid": uid, "received_at": "2026-01-02T03:04:05Z", "ingress": "local",
        "method": "POST", "path": "/hooks/gh", "query": null,
        "headers": [["X-GitHub-Event", "push"], ["X-Hub-Signature-256", "sha256=00"],
                    ["Content-Type", "application/json"]],
        "body": "{\"attacker\":true}", "provider": "github", "event_type": "push",
        "signature": "valid",
        "deliveries": [{"id": 1, "kind": "original", "target": format!("{target}/hooks/gh"),
            "started_at": "2026-01-02T03:04:05Z", "duration_ms": 1.0, "outcome": "ok",
            "status": 200, "headers": [], "body": "", "error": null}]})
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_imported_event_goes_only_where_the_user_says() {
    let (dir, db) = temp_db();
    let attacker = Target::start();
    let mine = Target::start();
    let file = dir.path().join("shared.ndjson");
    let record = github_record(&attacker.url, "01HOSTILE0000000000000001");
    std::fs::write(&file, format!("{record}\n")).unwrap();
    ok(&db, &["import", file.to_str().unwrap()]);
    let shown = json(&ok(&db, &["show", "1", "--json"]));
    assert_eq!(
        shown["deliveries"][0]["target"],
        format!("{}/hooks/gh", attacker.url),
        "the file's target is still shown"
    );
    let refused = "event #1 was imported from a file: its recorded target is not used; \
                   pass --to URL";
    for args in [
        vec!["replay", "1", "--resign", "--secret", "github=x"],
        vec!["replay", "1"],
        vec!["replay", "1", "--dry-run"],
        vec!["replay", "#1", "--edit"],
    ] {
        let out = hooktap(&db, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(refused), "{args:?}: {}", stderr(&out));
    }
    assert!(
        attacker.requests().is_empty(),
        "nothing reached the file's target"
    );
    // An edit of it, made here, counts as imported too; so does an edit of that edit.
    let mut edit = event("github", Some("push"), "/hooks/gh", b"{\"edited\":1}");
    edit.ingress = Ingress::Edit;
    edit.derived_from = Some(1);
    let got = fill(
        &db,
        vec![(edit, Some((&attacker.url, answer(Some(200), ""))))],
    );
    let mut again = event("github", Some("push"), "/hooks/gh", b"{\"edited\":2}");
    again.ingress = Ingress::Edit;
    again.derived_from = Some(got[0]);
    let got2 = fill(&db, vec![(again, None)]);
    for id in [got[0], got2[0]] {
        let out = hooktap(&db, &["replay", &id.to_string()]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "event #{id} is an edit of event #1, which was imported from a file: its \
                 recorded target is not used; pass --to URL"
            )),
            "{}",
            stderr(&out)
        );
    }
    // The same refusal for the UI's `r`, which plans through the library.
    let reader = hooktap::store::Reader::open(&db).unwrap();
    let err = hooktap::replay::plan(&reader, got[0], None).unwrap_err();
    assert!(err.downcast_ref::<hooktap::replay::NotCaptured>().is_some());
    assert!(attacker.requests().is_empty());
    // With --to it goes there, re-signed with the user's secret.
    let line = ok(
        &db,
        &[
            "replay", "1", "--resign", "--secret", "github=x", "--to", &mine.url,
        ],
    );
    assert!(line.contains("200"), "{line}");
    let seen = mine.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/hooks/gh");
    assert!(attacker.requests().is_empty());
}

#[test]
fn a_batch_with_imported_events_and_no_to_sends_nothing() {
    let (dir, db) = temp_db();
    let attacker = Target::start();
    let mine = Target::start();
    // Two captured here, delivered to my app; two imported, whose file names another host.
    fill(
        &db,
        (1..=2)
            .map(|i| {
                let e = event("github", Some("push"), &format!("/mine{i}"), b"{}");
                (e, Some((mine.url.as_str(), answer(Some(200), ""))))
            })
            .collect(),
    );
    let file = dir.path().join("shared.ndjson");
    let lines: Vec<String> = ["01HOSTILE0000000000000002", "01HOSTILE0000000000000003"]
        .iter()
        .map(|uid| github_record(&attacker.url, uid).to_string())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    ok(&db, &["import", file.to_str().unwrap()]);
    for args in [
        vec!["replay", "provider:github"],
        vec!["replay", "provider:github", "--dry-run"],
        vec!["replay", "1", "3"],
    ] {
        let out = hooktap(&db, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("of the")
                && err.contains("imported from a file")
                && err.contains("pass --to URL"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing sent or planned");
    }
    let err = stderr(&hooktap(&db, &["replay", "provider:github"]));
    assert!(err.contains("2 of the 4 events to replay"), "{err}");
    assert!(err.contains("#3, #4"), "{err}");
    assert!(mine.requests().is_empty(), "the batch was refused whole");
    assert!(attacker.requests().is_empty());
    // Captured Events alone keep today's rule: their last answered Target.
    ok(&db, &["replay", "1", "2"]);
    assert_eq!(mine.requests().len(), 2);
    ok(&db, &["replay", "provider:github", "--to", &mine.url]);
    assert_eq!(mine.requests().len(), 6);
    assert!(attacker.requests().is_empty());
}

#[test]
fn import_refuses_records_no_sender_could_have_sent_and_keeps_the_rest() {
    let (dir, db) = temp_db();
    let record = |uid: &str| github_record("http://127.0.0.1:9", uid);
    let good = record("01HOSTILE0000000000000010");
    let mut status = record("01HOSTILE0000000000000011");
    status["deliveries"][0]["status"] = json!(70000);
    let mut method = record("01HOSTILE0000000000000012");
    method["method"] = json!("PO\u{1b}[2JST");
    let mut name = record("01HOSTILE0000000000000013");
    name["headers"] = json!([["X-Evil\r", "1"]]);
    let mut big = record("01HOSTILE0000000000000014");
    big["body"] = json!("x".repeat(2000));
    let mut answer_big = record("01HOSTILE0000000000000015");
    answer_big["deliveries"][0]["body"] = json!("y".repeat(2000));
    let last = record("01HOSTILE0000000000000016");
    let lines: Vec<String> = [good, status, method, name, big, answer_big, last]
        .iter()
        .map(|r| r.to_string())
        .collect();
    let file = dir.path().join("hostile.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = hooktap(
        &db,
        &["import", file.to_str().unwrap(), "--max-body", "1KiB"],
    );
    let (said, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        said.contains("imported 2 event(s)") && said.contains("refused 5 (see the messages above)"),
        "{said}"
    );
    for expected in [
        "refused line 2: delivery 1: status 70000 is not an HTTP status (100 to 999)",
        "refused line 3: the method \"PO\\u{1b}[2JST\" is not an HTTP token",
        "refused line 4: \"X-Evil\\r\" is not a valid header name",
        "refused line 5: the body is 2000 bytes, over --max-body (1024 bytes)",
        "refused line 6: delivery 1: the response body is 2000 bytes, over --max-body",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
    assert!(
        !err.contains('\x1b'),
        "no raw control reaches the terminal: {err:?}"
    );
    let rows = ok(&db, &["list", "--json", "--reverse"]);
    let uids: Vec<String> = rows
        .lines()
        .map(|l| json(l)["uid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        uids,
        ["01HOSTILE0000000000000010", "01HOSTILE0000000000000016"]
    );
    for line in rows.lines() {
        assert_eq!(json(line)["signature"], "unchecked", "the file said valid");
        assert_eq!(json(line)["status"], 200);
    }
    // The default limit is listen's 25MiB: the 2000-byte bodies go in without --max-body.
    let copy = dir.path().join("copy.db");
    let said = ok(&copy, &["import", file.to_str().unwrap()]);
    assert!(
        said.contains("imported 4 event(s)") && said.contains("refused 3"),
        "{said}"
    );
    // A HAR entry is held to the same rules.
    let har = dir.path().join("bad.har");
    std::fs::write(
        &har,
        r#"{"log":{"entries":[{"request":{"method":"GET\u0007","url":"https://x/a"}},
            {"request":{"method":"POST","url":"https://x/ok",
              "headers":[{"name":"X\u001bY","value":"1"}]}},
            {"request":{"method":"POST","url":"https://x/fine"}}]}}"#,
    )
    .unwrap();
    let out = hooktap(&db, &["import", har.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("refused HAR entry 1: request.method: the method \"GET\\u{7}\" is not"),
        "{err}"
    );
    assert!(
        err.contains("refused HAR entry 2: \"X\\u{1b}Y\" is not a valid header"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 1 event(s) from HAR"));
}
