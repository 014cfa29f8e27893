//! Paging, follow mode and live rows of the list window.

use super::*;
use crate::filter::Filter;

pub(crate) fn row(id: i64) -> EventSummary {
    EventSummary {
        id,
        uid: format!("u{id}"),
        received_at: id * 1_000_000,
        ingress: "local".into(),
        method: "POST".into(),
        path: "/hooks".into(),
        query: None,
        remote_addr: None,
        body_size: 10,
        body_sha256: String::new(),
        provider: "unknown".into(),
        event_type: None,
        provider_event_id: None,
        summary: None,
        signature: "unchecked".into(),
        derived_from: None,
        deliveries: 1,
        status: Some(200),
        outcome: Some("ok".into()),
        duration_us: Some(1000),
        replayed: false,
        duplicate_of: None,
        signature_detail: None,
        held_since: None,
    }
}

fn rows(ids: impl Iterator<Item = i64>) -> Vec<EventSummary> {
    ids.map(row).collect()
}

fn ids(w: &Window) -> Vec<i64> {
    w.rows.iter().map(|r| r.id).collect()
}

#[test]
fn pages_down_then_drops_the_far_end() {
    let mut w = Window::new();
    assert_eq!(w.reset(), Load::Newest);
    assert_eq!(
        w.loaded(Load::Newest, rows((901..=1000).rev()), true, 10),
        None
    );
    assert_eq!(w.selected_id(), Some(1000));
    // Moving near the end asks for the next page, once.
    let load = w.move_by(85, 10);
    assert_eq!(load, Some(Load::Older { before: 901 }));
    assert!(!w.follow);
    assert_eq!(w.move_by(1, 10), None, "one load at a time");
    w.loaded(
        Load::Older { before: 901 },
        rows((801..=900).rev()),
        true,
        10,
    );
    assert_eq!(w.rows.len(), 200);
    assert_eq!(w.selected_id(), Some(1000 - 86));
    // Far down, the newest rows are dropped and come back on the way up.
    for before in [801, 701, 601] {
        assert_eq!(w.move_by(100, 10), Some(Load::Older { before }));
        w.loaded(
            Load::Older { before },
            rows((before - 100..before).rev()),
            true,
            10,
        );
    }
    assert_eq!(ids(&w).first(), Some(&900));
    assert_eq!((w.rows.len(), w.more_newer), (MAX_ROWS, true));
    let up = w.move_by(-(w.selected as isize), 10);
    assert_eq!(up, Some(Load::Newer { after: 900 }));
    assert_eq!(w.selected_id(), Some(900));
    w.loaded(
        Load::Newer { after: 900 },
        rows((901..=1000).rev()),
        false,
        10,
    );
    assert_eq!(ids(&w).first(), Some(&1000));
    assert_eq!(ids(&w).last(), Some(&601));
    assert!(!w.more_newer && w.more_older);
    assert_eq!(
        w.selected_id(),
        Some(900),
        "the selection stays on its Event"
    );
}

#[test]
fn keys_faster_than_pages_are_not_lost() {
    let mut w = Window::new();
    w.reset();
    w.loaded(Load::Newest, rows((901..=1000).rev()), true, 10);
    // 250 presses before any page comes back: the selection waits at the last row held.
    assert_eq!(w.move_by(1, 10), None);
    let mut load = None;
    for _ in 1..250 {
        load = load.or(w.move_by(1, 10));
    }
    assert_eq!(load, Some(Load::Older { before: 901 }));
    assert_eq!((w.selected_id(), w.pending), (Some(901), 151));
    let next = w.loaded(
        Load::Older { before: 901 },
        rows((801..=900).rev()),
        true,
        10,
    );
    assert_eq!((w.selected_id(), w.pending), (Some(801), 51));
    assert_eq!(next, Some(Load::Older { before: 801 }));
    w.loaded(
        Load::Older { before: 801 },
        rows((701..=800).rev()),
        true,
        10,
    );
    assert_eq!((w.selected_id(), w.pending), (Some(750), 0));
    // Going back up past the window's top waits for newer rows the same way.
    assert_eq!(w.top(10), None);
    assert_eq!(w.selected_id(), Some(1000));
}

#[test]
fn follow_keeps_the_newest_selected_and_pauses_on_a_move() {
    let mut w = Window::new();
    w.reset();
    w.loaded(Load::Newest, rows((1..=5).rev()), false, 10);
    let all = Filter::all();
    assert!(w.upsert(&row(6), &all, None));
    assert_eq!((w.selected_id(), w.offset), (Some(6), 0));
    w.move_by(2, 10);
    assert!(!w.follow);
    assert_eq!(w.selected_id(), Some(4));
    w.offset = 1;
    assert!(w.upsert(&row(7), &all, None));
    assert_eq!(w.selected_id(), Some(4), "paused: the selection stays put");
    assert_eq!(
        (w.offset, w.new_above),
        (2, 1),
        "the view stays put, the new row is counted"
    );
    assert_eq!(w.follow(10), None);
    assert_eq!(w.selected_id(), Some(7));
    assert_eq!(w.new_above, 0);
    // A changed row is replaced in place.
    let mut changed = row(5);
    changed.status = Some(500);
    assert!(w.upsert(&changed, &all, None));
    assert_eq!(w.rows[2].status, Some(500));
    assert_eq!(ids(&w), vec![7, 6, 5, 4, 3, 2, 1]);
}

#[test]
fn live_rows_respect_the_filter_and_the_window() {
    let mut w = Window::new();
    w.reset();
    w.loaded(Load::Newest, rows((1..=3).rev()), false, 10);
    let only_500 = crate::filter::parse("status:500").unwrap();
    assert!(!w.upsert(&row(4), &only_500, None));
    let text = crate::filter::parse("needle").unwrap();
    assert!(!w.upsert(&row(5), &text, None));
    assert!(w.stale, "a body term cannot be decided from the bus");
    assert!(matches!(
        w.refresh(),
        Some(Load::Refresh {
            low: 1,
            high: 3,
            open_top: true
        })
    ));
    // Far down the history, new rows above are only counted.
    let mut w = Window::new();
    w.reset();
    w.loaded(Load::Oldest, rows((1..=3).rev()), true, 10);
    assert!(w.upsert(&row(100), &Filter::all(), None));
    assert_eq!((w.unseen, w.rows.len()), (1, 3));
    assert_eq!(w.top(10), Some(Load::Newest));
}

#[test]
fn bottom_loads_the_oldest_page_and_stale_loads_are_ignored() {
    let mut w = Window::new();
    w.reset();
    w.loaded(Load::Newest, rows((501..=600).rev()), true, 10);
    assert_eq!(w.bottom(10), Some(Load::Oldest));
    w.loaded(Load::Oldest, rows((1..=100).rev()), true, 10);
    assert_eq!(w.selected_id(), Some(1));
    assert!(w.more_newer && !w.more_older);
    // An Older page for a window that moved on is dropped.
    assert_eq!(
        w.loaded(Load::Older { before: 501 }, rows(1..2), true, 10),
        None
    );
    assert_eq!(w.rows.len(), 100);
    assert_eq!(w.top(10), Some(Load::Newest));
}

#[test]
fn scrolling_keeps_the_selection_on_screen() {
    let mut w = Window::new();
    w.reset();
    w.loaded(Load::Newest, rows((1..=50).rev()), false, 10);
    w.move_by(15, 10);
    assert_eq!((w.selected, w.offset), (15, 6));
    w.move_by(-10, 10);
    assert_eq!((w.selected, w.offset), (5, 5));
    w.bottom(10);
    assert_eq!((w.selected, w.offset), (49, 40));
    w.scroll_into_view(60);
    assert_eq!(w.offset, 0, "a tall screen shows everything");
}

#[test]
fn a_row_that_stops_matching_leaves_and_the_selection_stays() {
    let mut w = Window::new();
    w.reset();
    w.loaded(Load::Newest, rows((1..=5).rev()), false, 10);
    w.move_by(2, 10);
    assert_eq!(w.selected_id(), Some(3));
    let ok = crate::filter::parse("status:2xx").unwrap();
    let mut failed = row(4);
    failed.status = Some(500);
    assert!(w.upsert(&failed, &ok, Some(true)));
    assert_eq!(ids(&w), vec![5, 3, 2, 1]);
    assert_eq!(w.selected_id(), Some(3), "the same Event stays selected");
    // The selected row itself leaving selects the next older one.
    let mut failed = row(3);
    failed.status = Some(500);
    w.upsert(&failed, &ok, Some(true));
    assert_eq!(w.selected_id(), Some(2));
    // The last row leaving selects the one above it.
    w.bottom(10);
    let mut failed = row(1);
    failed.status = Some(500);
    w.upsert(&failed, &ok, Some(true));
    assert_eq!((ids(&w), w.selected_id()), (vec![5, 2], Some(2)));
}

#[test]
fn an_event_above_the_window_counts_once_as_new() {
    // Far down the history: new Events above are counted, not held.
    let mut w = Window::new();
    w.reset();
    w.loaded(Load::Oldest, rows((1..=3).rev()), true, 10);
    let mut pending = row(100);
    (pending.status, pending.outcome) = (None, Some("pending".into()));
    assert!(w.upsert(&pending, &Filter::all(), None));
    assert!(w.upsert(&row(100), &Filter::all(), Some(true)));
    assert_eq!(w.unseen, 1, "its Delivery is not a second new Event");
    // Under `status:2xx` it becomes new only when answered 200.
    let ok = crate::filter::parse("status:2xx").unwrap();
    pending.id = 101;
    assert!(!w.upsert(&pending, &ok, None));
    assert_eq!(w.unseen, 1);
    assert!(w.upsert(&row(101), &ok, Some(false)));
    assert_eq!(w.unseen, 2);
    // And stops being new when its answer takes it out of the filter.
    let not_ok = crate::filter::parse("-status:2xx").unwrap();
    pending.id = 102;
    assert!(w.upsert(&pending, &not_ok, None));
    assert_eq!(w.unseen, 3);
    assert!(w.upsert(&row(102), &not_ok, Some(true)));
    assert_eq!(w.unseen, 2);
}
