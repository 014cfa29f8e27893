//! Tests of the text search index: what it holds, its mark, and prune.

use super::*;

#[test]
fn needles_become_anded_trigrams_and_short_ones_none() {
    assert_eq!(match_expr(["ab"]), None);
    assert_eq!(match_expr(["é!"]), None);
    assert_eq!(match_expr(["a\0bc"]), None);
    assert_eq!(match_expr(["abc"]).as_deref(), Some("\"abc\""));
    assert_eq!(
        match_expr(["abcb", "bcb"]).as_deref(),
        Some("\"abc\" AND \"bcb\"")
    );
    assert_eq!(match_expr(["a\"b"]).as_deref(), Some("\"a\"\"b\""));
    assert_eq!(match_expr(["ab", "xyz"]).as_deref(), Some("\"xyz\""));
}

#[test]
fn text_keeps_every_needle_the_matcher_could_find() {
    let text = text_of("/p", Some("q=1"), b"a\0b\xffcd");
    assert_eq!(text, "/p\nq=1\na b\u{fffd}cd");
}
