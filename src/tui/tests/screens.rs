//! Snapshots of the main screens (`cargo insta review` after a deliberate change).

use ratatui::crossterm::event::KeyCode;

use super::{Fixture, draw};

#[test]
fn list_with_the_newest_event_at_80x24() {
    let f = Fixture::new();
    let app = f.app(80, 24);
    insta::assert_snapshot!("list_80x24", draw(&app).backend());
}

#[test]
fn detail_of_an_ayrshare_unlink() {
    let f = Fixture::new();
    let mut app = f.app(100, 40);
    // The first unlink (the second is Ayrshare's retry of it).
    f.press(&mut app, KeyCode::Char('j'));
    f.press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("detail_summary", draw(&app).backend());
    f.press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!("detail_request", draw(&app).backend());
}

#[test]
fn a_provider_retry_with_its_replay_and_diff_side_by_side() {
    let f = Fixture::new();
    f.replay(6, 200);
    let mut app = f.app(160, 30);
    f.press(&mut app, KeyCode::Char('d'));
    insta::assert_snapshot!("diff_160x30", draw(&app).backend());
}

#[test]
fn filter_with_an_error() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    f.press(&mut app, KeyCode::Char('/'));
    f.type_text(&mut app, "provider:ayrshare stauts:5xx");
    insta::assert_snapshot!("filter_error", draw(&app).backend());
}

#[test]
fn help() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    f.press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help_80x24", draw(&app).backend());
}

#[test]
fn narrow_terminal_stacks_the_panes() {
    let f = Fixture::new();
    let mut app = f.app(50, 20);
    insta::assert_snapshot!("narrow_50x20", draw(&app).backend());
    // Too short for both panes: only the focused one.
    f.press(&mut app, KeyCode::Enter);
    app.update(super::Msg::Resize(50, 12));
    insta::assert_snapshot!("short_50x12_detail", draw(&app).backend());
}

#[test]
fn a_status_line_from_the_tunnel_shows_under_the_counters() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    app.lines = vec![("relay".into(), String::new())];
    app.update(super::Msg::Line(
        0,
        "https://relay.example/c/dev connected, 3 queued".into(),
    ));
    let terminal = draw(&app);
    let screen = format!("{}", terminal.backend());
    let third = screen.lines().nth(2).unwrap();
    assert!(
        third.contains(" relay https://relay.example/c/dev connected, 3 queued"),
        "{screen}"
    );
    assert_eq!(app.areas().status.height, 3);
}

#[test]
fn a_long_error_wraps_and_stays_until_a_key() {
    let f = Fixture::new();
    let mut app = f.app(100, 30);
    app.update(super::Msg::Data(crate::tui::data::Reply::Failed(
        "cannot re-sign event #6: no ayrshare secret is configured; pass --secret \
         ayrshare=SECRET, set HOOKTAP_SECRET_AYRSHARE, or add [providers.ayrshare] to \
         /home/me/.config/hooktap/config.toml"
            .into(),
    )));
    assert_eq!(app.areas().footer.height, 2);
    insta::assert_snapshot!("long_error_100x30", draw(&app).backend());
    // Still there long after a passing message would have gone.
    app.update(super::Msg::Tick(super::NOW + 60_000_000));
    assert!(app.message.is_some());
    // A key clears it (and does what it does).
    f.press(&mut app, KeyCode::Char('j'));
    assert!(app.message.is_none());
    assert_eq!(app.list.selected_id(), Some(5));
    assert_eq!(app.areas().footer.height, 1);
    // Very narrow: at most four lines, the last cut with `…`.
    app.update(super::Msg::Resize(30, 24));
    app.update(super::Msg::Data(crate::tui::data::Reply::Failed(
        "word ".repeat(40),
    )));
    let lines = app.footer_message();
    assert_eq!(lines.len(), crate::tui::app::MESSAGE_LINES);
    assert!(
        lines[3].to_string().ends_with('…'),
        "{:?}",
        lines[3].to_string()
    );
}

#[test]
fn the_replay_prompt_shows_its_suggestion_selected() {
    let f = Fixture::new();
    let mut app = f.app(80, 24);
    f.press(&mut app, KeyCode::Char('R'));
    let screen = format!("{}", draw(&app).backend());
    let footer = screen.lines().last().unwrap();
    assert_eq!(
        footer.trim_end_matches([' ', '"']),
        "\"replay #6 to: http://localhost:3000  typing replaces it, ← → edit it"
    );
}
