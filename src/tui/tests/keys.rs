//! Every key path through `update`, with the effects it asks for, and the facts from outside
//! (bus, workers, ticks, mouse, resize).

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use super::{Fixture, NOW, ids, job};
use crate::store::Change;
use crate::tui::app::{Effect, Focus, Mode, Msg, Tab};
use crate::tui::data::{Clip, CopyWhat, Job, Reply};
use crate::tui::window::Load;

#[test]
fn moving_pauses_follow_and_g_resumes_it() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    assert_eq!(ids(&app), vec![6, 5, 4, 3, 2, 1]);
    assert!(app.list.follow);
    assert_eq!(app.detail.as_ref().map(|d| d.summary.id), Some(6));
    for (key, id) in [
        (KeyCode::Char('j'), 5),
        (KeyCode::Down, 4),
        (KeyCode::Char('k'), 5),
        (KeyCode::Up, 6),
    ] {
        f.press(&mut app, key);
        assert_eq!(app.list.selected_id(), Some(id));
        assert_eq!(app.detail.as_ref().map(|d| d.summary.id), Some(id));
    }
    f.press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.list.selected_id(), Some(1));
    assert!(!app.list.follow);
    f.press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.list.selected_id(), Some(6));
    assert!(app.list.follow);
    f.press(&mut app, KeyCode::End);
    f.press(&mut app, KeyCode::Home);
    assert_eq!(app.list.selected_id(), Some(6));
    f.press(&mut app, KeyCode::PageDown);
    assert_eq!(
        app.list.selected_id(),
        Some(1),
        "a page is more than 6 rows"
    );
    f.press_with(&mut app, KeyCode::Char('b'), KeyModifiers::CONTROL);
    assert_eq!(app.list.selected_id(), Some(6));
    f.press(&mut app, KeyCode::Char('j'));
    f.press(&mut app, KeyCode::Char('f'));
    assert!(app.list.follow);
    assert_eq!(app.list.selected_id(), Some(6));
}

#[test]
fn enter_tab_and_numbers_switch_panes_and_tabs() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    f.press(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, Focus::Detail);
    let tabs = [Tab::Request, Tab::Response, Tab::Deliveries, Tab::Summary];
    for tab in tabs {
        f.press(&mut app, KeyCode::Tab);
        assert_eq!(app.tab, tab);
    }
    f.press_with(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(app.tab, Tab::Deliveries);
    f.press(&mut app, KeyCode::Char('h'));
    assert_eq!(app.tab, Tab::Response);
    f.press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.tab, Tab::Deliveries);
    f.press(&mut app, KeyCode::Char('2'));
    assert_eq!(app.tab, Tab::Request);
    // In the detail pane j/k scroll, g/G jump, PgDn pages.
    f.press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.scroll, 1);
    assert_eq!(app.list.selected_id(), Some(6), "the list stays");
    f.press(&mut app, KeyCode::Char('G'));
    assert_eq!(
        app.scroll,
        app.detail_text.len() - app.areas().detail_rows()
    );
    f.press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.scroll, 0);
    f.press(&mut app, KeyCode::PageDown);
    assert!(app.scroll > 1);
    f.press(&mut app, KeyCode::Esc);
    assert_eq!(app.focus, Focus::List);
    f.press(&mut app, KeyCode::Enter);
    f.press(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, Focus::List);
}

#[test]
fn filter_updates_as_you_type_shows_errors_and_esc_restores() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    f.press(&mut app, KeyCode::Char('/'));
    assert_eq!(app.mode, Mode::Filter);
    // `q` is text here, not quit.
    f.type_text(&mut app, "status:5xx");
    assert_eq!(ids(&app), vec![3]);
    assert_eq!(app.filter_text, "status:5xx");
    f.press(&mut app, KeyCode::Backspace);
    f.press(&mut app, KeyCode::Backspace);
    f.press(&mut app, KeyCode::Backspace);
    assert!(app.filter_error.is_some(), "`status:` alone does not parse");
    assert_eq!(ids(&app), vec![3], "the list keeps the last good filter");
    f.press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.mode,
        Mode::Filter,
        "Enter does not apply a broken filter"
    );
    f.type_text(&mut app, "404");
    assert_eq!(ids(&app), vec![6]);
    f.press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Browse);
    assert_eq!(app.total, None, "counts come from the worker");
    // Esc while editing brings back the filter from before `/`.
    f.press(&mut app, KeyCode::Char('/'));
    f.press_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(ids(&app), vec![6, 5, 4, 3, 2, 1]);
    f.press(&mut app, KeyCode::Esc);
    assert_eq!(
        (app.mode, app.filter_text.as_str()),
        (Mode::Browse, "status:404")
    );
    assert_eq!(ids(&app), vec![6]);
    // A body term works too, and a filter matching nothing empties the detail pane.
    f.press(&mut app, KeyCode::Char('/'));
    f.press_with(&mut app, KeyCode::Char('w'), KeyModifiers::CONTROL);
    f.type_text(&mut app, "\"Acme Coffee\" -type:social.unlink");
    assert_eq!(ids(&app), vec![1]);
    f.type_text(&mut app, " nothing-like-this");
    assert!(ids(&app).is_empty());
    assert!(app.detail.is_none());
}

#[test]
fn replay_keys_ask_for_replays() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    let effect = f.press(&mut app, KeyCode::Char('r'));
    assert_eq!(
        job(effect),
        Job::Replay {
            id: 6,
            to: None,
            resign: false
        }
    );
    assert!(app.message.as_ref().unwrap().text.contains("replaying #6"));
    // R asks for a URL, prefilled (selected) with where the Event went last: typing replaces
    // it rather than appending to it.
    f.press(&mut app, KeyCode::Char('R'));
    assert_eq!(app.mode, Mode::Prompt);
    assert_eq!(app.prompt.text, "http://localhost:3000");
    assert!(app.prompt.selected);
    f.type_text(&mut app, "http://127.0.0.1:43117");
    assert_eq!(app.prompt.text, "http://127.0.0.1:43117");
    f.press(&mut app, KeyCode::Esc);
    f.press(&mut app, KeyCode::Char('R'));
    f.press_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    f.type_text(&mut app, "localhost:4000");
    assert_eq!(f.press(&mut app, KeyCode::Enter), None);
    assert!(app.prompt_error.as_ref().unwrap().contains("no scheme"));
    f.press(&mut app, KeyCode::Home);
    f.type_text(&mut app, "http://");
    let effect = f.press(&mut app, KeyCode::Enter);
    let to = crate::forward::Target::parse("http://localhost:4000").unwrap();
    assert_eq!(
        job(effect),
        Job::Replay {
            id: 6,
            to: Some(to),
            resign: false
        }
    );
    assert_eq!(app.mode, Mode::Browse);
    f.press(&mut app, KeyCode::Char('R'));
    f.press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Browse);
    // The worker's answer lands in the footer; a failed one in red.
    app.update(Msg::Data(Reply::Replayed {
        event_id: 6,
        line: "replayed #6 to http://localhost:3000/hooks/ayrshare: 200 in 3.1 ms".into(),
        ok: true,
    }));
    assert!(!app.message.as_ref().unwrap().error);
    app.update(Msg::Data(Reply::Failed("cannot reach it".into())));
    assert!(app.message.as_ref().unwrap().error);
}

#[test]
fn re_sign_keys_ask_for_re_signed_replays() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    let effect = f.press(&mut app, KeyCode::Char('s'));
    assert_eq!(
        job(effect),
        Job::Replay {
            id: 6,
            to: None,
            resign: true
        }
    );
    assert!(
        app.message
            .as_ref()
            .unwrap()
            .text
            .contains("re-signing and replaying #6")
    );
    // S opens the same prompt, which says the replay will be re-signed.
    f.press(&mut app, KeyCode::Char('S'));
    assert_eq!(app.mode, Mode::Prompt);
    assert!(app.prompt_resign);
    let effect = f.press(&mut app, KeyCode::Enter);
    let to = crate::forward::Target::parse("http://localhost:3000").unwrap();
    assert_eq!(
        job(effect),
        Job::Replay {
            id: 6,
            to: Some(to),
            resign: true
        }
    );
    // R after S asks for a plain replay again.
    f.press(&mut app, KeyCode::Char('R'));
    assert!(!app.prompt_resign);
}

#[test]
fn edit_and_copy_go_through_the_worker_and_back_to_the_loop() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    assert_eq!(
        job(f.press(&mut app, KeyCode::Char('e'))),
        Job::EditText { id: 6 }
    );
    let effect = app.update(Msg::Data(Reply::EditText {
        id: 6,
        text: "POST / HTTP/1.1\n\n{}".into(),
    }));
    assert_eq!(
        effect,
        Some(Effect::Editor {
            id: 6,
            text: "POST / HTTP/1.1\n\n{}".into()
        })
    );
    assert_eq!(
        job(f.press(&mut app, KeyCode::Char('c'))),
        Job::Copy {
            id: 6,
            what: CopyWhat::Curl
        }
    );
    assert_eq!(
        job(f.press(&mut app, KeyCode::Char('y'))),
        Job::Copy {
            id: 6,
            what: CopyWhat::Body
        }
    );
    // The curl copy masks the signature, as `export --format curl` does.
    let curl = crate::tui::data::copy(&f.reader, 6, CopyWhat::Curl).unwrap();
    let text = String::from_utf8(curl.bytes).unwrap();
    assert!(
        text.contains("-H 'X-Authorization-Content-SHA256: [masked]'"),
        "{text}"
    );
    assert_eq!(curl.label, "curl for #6 (secrets masked)");
    assert_eq!(curl.file_name, "event-6.curl.sh");
    let body = crate::tui::data::copy(&f.reader, 6, CopyWhat::Body).unwrap();
    assert_eq!(body.file_name, "event-6.body.json");
    let clip = Clip {
        label: "curl for #6".into(),
        bytes: b"curl".to_vec(),
        file_name: "event-6.curl.sh".into(),
    };
    let effect = app.update(Msg::Data(Reply::Clip(clip.clone())));
    assert_eq!(effect, Some(Effect::Clipboard(clip)));
    app.update(Msg::Notice {
        text: "copied curl for #6".into(),
        error: false,
    });
    assert_eq!(app.message.as_ref().unwrap().text, "copied curl for #6");
    // Messages fade after a few seconds.
    app.update(Msg::Tick(NOW + 10_000_000));
    assert!(app.message.is_none());
}

#[test]
fn diff_and_mark_compare_deliveries() {
    let f = Fixture::new();
    let mut app = f.app(100, 40);
    f.press(&mut app, KeyCode::Char('d'));
    assert!(app.diff.is_none());
    assert!(
        app.message
            .as_ref()
            .unwrap()
            .text
            .contains("has 1 Delivery")
    );
    f.replay(6, 200);
    f.replay(6, 500);
    // The bus says #6 changed: its detail is loaded again.
    let mut changed = app.list.rows[0].clone();
    changed.deliveries = 3;
    app.update(Msg::Bus(Change::Delivery {
        summary: Arc::new(changed),
        error: None,
        kind: crate::event::DeliveryKind::Replay,
    }));
    f.load_detail(&mut app);
    assert_eq!(app.detail.as_ref().unwrap().deliveries.len(), 3);
    f.press(&mut app, KeyCode::Char('d'));
    assert_eq!(app.tab, Tab::Deliveries);
    let diff = app.diff.clone().unwrap();
    assert!(diff[0].starts_with("Delivery #6 (original"), "{diff:?}");
    assert!(
        diff[0].contains("vs #8"),
        "original against the latest replay: {diff:?}"
    );
    // Pick the first replay instead, and compare it with the original.
    f.press(&mut app, KeyCode::Enter);
    f.press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.delivery, Some(1));
    assert!(app.diff.as_ref().unwrap()[0].contains("vs #7"));
    // Mark the replay, pick the last: replay against replay.
    f.press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.mark, Some(1));
    f.press(&mut app, KeyCode::Char('j'));
    let diff = app.diff.clone().unwrap();
    assert!(diff[0].starts_with("Delivery #7 (replay"), "{diff:?}");
    assert!(diff.iter().any(|l| l.contains("200 -> 500")), "{diff:?}");
    f.press(&mut app, KeyCode::Char('d'));
    assert!(app.diff.is_none());
    // The Response tab shows the picked Delivery.
    f.press(&mut app, KeyCode::Char('3'));
    assert!(
        app.detail_text
            .line(0)
            .unwrap()
            .to_string()
            .starts_with("Delivery #8 (replay) 3 of 3")
    );
}

#[test]
fn help_quit_and_esc() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    f.press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.mode, Mode::Help);
    assert_eq!(
        f.press(&mut app, KeyCode::Char('q')),
        None,
        "q closes the help"
    );
    assert_eq!((app.mode, app.quit), (Mode::Browse, false));
    f.press(&mut app, KeyCode::Char('?'));
    f.press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.mode, Mode::Browse, "any key closes it");
    f.press(&mut app, KeyCode::Char('x'));
    assert!(!app.quit, "unknown keys do nothing");
    assert_eq!(f.press(&mut app, KeyCode::Char('q')), Some(Effect::Quit));
    assert!(app.quit);
    let mut app = f.app(80, 24);
    let effect = f.press_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(effect, Some(Effect::Quit));
}

#[test]
fn wheel_scrolls_the_pane_under_the_mouse_and_resize_relayouts() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    let list = app.areas().list;
    let detail = app.areas().detail;
    let wheel = |up, area: ratatui::layout::Rect| Msg::Wheel {
        up,
        column: area.x + 2,
        row: area.y + 2,
    };
    let e = app.update(wheel(false, list));
    f.effect(&mut app, e);
    assert_eq!(app.list.selected_id(), Some(3));
    app.update(wheel(false, detail));
    assert_eq!(
        app.scroll,
        3.min(app.detail_text.len() - app.areas().detail_rows())
    );
    app.update(wheel(true, detail));
    assert_eq!(app.scroll, 0);
    app.update(Msg::Resize(200, 50));
    assert_eq!(app.size, (200, 50));
    assert!(app.areas().detail.x > 0, "side by side");
    app.update(Msg::Resize(40, 10));
    assert_eq!(app.areas().detail.height, 0, "too short for two panes");
}

#[test]
fn live_events_counters_and_reloads() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    let mut new = app.list.rows[0].clone();
    new.id = 7;
    new.status = None;
    new.outcome = Some("pending".into());
    app.update(Msg::Bus(Change::Event(Arc::new(new.clone()))));
    assert_eq!(app.list.selected_id(), Some(7), "following");
    assert_eq!((app.stats.received, app.stats.in_flight), (1, 1));
    new.status = Some(200);
    new.outcome = Some("ok".into());
    app.update(Msg::Bus(Change::Delivery {
        summary: Arc::new(new.clone()),
        error: None,
        kind: crate::event::DeliveryKind::Original,
    }));
    assert_eq!((app.stats.answered_2xx, app.stats.in_flight), (1, 0));
    assert_eq!(app.target_up, Some(true));
    // A second later the rate is known.
    app.update(Msg::Tick(NOW));
    app.update(Msg::Tick(NOW + 1_000_000));
    assert_eq!(app.stats.rate, 0.0, "nothing arrived in that second");
    // A lagging screen reloads from the Store.
    let effect = app.update(Msg::Lagged);
    match effect {
        Some(Effect::Query(q)) => {
            assert!(matches!(
                q.load,
                Load::Refresh {
                    low: 1,
                    high: 7,
                    open_top: true
                }
            ))
        }
        other => panic!("expected a refresh, got {other:?}"),
    }
    assert_eq!(app.update(Msg::Lagged), None, "one load at a time");
    app.update(Msg::TargetUp(false));
    assert_eq!(app.target_up, Some(false));
    app.update(Msg::Line(0, "ignored: no such line".into()));
}

#[test]
fn replies_for_an_old_filter_are_dropped() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    let old = app.filter_gen;
    f.press(&mut app, KeyCode::Char('/'));
    let effect = f.type_text(&mut app, "x");
    assert!(effect.is_none(), "the fixture ran the query");
    app.update(Msg::Data(Reply::Loaded {
        generation: old,
        load: Load::Newest,
        rows: Vec::new(),
        more: false,
    }));
    app.update(Msg::Data(Reply::Counted {
        generation: old,
        total: 99,
    }));
    assert_ne!(app.total, Some(99));
    app.update(Msg::Data(Reply::Counted {
        generation: app.filter_gen,
        total: 1,
    }));
    assert_eq!(app.total, Some(1));
}

#[test]
fn r_prompt_never_offers_a_target_an_imported_file_recorded() {
    let f = Fixture::new();
    let conn = rusqlite::Connection::open(f.store.path()).unwrap();
    conn.execute_batch(
        "UPDATE events SET ingress = 'import' WHERE id = 6;
         UPDATE deliveries SET target = 'http://attacker.example' || substr(target, 22)
         WHERE event_id = 6;",
    )
    .unwrap();
    let mut app = f.app(80, 24);
    let shown = app.detail.as_ref().unwrap();
    assert!(
        shown.deliveries[0]
            .target
            .starts_with("http://attacker.example/")
    );
    f.press(&mut app, KeyCode::Char('R'));
    assert_eq!(app.mode, Mode::Prompt);
    assert_eq!(
        app.prompt.text, "http://localhost:3000",
        "listen's Target instead"
    );
}

#[test]
fn u_copies_the_public_url_once_the_tunnel_has_one() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    app.lines = vec![("public".into(), String::new())];
    assert_eq!(f.press(&mut app, KeyCode::Char('u')), None);
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.error && m.text.contains("--public"))
    );
    let url = "https://quiet-forest-1234.trycloudflare.com";
    app.update(Msg::Line(0, url.into()));
    let Some(Effect::Clipboard(clip)) = f.press(&mut app, KeyCode::Char('u')) else {
        panic!("u copies");
    };
    assert_eq!(clip.bytes, url.as_bytes());
}

#[test]
fn the_counts_follow_each_events_latest_answer_and_count_replays() {
    use crate::event::DeliveryKind;
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    let mut new = app.list.rows[0].clone();
    new.id = 7;
    new.status = None;
    new.outcome = Some("pending".into());
    app.update(Msg::Bus(Change::Event(Arc::new(new.clone()))));
    let deliver = |app: &mut crate::tui::app::App, id: i64, status: Option<u16>, kind| {
        let mut new = new.clone();
        new.id = id;
        new.status = status;
        new.outcome = Some(if status.is_some() { "ok" } else { "failed" }.into());
        app.update(Msg::Bus(Change::Delivery {
            summary: Arc::new(new.clone()),
            error: None,
            kind,
        }));
        let s = &app.stats;
        (s.answered_2xx, s.not_2xx, s.replays)
    };
    // The app was down, then a redelivery got 200: the Event counts as 2xx, once.
    assert_eq!(
        deliver(&mut app, 7, None, DeliveryKind::Original),
        (0, 1, 0)
    );
    assert_eq!(
        deliver(&mut app, 7, Some(200), DeliveryKind::Retry),
        (1, 0, 0)
    );
    assert_eq!(
        deliver(&mut app, 7, Some(500), DeliveryKind::Replay),
        (0, 1, 1)
    );
    assert_eq!(
        deliver(&mut app, 7, Some(500), DeliveryKind::Replay),
        (0, 1, 2)
    );
    // A replay of an Event from before this session counts as a replay only.
    assert_eq!(
        deliver(&mut app, 1, Some(200), DeliveryKind::Replay),
        (0, 1, 3)
    );
}
