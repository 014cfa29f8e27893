//! The title's "Events N" under live traffic: Events arrive pending and their Delivery decides
//! whether a `status:`/`outcome:` filter matches, so the count must follow the rows, with every
//! change taken from the Store's real bus and checked against a count of the Store.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use tokio::sync::broadcast::Receiver;

use super::{Fixture, NOW, SAMPLES, answer, draw, event, ids};
use crate::event::DeliveryKind;
use crate::store::{Change, NewDelivery};
use crate::tui::app::{App, Effect, Msg};
use crate::tui::data::Reply;

impl Fixture {
    /// Does what the list worker does after a page: counts the filter's Events in the Store.
    fn counted(&self, app: &mut App) {
        let total = self.reader.count_indexed(&app.filter).unwrap();
        app.update(Msg::Data(Reply::Counted {
            generation: app.filter_gen,
            total,
        }));
    }

    /// Types `text` as the filter (replacing the one in force), applies it, and counts.
    fn filter(&self, app: &mut App, text: &str) {
        self.press(app, KeyCode::Char('/'));
        self.press_with(app, KeyCode::Char('u'), KeyModifiers::CONTROL);
        self.type_text(app, text);
        self.press(app, KeyCode::Enter);
        self.counted(app);
    }

    /// A live Event that arrives pending (the bus says so), from sample `i`; returns its id
    /// and its Delivery's id. With `edited_from`, it is an edited copy sent as a replay (`e`).
    fn arrive(&self, sample: usize, edited_from: Option<i64>) -> (i64, i64) {
        self.runtime.block_on(async {
            let mut e = event(&SAMPLES[sample], NOW);
            e.derived_from = edited_from;
            let kind = match edited_from {
                Some(_) => DeliveryKind::Replay,
                None => DeliveryKind::Original,
            };
            let delivery = NewDelivery {
                kind,
                target: "http://localhost:3000/hooks/ayrshare".into(),
                started_at: NOW,
            };
            let ins = self
                .store
                .writer()
                .insert_event(e, Some(delivery))
                .await
                .unwrap();
            (ins.event_id, ins.delivery_id.unwrap())
        })
    }

    /// The Target's answer to a live Event's Delivery (`None`: no answer).
    fn answered(
        &self,
        (event_id, delivery_id): (i64, i64),
        status: Option<u16>,
        kind: DeliveryKind,
    ) {
        self.runtime.block_on(async {
            self.store
                .writer()
                .finish_delivery(delivery_id, event_id, kind, answer(status))
                .await
                .unwrap();
        });
    }
}

/// Hands every change the bus holds to the app, as the loop does, and runs what follows.
fn feed(f: &Fixture, app: &mut App, bus: &mut Receiver<Change>) {
    while let Ok(change) = bus.try_recv() {
        let effect = app.update(Msg::Bus(change));
        f.effect(app, effect);
    }
}

/// The title agrees with the rows, and both with the Store.
fn agrees(f: &Fixture, app: &App, want: usize) {
    assert_eq!(app.list.rows.len(), want, "rows {:?}", ids(app));
    assert_eq!(
        app.total,
        Some(want as u64),
        "the count, rows {:?}",
        ids(app)
    );
    let store = f.reader.count_indexed(&app.filter).unwrap();
    assert_eq!(store, want as u64, "the Store's count");
    let screen = format!("{}", draw(app).backend());
    assert!(screen.contains(&format!(" Events {want} ")), "{screen}");
}

#[test]
fn status_filter_counts_a_live_event_once_its_answer_matches() {
    let f = Fixture::new();
    let mut bus = f.store.subscribe();
    let mut app = f.app(100, 30);
    f.filter(&mut app, "status:2xx");
    agrees(&f, &app, 3);
    // Pending, it does not match yet; answered 200, it does, and is counted then.
    let live = f.arrive(0, None);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 3);
    f.answered(live, Some(200), DeliveryKind::Original);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 4);
    assert_eq!(app.list.selected_id(), Some(live.0), "following");
    // Answered 500: never counted.
    let other = f.arrive(1, None);
    f.answered(other, Some(500), DeliveryKind::Original);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 4);
    // `e` in `hooktap ui`: an edited copy stored pending, then its replay answered.
    let edit = f.arrive(1, Some(2));
    feed(&f, &mut app, &mut bus);
    f.answered(edit, Some(200), DeliveryKind::Replay);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 5);
}

#[test]
fn outcome_filter_counts_live_events() {
    let f = Fixture::new();
    let mut bus = f.store.subscribe();
    let mut app = f.app(100, 30);
    f.filter(&mut app, "outcome:failed");
    agrees(&f, &app, 1);
    let down = f.arrive(0, None);
    feed(&f, &mut app, &mut bus);
    f.answered(down, None, DeliveryKind::Original);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 2);
    // `outcome:pending` matches while it waits, and stops matching once answered.
    f.filter(&mut app, "outcome:pending");
    agrees(&f, &app, 0);
    let waiting = f.arrive(0, None);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 1);
    f.answered(waiting, Some(200), DeliveryKind::Original);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 0);
}

#[test]
fn a_negated_term_drops_the_event_its_answer_no_longer_matches() {
    let f = Fixture::new();
    let mut bus = f.store.subscribe();
    let mut app = f.app(100, 30);
    // #3 (500), #4 (no answer), #6 (404).
    f.filter(&mut app, "-status:2xx");
    agrees(&f, &app, 3);
    let live = f.arrive(0, None);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 4);
    f.answered(live, Some(200), DeliveryKind::Original);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 3);
    assert_eq!(ids(&app), vec![6, 4, 3]);
    assert_eq!(app.list.selected_id(), Some(6));
}

#[test]
fn a_replay_answered_200_takes_the_event_out_of_status_5xx() {
    let f = Fixture::new();
    let mut bus = f.store.subscribe();
    let mut app = f.app(100, 30);
    f.filter(&mut app, "status:5xx");
    agrees(&f, &app, 1);
    // The fixed app answers the replay of #3 with 200: #3 no longer matches.
    f.replay(3, 200);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 0);
    assert!(app.detail.is_none(), "nothing selected");
    // A replay of #5 (200 before) answered 500 brings it in.
    f.replay(5, 500);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 1);
    assert_eq!(ids(&app), vec![5]);
    // A live Event answered 503 is counted once.
    let live = f.arrive(0, None);
    f.answered(live, Some(503), DeliveryKind::Original);
    feed(&f, &mut app, &mut bus);
    agrees(&f, &app, 2);
}

#[test]
fn a_change_the_screen_cannot_place_is_counted_again_from_the_store() {
    let f = Fixture::new();
    let mut bus = f.store.subscribe();
    let mut app = f.app(100, 30);
    f.filter(&mut app, "status:5xx");
    // The bus fell behind: while the refresh is in flight the window cannot say whether #2
    // matched before its replay, answered 500.
    let refresh = app.update(Msg::Lagged);
    f.replay(2, 500);
    feed(&f, &mut app, &mut bus);
    assert_eq!(app.total, Some(1), "not guessed");
    // The refresh brings the rows, and a count with them.
    match &refresh {
        Some(Effect::Query(q)) => assert!(q.count, "{q:?}"),
        other => panic!("expected a refresh, got {other:?}"),
    }
    f.effect(&mut app, refresh);
    agrees(&f, &app, 2);
    assert_eq!(ids(&app), vec![3, 2]);
}
