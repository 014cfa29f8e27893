//! Unit tests of the filter parser: every term, and errors with their columns.

use super::*;
use crate::event::{Outcome, Signature};
use crate::filter::{JsonStep, Test};

const NOW: Micros = 1_800_000_000_000_000;

fn one(text: &str) -> Test {
    let f = parse_at(text, NOW).unwrap();
    assert_eq!(f.terms().len(), 1, "{text}");
    f.terms()[0].test.clone()
}

fn error(text: &str) -> String {
    parse_at(text, NOW).unwrap_err().to_string()
}

#[test]
fn every_term_parses() {
    assert_eq!(one("method:post"), Test::Method("POST".into()));
    assert_eq!(one("path:/hooks/*"), Test::Path("/hooks/*".into()));
    assert_eq!(
        one("status:404"),
        Test::Status {
            low: 404,
            high: 404
        }
    );
    assert_eq!(
        one("status:5xx"),
        Test::Status {
            low: 500,
            high: 599
        }
    );
    assert_eq!(
        one("status:400..499"),
        Test::Status {
            low: 400,
            high: 499
        }
    );
    assert_eq!(one("outcome:failed"), Test::Outcome(Outcome::Failed));
    assert_eq!(one("provider:Ayrshare"), Test::Provider("ayrshare".into()));
    assert_eq!(one("type:social.*"), Test::Type("social.*".into()));
    assert_eq!(one("sig:invalid"), Test::Sig(Signature::Invalid));
    assert_eq!(
        one("header:x-foo=bar*"),
        Test::Header {
            name: "x-foo".into(),
            value: Some("bar*".into())
        }
    );
    assert_eq!(
        one("header:x-foo"),
        Test::Header {
            name: "x-foo".into(),
            value: None
        }
    );
    assert_eq!(
        one("json:.a.b[2][].c=x"),
        Test::Json {
            path: vec![
                JsonStep::Key("a".into()),
                JsonStep::Key("b".into()),
                JsonStep::Index(2),
                JsonStep::Any,
                JsonStep::Key("c".into())
            ],
            value: Some("x".into())
        }
    );
    assert_eq!(one("after:1h"), Test::After(NOW - 3_600_000_000));
    assert_eq!(one("before:2d"), Test::Before(NOW - 2 * 86_400_000_000));
    assert_eq!(
        one("after:2026-11-27T10:00:00Z"),
        Test::After(1_795_773_600_000_000)
    );
    assert!(matches!(one("before:2026-11-27T10:00"), Test::Before(_)));
    assert!(matches!(one("before:2026-11-27"), Test::Before(_)));
    assert_eq!(one("id:40..50"), Test::Id { low: 40, high: 50 });
    assert_eq!(one("id:42"), Test::Id { low: 42, high: 42 });
    assert_eq!(
        one("id:40.."),
        Test::Id {
            low: 40,
            high: i64::MAX
        }
    );
    assert_eq!(one("id:..50"), Test::Id { low: 1, high: 50 });
    assert_eq!(one("replayed"), Test::Replayed);
    assert_eq!(one("unlink"), Test::Text("unlink".into()));
    assert_eq!(
        one("\"account locked\""),
        Test::Text("account locked".into())
    );
    assert_eq!(one("12:30"), Test::Text("12:30".into()));
}

#[test]
fn terms_negate_and_keep_their_columns() {
    let f = parse_at("provider:ayrshare  -status:5xx -\"a b\" x", NOW).unwrap();
    let t: Vec<(bool, usize)> = f.terms().iter().map(|t| (t.negated, t.column)).collect();
    assert_eq!(t, vec![(false, 1), (true, 20), (true, 32), (false, 39)]);
    assert_eq!(f.terms()[2].test, Test::Text("a b".into()));
    assert!(parse_at("", NOW).unwrap().is_empty());
}

#[test]
fn quoted_values_and_escapes() {
    assert_eq!(one("path:\"/a b\""), Test::Path("/a b".into()));
    assert_eq!(one(r#""say \"hi\"""#), Test::Text("say \"hi\"".into()));
    assert_eq!(one("\"provider:x\""), Test::Text("provider:x".into()));
}

#[test]
fn errors_point_at_the_bad_term() {
    assert_eq!(
        error("stauts:5xx"),
        "unknown field 'stauts' at column 1 (did you mean 'status'?)"
    );
    assert_eq!(
        error("provider:x  provder:y"),
        "unknown field 'provder' at column 13 (did you mean 'provider'?)"
    );
    assert!(error("zzzzzz:1").contains("fields are method, path"));
    assert_eq!(
        error("a status:abc"),
        "bad status 'abc' at column 3 (e.g. status:404, status:5xx or status:400..499)"
    );
    assert!(error("status:600..500").contains("bad status"));
    assert!(error("status:6xx").contains("bad status"));
    assert!(
        error("status:failed")
            .contains("status:failed is an outcome, not a status at column 1 (use outcome:failed)"),
        "{}",
        error("status:failed")
    );
    assert_eq!(
        error("outcome:faild"),
        "unknown outcome 'faild' at column 1 (did you mean 'failed'?)"
    );
    assert!(error("sig:nope").contains("unknown signature 'nope'"));
    assert!(error("-after:yesterday").contains("bad time 'yesterday' at column 1"));
    assert!(error("id:5..2").contains("bad id range"));
    assert!(error("id:x").contains("bad id range"));
    assert!(error("json:a.b").contains("bad JSON path"));
    assert!(error("json:.a[x]").contains("bad JSON path"));
    assert!(error("header:=x").contains("bad header term"));
    assert_eq!(
        error("ok \"open"),
        "unclosed quote at column 4 (end the phrase with \")"
    );
    assert!(error("status:").contains("status: needs a value at column 1"));
    assert!(error("x \"\"").contains("empty term at column 3"));
}

#[test]
fn shell_words_with_spaces_stay_one_term() {
    let args: Vec<String> = ["provider:ayrshare", "account locked", "-acme corp", "x\"y"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let text = join_args(&args);
    assert_eq!(
        text,
        r#"provider:ayrshare "account locked" -"acme corp" "x\"y""#
    );
    let f = parse_args(&args).unwrap();
    assert_eq!(f.terms()[1].test, Test::Text("account locked".into()));
    assert_eq!(f.terms()[2].test, Test::Text("acme corp".into()));
    assert!(f.terms()[2].negated);
    assert_eq!(f.terms()[3].test, Test::Text("x\"y".into()));
    // A field word with a quote in its value: the value is quoted, the field kept.
    let f = parse_args(&["-path:/a\"b".to_string()]).unwrap();
    assert_eq!(f.terms()[0].test, Test::Path("/a\"b".into()));
    assert!(f.terms()[0].negated);
    // A field word with spaces in its value is filter text; its quotes keep it one value.
    let f = parse_args(&["-path:\"/a b\"".to_string()]).unwrap();
    assert_eq!(f.terms()[0].test, Test::Path("/a b".into()));
}

#[test]
fn shell_words_already_quoted_pass_as_they_are() {
    let args: Vec<String> = [
        r#""account locked""#,
        r#"-"Acme""#,
        r#"path:"/a b""#,
        r#""a"b""#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let f = parse_args(&args).unwrap();
    assert_eq!(f.terms()[0].test, Test::Text("account locked".into()));
    assert_eq!(f.terms()[1].test, Test::Text("Acme".into()));
    assert!(f.terms()[1].negated);
    assert_eq!(f.terms()[2].test, Test::Path("/a b".into()));
    // Not one quoted token: quoted again, quotes and all.
    assert_eq!(f.terms()[3].test, Test::Text("\"a\"b\"".into()));
}

#[test]
fn filter_text_pasted_as_one_shell_word_means_its_terms() {
    let args = vec!["provider:github status:5xx -replayed".to_string()];
    let f = parse_args(&args).unwrap();
    assert_eq!(f.terms().len(), 3, "{:?}", f.terms());
    assert_eq!(f.terms()[0].test, Test::Provider("github".into()));
    assert!(f.terms()[2].negated);
    let args = vec!["status:5xx provider:github".to_string()];
    assert_eq!(parse_args(&args).unwrap().terms().len(), 2);
}

/// The terms of one shell word, as `parse_args` reads it.
fn pasted(word: &str) -> Vec<(bool, Test)> {
    let f = parse_args(&[word.to_string()]).unwrap();
    f.terms()
        .iter()
        .map(|t| (t.negated, t.test.clone()))
        .collect()
}

#[test]
fn a_pasted_word_is_filter_text_only_when_its_first_word_is_a_term() {
    // Whatever follows a first term is a term of its own: a bare word too.
    assert_eq!(
        pasted("provider:unknown replayed"),
        vec![
            (false, Test::Provider("unknown".into())),
            (false, Test::Replayed)
        ]
    );
    assert_eq!(
        pasted("status:2xx timeout"),
        vec![
            (
                false,
                Test::Status {
                    low: 200,
                    high: 299
                }
            ),
            (false, Test::Text("timeout".into()))
        ]
    );
    assert_eq!(
        pasted("-replayed provider:x"),
        vec![(true, Test::Replayed), (false, Test::Provider("x".into()))]
    );
    assert_eq!(
        pasted("Replayed x"),
        vec![(false, Test::Replayed), (false, Test::Text("x".into()))]
    );
    assert_eq!(
        pasted("-path:/a b"),
        vec![
            (true, Test::Path("/a".into())),
            (false, Test::Text("b".into()))
        ]
    );
    // A phrase stays a phrase, whatever field words it holds after its first word.
    for phrase in [
        "retry after:5 seconds",
        "error type:validation failed",
        "account locked -status:2xx",
        "account locked: try later",
    ] {
        assert_eq!(pasted(phrase), vec![(false, Test::Text(phrase.into()))]);
    }
    assert_eq!(
        pasted("-acme status:5xx"),
        vec![(true, Test::Text("acme status:5xx".into()))]
    );
}

#[test]
fn a_filter_too_long_for_sqlite_is_a_parse_error_at_the_term_past_the_limit() {
    let at_limit = vec!["status:5xx"; MAX_TERMS].join(" ");
    assert_eq!(parse_at(&at_limit, NOW).unwrap().terms().len(), MAX_TERMS);
    let over = format!("{at_limit} -replayed");
    let err = parse_at(&over, NOW).unwrap_err();
    assert_eq!(err.column, at_limit.len() + 2);
    assert!(
        err.message.contains(&format!("at most {MAX_TERMS} terms")),
        "{err}"
    );

    let long = "x".repeat(MAX_TERM_BYTES);
    assert!(parse_at(&format!("path:/{long}"), NOW).is_err());
    assert!(parse_at(&format!("a path:{}", &long[5..]), NOW).is_ok());
    let err = parse_at(&format!("a \"{long} \""), NOW).unwrap_err();
    assert_eq!(err.column, 3);
    assert!(err.to_string().contains("term too long"), "{err}");
}
