//! The window over a large body shows exactly what wrapping all of it would.

use super::*;
use crate::tui::text::wrap;

fn all_rows(text: &Text, width: usize) -> Vec<String> {
    let rows = text.rows(width);
    text.lines(&rows, 0, usize::MAX)
        .iter()
        .map(|l| l.to_string())
        .collect()
}

fn text(s: &str) -> Text {
    Text {
        notes: Vec::new(),
        bytes: Bytes::copy_from_slice(s.as_bytes()),
    }
}

#[test]
fn windows_are_the_rows_wrapping_the_whole_text_gives() {
    let samples = [
        "short\nlines\r\nhere\n\n\nand a much longer line: https://x.example/y that wraps\n",
        "no newline at the end, and some words to break between",
        "日本語のテキスト 日本語のテキスト\n\tcontrol\x07 chars é\n\n",
        "\n\n\n",
        "x",
    ];
    for s in samples {
        for width in [1, 2, 3, 5, 12, 80] {
            // Wrapped whole, then made safe to show as every shown span is.
            let old: Vec<String> =
                wrap(s.lines().map(|l| Line::raw(l.to_string())).collect(), width)
                    .into_iter()
                    .map(|mut l| {
                        l.spans.iter_mut().for_each(crate::tui::text::clean);
                        l.to_string()
                    })
                    .collect();
            let t = text(s);
            assert_eq!(all_rows(&t, width), old, "{s:?} at {width}");
            let rows = t.rows(width);
            assert_eq!(rows.len(), old.len(), "{s:?} at {width}");
            // Any window is the same slice of them.
            for from in 0..old.len() {
                let got: Vec<String> = t
                    .lines(&rows, from, 3)
                    .iter()
                    .map(|l| l.to_string())
                    .collect();
                let want = &old[from..(from + 3).min(old.len())];
                assert_eq!(got, want, "{s:?} at {width} from {from}");
            }
        }
    }
}

#[test]
fn the_index_is_small_and_finds_rows_far_in() {
    let body: String = (0..10_000)
        .map(|n| format!("line {n:05} of the body\n"))
        .collect();
    let t = text(&body);
    let rows = t.rows(80);
    assert_eq!(rows.len(), 10_000);
    assert!(rows.marks.len() <= 10_000 / STEP + 1);
    let got = t.lines(&rows, 9_998, 10);
    let got: Vec<String> = got.iter().map(|l| l.to_string()).collect();
    assert_eq!(got, ["line 09998 of the body", "line 09999 of the body"]);
    assert!(t.lines(&rows, 10_000, 5).is_empty());
}

#[test]
fn small_bodies_are_rendered_and_large_ones_are_windows_over_the_same_bytes() {
    let json = HeaderList::default();
    match prepare(&json, Bytes::from_static(br#"{"a":1}"#), None) {
        Body::Lines(shown) => assert_eq!(shown.lines, ["{", "  \"a\": 1", "}"]),
        Body::Text(_) => panic!("a small body is rendered"),
    }
    let large = Bytes::from(format!("[{}1]", "1,".repeat(PRETTY_MAX)));
    let Body::Text(t) = prepare(&json, large.clone(), None) else {
        panic!("a large body is a window");
    };
    assert_eq!(t.bytes.as_ptr(), large.as_ptr(), "not copied");
    // A cut body says so, and a character cut in two is left out.
    let mut cut = "é".repeat(10).into_bytes();
    cut.pop();
    let Body::Text(t) = prepare(&json, Bytes::from(cut), Some("the start".into())) else {
        panic!("text");
    };
    assert_eq!(
        (t.notes.as_slice(), t.str()),
        (&["the start".to_string()][..], &*"é".repeat(9))
    );
    // Bytes that are not text are a hex dump, as before.
    let Body::Lines(shown) = prepare(&json, Bytes::from(vec![0xff; PRETTY_MAX + 1]), None) else {
        panic!("binary");
    };
    assert!(
        shown.lines[0].starts_with("00000000  ff ff"),
        "{:?}",
        shown.lines[0]
    );
}
