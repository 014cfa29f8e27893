//! Redaction rules: parsing, header masks, JSON masks that leave every other byte alone.

use super::*;

fn redactor(rules: &[&str]) -> Redactor {
    Redactor::new(rules.iter().map(|r| Rule::parse(r).unwrap()).collect())
}

fn masked(rules: &[&str], body: &str) -> Option<String> {
    redactor(rules)
        .body(body.as_bytes())
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
}

#[test]
fn rules_parse_and_print() {
    for text in [
        "header:authorization",
        "json:.password",
        "json:.a.b[0].c",
        "json:.items[*].token",
    ] {
        assert_eq!(Rule::parse(text).unwrap().to_string(), text);
    }
    assert_eq!(
        Rule::parse(" header:X-Api-Key ").unwrap(),
        Rule::Header("x-api-key".into())
    );
    for bad in [
        "",
        "password",
        "header:",
        "header:bad name",
        "json:",
        "json:password",
        "json:.a[x]",
        "body:.a",
    ] {
        let err = Rule::parse(bad).unwrap_err();
        assert!(err.contains("header:NAME or json:.path"), "{bad}: {err}");
    }
}

#[test]
fn headers_are_masked_in_any_case_and_every_copy() {
    let mut h = HeaderList::default();
    h.push("Authorization", b"Bearer s3cret".to_vec());
    h.push("x-keep", b"visible".to_vec());
    h.push("AUTHORIZATION", b"again".to_vec());
    let n = redactor(&["header:authorization"]).headers(&mut h);
    assert_eq!(n, 2);
    assert_eq!(
        h.0,
        vec![
            ("Authorization".to_string(), MASK.as_bytes().to_vec()),
            ("x-keep".to_string(), b"visible".to_vec()),
            ("AUTHORIZATION".to_string(), MASK.as_bytes().to_vec()),
        ]
    );
}

#[test]
fn json_values_are_masked_and_nothing_else_moves() {
    let body = "{ \"user\" : \"ann\",\n  \"password\":\"hunter2\", \"n\": [1, 2] }";
    assert_eq!(
        masked(&["json:.password"], body).unwrap(),
        "{ \"user\" : \"ann\",\n  \"password\":\"[redacted]\", \"n\": [1, 2] }"
    );
    // Objects, numbers and nested paths; array elements by index and all of them.
    let body =
        r#"{"card":{"number":4242424242424242,"cvc":"123"},"items":[{"token":"a"},{"token":"b"}]}"#;
    assert_eq!(
        masked(&["json:.card.number", "json:.items[*].token"], body).unwrap(),
        r#"{"card":{"number":"[redacted]","cvc":"123"},"items":[{"token":"[redacted]"},{"token":"[redacted]"}]}"#
    );
    assert_eq!(
        masked(&["json:.items[1].token"], body).unwrap(),
        r#"{"card":{"number":4242424242424242,"cvc":"123"},"items":[{"token":"a"},{"token":"[redacted]"}]}"#
    );
    assert_eq!(
        masked(&["json:.card"], body).unwrap(),
        r#"{"card":"[redacted]","items":[{"token":"a"},{"token":"b"}]}"#
    );
}

#[test]
fn overlapping_rules_mask_the_outer_value_once() {
    let body = r#"{"a":{"b":"x"},"c":1}"#;
    assert_eq!(
        masked(&["json:.a.b", "json:.a"], body).unwrap(),
        r#"{"a":"[redacted]","c":1}"#
    );
}

#[test]
fn duplicate_keys_and_escaped_keys_are_all_masked() {
    let body = r#"{"password":"one","x":0,"password":"two","pass\u0077ord":"three"}"#;
    let out = masked(&["json:.password"], body).unwrap();
    assert!(
        !out.contains("one") && !out.contains("two") && !out.contains("three"),
        "{out}"
    );
}

#[test]
fn strings_with_escapes_and_unicode_are_masked_whole() {
    let body = "{\"s\":\"a\\\"b\\u00e9 caf\u{e9}\",\"t\":\"\u{1F600}\"}";
    assert_eq!(
        masked(&["json:.s"], body).unwrap(),
        "{\"s\":\"[redacted]\",\"t\":\"\u{1F600}\"}"
    );
}

#[test]
fn non_json_or_missing_paths_change_nothing() {
    assert_eq!(masked(&["json:.password"], "password=hunter2"), None);
    assert_eq!(masked(&["json:.password"], r#"{"user":"ann"}"#), None);
    assert_eq!(masked(&["json:.a.b"], r#"{"a":"not an object"}"#), None);
    assert_eq!(masked(&["json:[3]"], "[1,2]"), None);
    assert_eq!(masked(&["header:x"], r#"{"x":1}"#), None);
    assert_eq!(redactor(&["json:.a"]).body(b"\xff\xfe{"), None);
}

#[test]
fn events_and_results_are_masked_the_target_copy_is_not_touched() {
    let mut event = Event {
        uid: "u".into(),
        received_at: 0,
        ingress: crate::event::Ingress::Local,
        method: "POST".into(),
        path: "/".into(),
        query: None,
        remote_addr: None,
        headers: HeaderList(vec![
            ("x-api-key".into(), b"k3y".to_vec()),
            ("Content-Length".into(), b"19".to_vec()),
        ]),
        body: Bytes::from_static(br#"{"password":"p4ss"}"#),
        class: Default::default(),
        derived_from: None,
    };
    let original = event.clone();
    let r = redactor(&["header:x-api-key", "json:.password"]);
    r.event(&mut event);
    assert_eq!(event.headers.get_str("x-api-key"), Some(MASK));
    assert_eq!(&event.body[..], br#"{"password":"[redacted]"}"#);
    assert_eq!(event.headers.get_str("content-length"), Some("25"));
    assert_eq!(&original.body[..], br#"{"password":"p4ss"}"#);

    let mut result = DeliveryResult {
        outcome: crate::event::Outcome::Ok,
        status: Some(200),
        headers: HeaderList(vec![("X-Api-Key".into(), b"echo".to_vec())]),
        body: Bytes::from_static(br#"{"password":"echoed"}"#),
        error: None,
        duration_us: 1,
    };
    r.result(&mut result);
    assert_eq!(result.headers.get_str("x-api-key"), Some(MASK));
    assert_eq!(&result.body[..], br#"{"password":"[redacted]"}"#);
}

#[test]
fn config_file_rules() {
    let path = std::path::Path::new("config.toml");
    let text = "[providers.ayrshare]\nsecret = \"x\"\n[redact]\nrules = [\"header:Cookie\", \"json:.token\"]\n";
    assert_eq!(
        from_config(text, path).unwrap(),
        vec![
            Rule::Header("cookie".into()),
            Rule::Json(vec![JsonStep::Key("token".into())])
        ]
    );
    assert!(from_config("", path).unwrap().is_empty());
    let err = from_config("[redact]\nrules = [\"cookie\"]\n", path).unwrap_err();
    assert!(
        format!("{err:#}").contains("config.toml: [redact]"),
        "{err:#}"
    );
    let err = from_config("[redact]\nrule = []\n", path).unwrap_err();
    assert!(format!("{err:#}").contains("config.toml"), "{err:#}");
}

#[test]
fn numbers_beyond_f64_are_json_too() {
    // Valid JSON grammar that serde_json's `Value` cannot hold: masked all the same, and the
    // number itself stays byte for byte (found while fuzzing the redactor).
    let body = r#"{"n":2333E3555555655555555,"password":"x"}"#;
    assert_eq!(
        masked(&["json:.password"], body).unwrap(),
        r#"{"n":2333E3555555655555555,"password":"[redacted]"}"#
    );
}
