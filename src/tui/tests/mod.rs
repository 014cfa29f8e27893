//! Tests of the whole screen: a real Store in a temp folder holding signed Ayrshare Events, an
//! [`App`] driven through the keymap with a fixed clock (UTC), its effects carried out against
//! the Store the way the loop does, and frames drawn on ratatui's `TestBackend`.

mod count;
mod keys;
mod screens;

use bytes::Bytes;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Clock, Effect, Info, Msg};
use super::data::{self, Job, Reply};
use super::keymap;
use crate::event::{
    DeliveryKind, DeliveryResult, Event, HeaderList, Ingress, Micros, Outcome, new_uid,
};
use crate::providers::Providers;
use crate::store::{Durability, NewDelivery, Reader, Store};

/// 2026-11-27T17:20:00Z: every time on screen counts from here.
pub const NOW: Micros = 1_795_800_000_000_000;
const SECRET: &str = "test-secret";

/// One Event to store: its sample body, path, and what the Target answers.
struct Sample {
    body: &'static str,
    path: &'static str,
    status: Option<u16>,
    tamper: bool,
}

const SAMPLES: &[Sample] = &[
    Sample {
        body: include_str!("../../../assets/ayrshare/social-link-user.json"),
        path: "/hooks/ayrshare",
        status: Some(200),
        tamper: false,
    },
    Sample {
        body: include_str!("../../../assets/ayrshare/scheduled.json"),
        path: "/hooks/ayrshare",
        status: Some(200),
        tamper: false,
    },
    Sample {
        body: include_str!("../../../assets/ayrshare/messages-new-facebook.json"),
        path: "/hooks/ayrshare/messages",
        status: Some(500),
        tamper: false,
    },
    Sample {
        body: include_str!("../../../assets/ayrshare/comments-instagram.json"),
        path: "/hooks/ayrshare",
        status: None,
        tamper: true,
    },
    Sample {
        body: include_str!("../../../assets/ayrshare/social-unlink-system.json"),
        path: "/hooks/ayrshare",
        status: Some(200),
        tamper: false,
    },
    Sample {
        body: include_str!("../../../assets/ayrshare/social-unlink-system.json"),
        path: "/hooks/ayrshare",
        status: Some(404),
        tamper: false,
    },
];

/// A Store of the samples, two seconds apart, the last one newest.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub store: Store,
    pub reader: Reader,
    pub runtime: tokio::runtime::Runtime,
}

fn event(sample: &Sample, at: Micros) -> Event {
    let body = Bytes::from_static(sample.body.as_bytes());
    let mut headers = HeaderList::default();
    headers.push("Content-Type", b"application/json".to_vec());
    crate::providers::ayrshare::sign(&mut headers, &body, SECRET, at / 1_000_000);
    let body = if sample.tamper {
        Bytes::from([sample.body.as_bytes(), b"\n"].concat())
    } else {
        body
    };
    let class = Providers::new([("ayrshare".to_string(), SECRET.to_string())]).classify_at(
        &headers,
        &body,
        at / 1_000_000,
    );
    Event {
        uid: new_uid(),
        received_at: at,
        ingress: Ingress::Local,
        method: "POST".into(),
        path: sample.path.into(),
        query: None,
        remote_addr: Some("127.0.0.1:50312".into()),
        headers,
        body,
        class,
        derived_from: None,
    }
}

/// What the sample Target answers.
pub fn answer(status: Option<u16>) -> DeliveryResult {
    let mut headers = HeaderList::default();
    match status {
        Some(code) => {
            headers.push("content-type", b"application/json".to_vec());
            let body = if code == 200 {
                r#"{"received":true}"#
            } else {
                r#"{"error":"TypeError: Cannot read properties of undefined"}"#
            };
            DeliveryResult {
                outcome: Outcome::Ok,
                status: Some(code),
                headers,
                body: Bytes::from_static(body.as_bytes()),
                error: None,
                duration_us: 3_100,
            }
        }
        None => DeliveryResult {
            outcome: Outcome::Failed,
            status: None,
            headers,
            body: Bytes::new(),
            error: Some(
                "cannot reach http://localhost:3000 (connection refused): is your app running?"
                    .into(),
            ),
            duration_us: 400,
        },
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = Store::open(&path, Durability::Normal).unwrap();
        let n = SAMPLES.len() as i64;
        for (i, sample) in SAMPLES.iter().enumerate() {
            let at = NOW - (n - i as i64) * 2_000_000;
            runtime.block_on(async {
                let target = format!("http://localhost:3000{}", sample.path);
                let writer = store.writer();
                let delivery = NewDelivery {
                    kind: DeliveryKind::Original,
                    target,
                    started_at: at + 1_000,
                };
                let ins = writer
                    .insert_event(event(sample, at), Some(delivery))
                    .await
                    .unwrap();
                let id = ins.delivery_id.unwrap();
                writer
                    .finish_delivery(
                        id,
                        ins.event_id,
                        DeliveryKind::Original,
                        answer(sample.status),
                    )
                    .await
                    .unwrap();
            });
        }
        let reader = Reader::open(&path).unwrap();
        Fixture {
            _dir: dir,
            store,
            reader,
            runtime,
        }
    }

    /// A replay of Event `id` answered with `status`, recorded as the loop's replay would be.
    pub fn replay(&self, id: i64, status: u16) {
        self.runtime.block_on(async {
            let writer = self.store.writer();
            let delivery = NewDelivery {
                kind: DeliveryKind::Replay,
                target: "http://localhost:3000/hooks/ayrshare".into(),
                started_at: NOW,
            };
            let d = writer.start_delivery(id, delivery).await.unwrap();
            let mut result = answer(Some(status));
            if status == 200 {
                result.body = Bytes::from_static(br#"{"received":true,"fixed":true}"#);
            }
            writer
                .finish_delivery(d, id, DeliveryKind::Replay, result)
                .await
                .unwrap();
        });
    }

    /// A screen of `width` x `height` on this Store, first page and detail loaded.
    pub fn app(&self, width: u16, height: u16) -> App {
        let info = Info {
            title: "listen".into(),
            ingress: vec!["http://127.0.0.1:8787".into()],
            target: Some("http://localhost:3000".into()),
            store: "/home/me/.local/share/hooktap/events.db".into(),
        };
        let mut app = App::new(info, Vec::new(), Clock::fixed(NOW), (width, height));
        app.target_up = Some(true);
        let first = app.start();
        self.effect(&mut app, Some(first));
        app
    }

    /// Carries out `effect` the way the loop does (reads synchronously), then loads the
    /// detail the app wants. Effects that leave the process are returned.
    pub fn effect(&self, app: &mut App, effect: Option<Effect>) -> Option<Effect> {
        let mut pending = effect;
        let mut outside = None;
        while let Some(effect) = pending.take() {
            pending = match effect {
                Effect::Query(q) => {
                    let (rows, more) =
                        data::fetch(&self.reader, &q.filter, q.load, &|| false, &mut |_| {})
                            .unwrap()
                            .unwrap();
                    let next = app.update(Msg::Data(Reply::Loaded {
                        generation: q.generation,
                        load: q.load,
                        rows,
                        more,
                    }));
                    if q.count && !q.filter.needs_body() {
                        // As the list worker does (it also counts a filter's first page; the
                        // tests that want that count ask for it).
                        let total = self.reader.count_indexed(&q.filter).unwrap();
                        app.update(Msg::Data(Reply::Counted {
                            generation: q.generation,
                            total,
                        }));
                    }
                    next
                }
                other => {
                    outside = Some(other);
                    None
                }
            };
        }
        self.load_detail(app);
        outside
    }

    /// Loads the detail the app wants, if it is not the one it has.
    pub fn load_detail(&self, app: &mut App) {
        if let Some((id, version)) = app.wanted_detail() {
            let have = app.detail.as_ref().map(|d| (d.summary.id, d.version));
            if have != Some((id, version)) {
                let d = data::load_detail(&self.reader, id, version)
                    .unwrap()
                    .unwrap();
                app.update(Msg::Data(Reply::Detail(Box::new(d))));
            }
        }
    }

    /// Presses a key through the keymap and carries out what follows.
    pub fn press(&self, app: &mut App, code: KeyCode) -> Option<Effect> {
        self.press_with(app, code, KeyModifiers::NONE)
    }

    pub fn press_with(&self, app: &mut App, code: KeyCode, mods: KeyModifiers) -> Option<Effect> {
        let press = keymap::lookup(app.context(), KeyEvent::new(code, mods))?;
        let effect = app.update(Msg::Key(press));
        self.effect(app, effect)
    }

    /// Types text into the filter or prompt.
    pub fn type_text(&self, app: &mut App, text: &str) -> Option<Effect> {
        let mut last = None;
        for c in text.chars() {
            last = self.press(app, KeyCode::Char(c)).or(last);
        }
        last
    }
}

/// Draws `app` on a test terminal of its size.
pub fn draw(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal
        .draw(|frame| super::view::draw(frame, app))
        .unwrap();
    terminal
}

/// The ids of the list's rows.
pub fn ids(app: &App) -> Vec<i64> {
    app.list.rows.iter().map(|r| r.id).collect()
}

/// The job an effect asks for.
pub fn job(effect: Option<Effect>) -> Job {
    match effect {
        Some(Effect::Job(job)) => job,
        other => panic!("expected a job, got {other:?}"),
    }
}
