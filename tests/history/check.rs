//! `replay --check`: the captured history as the app's regression tests.

use crate::support::{Target, answer, event, fill, hooktap, temp_db};

/// Pass: each Event is re-sent in arrival order and its new answer compared with the recorded
/// one: status always, the body with `--check body` (minus `--ignore` fields); a change prints
/// a diff and exits 1, no change exits 0.
#[test]
fn check_compares_new_answers_with_recorded_ones() {
    let target = Target::start();
    let (_dir, db) = temp_db();
    let t = target.url.as_str();
    fill(
        &db,
        vec![
            (
                event("ayrshare", None, "/a", b"{}"),
                Some((t, answer(Some(200), r#"{"n":7,"ok":true}"#))),
            ),
            (
                event("ayrshare", None, "/b", br#"{"x":"fail"}"#),
                Some((t, answer(Some(200), r#"{"ok":true,"n":1}"#))),
            ),
        ],
    );
    let out = hooktap(&db, &["replay", "provider:ayrshare", "--check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("#1: same"), "{text}");
    assert!(
        text.contains("#2: changed") && text.contains("status: 200 -> 500"),
        "{text}"
    );
    let paths: Vec<String> = target.requests().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/a", "/b"], "arrival order");

    let out = hooktap(&db, &["replay", "path:/a", "--check", "body", "--to", t]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("- ") && text.contains("\"n\": 7"), "{text}");
    let args = [
        "replay", "path:/a", "--check", "body", "--ignore", "json:.n",
    ];
    let out = hooktap(&db, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 same, 0 changed"), "{text}");
}
