//! Reading the list tolerantly, and deciding per action.

use super::*;
use serde_json::json;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn list_answers_of_several_shapes_are_read() {
    let want = vec![("social".to_string(), "https://prod.example/h".to_string())];
    for answer in [
        json!([{"action": "social", "url": "https://prod.example/h"}]),
        json!({"webhooks": [{"action": "social", "url": "https://prod.example/h", "created": 1}]}),
        json!({"status": "success", "social": "https://prod.example/h"}),
        json!({"webhooks": {"social": {"url": "https://prod.example/h"}}}),
    ] {
        assert_eq!(parse(&answer).unwrap(), want, "{answer}");
    }
    assert_eq!(parse(&json!([])).unwrap(), vec![]);
    assert_eq!(parse(&json!({"webhooks": []})).unwrap(), vec![]);
    let err = parse(&json!({"status": "success", "count": 2})).unwrap_err();
    assert!(err.contains("status, count"), "{err}");
    assert!(parse(&Value::Null).is_err());
}

#[test]
fn someone_elses_url_is_left_alone_and_blocks_the_secret() {
    let listed = vec![
        ("social".to_string(), "https://prod.example/h".to_string()),
        (
            "feed".to_string(),
            "https://old.trycloudflare.com/hooks/ayrshare".to_string(),
        ),
    ];
    let ours = s(&["https://old.trycloudflare.com/hooks/ayrshare"]);
    let d = decide(&s(&["scheduled", "social", "feed"]), &listed, &ours, false);
    assert_eq!(d.steps[0].1, Step::Register);
    assert_eq!(
        d.steps[1].1,
        Step::Leave {
            url: "https://prod.example/h".into()
        }
    );
    assert_eq!(
        d.steps[2].1,
        Step::Register,
        "a URL hooktap registered is taken back"
    );
    assert!(!d.secret_ok(false));
    let d = decide(&s(&["social"]), &listed, &ours, true);
    assert_eq!(
        d.steps[0].1,
        Step::Replace {
            old: "https://prod.example/h".into()
        }
    );
    assert!(
        !d.secret_ok(true),
        "--register-replace never changes the secret"
    );
    let d = decide(&s(&["scheduled"]), &listed[1..], &ours, false);
    assert!(d.secret_ok(false));
    let d = decide(&s(&["scheduled"]), &listed, &ours, false);
    assert!(
        !d.secret_ok(false),
        "an action not asked for still shares the profile's secret"
    );
}

#[test]
fn register_flag() {
    assert_eq!(parse_register("ayrshare").unwrap().len(), 7);
    assert_eq!(
        parse_register("ayrshare=Scheduled, social,social").unwrap(),
        s(&["scheduled", "social"])
    );
    assert!(
        parse_register("github")
            .unwrap_err()
            .contains("only ayrshare")
    );
    assert!(
        parse_register("ayrshare=nope")
            .unwrap_err()
            .contains("'nope'")
    );
    assert!(parse_register("ayrshare=").is_err());
}
