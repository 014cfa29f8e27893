//! The TUI's state and its one place of change: [`App::update`] takes a [`Msg`] (a key, a fact
//! from the Store or a worker, a tick) and returns at most one [`Effect`] for the loop to carry
//! out. No I/O happens here, and time comes in with the messages, so tests drive it directly.

use std::collections::HashMap;
use std::sync::Arc;

pub use super::clock::Clock;
use super::data::{CopyWhat, Detail, Job, Query, Reply};
use super::input::Input;
use super::keymap::{Action, Context, Press};
use super::layout::{self, Areas, Pane as Region, Shape};
use super::text::Pane;
use super::window::{Load, Window};
use crate::event::Micros;
use crate::filter::{self, Filter, FilterError};
use crate::forward::Target;
use crate::store::{Change, EventSummary};
pub use msg::{Effect, Msg};
pub use screen::{Focus, MESSAGE_LINES, Message, Mode, Tab};

/// Lines one mouse wheel step scrolls.
const WHEEL: isize = 3;

/// What does not change while the screen is up: where webhooks arrive and go.
#[derive(Clone, Debug, Default)]
pub struct Info {
    /// `listen`, `demo` or `ui`.
    pub title: String,
    /// Local URLs webhooks arrive at (empty for `ui`).
    pub ingress: Vec<String>,
    /// The Target live traffic goes to (none for `ui`).
    pub target: Option<String>,
    /// The Store's path, as shown.
    pub store: String,
}

/// Live Events whose latest answer is remembered for the counts (about 40 bytes each).
const LATEST_KEPT: usize = 100_000;

/// Counters of this session's live traffic.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Live Events received (local or through a Relay).
    pub received: u64,
    /// Live Events whose latest Delivery (original, replay or redelivery) was answered 2xx.
    pub answered_2xx: u64,
    /// Live Events whose latest Delivery was answered otherwise, or not at all (not the
    /// `failed` outcome, which means no answer).
    pub not_2xx: u64,
    /// Replays sent this session (from this screen, the CLI or the web page).
    pub replays: u64,
    /// Whether each live Event's latest Delivery was 2xx, so a later one moves it between the
    /// counts; at most [`LATEST_KEPT`], then it starts over.
    latest: HashMap<i64, bool>,
    /// Events whose first Delivery has not finished.
    pub in_flight: u64,
    /// Events per second, smoothed.
    pub rate: f64,
    rate_mark: Micros,
    rate_count: u64,
}

impl Stats {
    /// Counts a finished Delivery of Event `id`: an original adds the Event to a count; a later
    /// Delivery of a live Event moves it to the count of its new answer.
    pub fn delivered(&mut self, id: i64, kind: crate::event::DeliveryKind, status: Option<u16>) {
        use crate::event::DeliveryKind;
        let ok = status.is_some_and(|c| (200..300).contains(&c));
        if kind == DeliveryKind::Replay {
            self.replays += 1;
        }
        let before = match kind {
            DeliveryKind::Original => {
                self.in_flight = self.in_flight.saturating_sub(1);
                None
            }
            _ => match self.latest.get(&id) {
                Some(was) => Some(*was),
                // Not a live Event of this session: not counted.
                None => return,
            },
        };
        match before {
            Some(was) if was == ok => {}
            Some(true) => self.answered_2xx = self.answered_2xx.saturating_sub(1),
            Some(false) => self.not_2xx = self.not_2xx.saturating_sub(1),
            None => {}
        }
        if before != Some(ok) {
            if ok {
                self.answered_2xx += 1;
            } else {
                self.not_2xx += 1;
            }
        }
        if self.latest.len() >= LATEST_KEPT {
            self.latest.clear();
        }
        self.latest.insert(id, ok);
    }
}

/// The whole state of the screen.
pub struct App {
    /// Where webhooks arrive and go.
    pub info: Info,
    /// The time, for times on screen.
    pub clock: Clock,
    /// The terminal's width and height.
    pub size: (u16, u16),
    /// Browsing, typing, or reading the help.
    pub mode: Mode,
    /// Which pane the keys move.
    pub focus: Focus,
    /// The detail pane's tab.
    pub tab: Tab,
    /// The Event list: a paged window onto the Store.
    pub list: Window,
    /// The filter in force, its text and generation (bumped on every change).
    pub filter: Filter,
    /// The text of the filter in force.
    pub filter_text: String,
    /// Bumped on every new filter; replies for an older one are dropped.
    pub filter_gen: u64,
    /// The filter being typed, what it was before `/`, and its error.
    pub filter_input: Input,
    filter_before: String,
    /// Why the text being typed does not parse.
    pub filter_error: Option<FilterError>,
    /// The `R` prompt and its error.
    pub prompt: Input,
    /// Why the URL typed for `R` is not a Target.
    pub prompt_error: Option<String>,
    /// The prompt was opened by `S`: re-sign before sending.
    pub prompt_resign: bool,
    /// Matching Events in the Store (indexed terms only; `None` while unknown), kept in step
    /// with the bus between counts.
    pub total: Option<u64>,
    /// Events that arrived pending, as they arrived, until their Delivery: whether they
    /// matched the filter before it (for `total`).
    pending: HashMap<i64, Arc<EventSummary>>,
    /// A search that reads bodies is this far (0.0 to 1.0).
    pub searching: Option<f32>,
    /// The selected Event in full, once loaded.
    pub detail: Option<Detail>,
    /// Bumped when the selected Event changes in the Store, so it is loaded again.
    pub detail_version: u64,
    /// The current tab's text, wrapped to the pane (a large body as a window over it).
    pub detail_text: Pane,
    /// The first line of `detail_text` on screen.
    pub scroll: usize,
    /// The Delivery the Response tab shows (index into `detail.deliveries`; `None`: latest).
    pub delivery: Option<usize>,
    /// The Delivery marked as the first side of a diff.
    pub mark: Option<usize>,
    /// The diff shown in the Deliveries tab, when on.
    pub diff: Option<Vec<String>>,
    /// Counters of this session's traffic.
    pub stats: Stats,
    /// Extra status lines: a label and its text (the Tunnel, the demo).
    pub lines: Vec<(String, String)>,
    /// Whether the Target accepts connections (`None`: not known yet).
    pub target_up: Option<bool>,
    /// The footer's message, if any.
    pub message: Option<Message>,
    /// The user asked to leave.
    pub quit: bool,
}

impl App {
    /// A new screen about to load its first page.
    pub fn new(info: Info, labels: Vec<String>, clock: Clock, size: (u16, u16)) -> App {
        App {
            info,
            clock,
            size,
            mode: Mode::Browse,
            focus: Focus::List,
            tab: Tab::Summary,
            list: Window::new(),
            filter: Filter::all(),
            filter_text: String::new(),
            filter_gen: 0,
            filter_input: Input::default(),
            filter_before: String::new(),
            filter_error: None,
            prompt: Input::default(),
            prompt_error: None,
            prompt_resign: false,
            total: None,
            pending: HashMap::new(),
            searching: None,
            detail: None,
            detail_version: 0,
            detail_text: Pane::default(),
            scroll: 0,
            delivery: None,
            mark: None,
            diff: None,
            stats: Stats::default(),
            lines: labels.into_iter().map(|l| (l, String::new())).collect(),
            target_up: None,
            message: None,
            quit: false,
        }
    }

    /// The first effect: load the newest page.
    pub fn start(&mut self) -> Effect {
        let load = self.list.reset();
        self.query(load)
    }

    /// The layout of the current frame.
    pub fn areas(&self) -> Areas {
        let footer_lines = if self.mode == Mode::Filter && self.filter_error.is_some()
            || self.mode == Mode::Prompt && self.prompt_error.is_some()
        {
            2
        } else {
            self.footer_message().len().max(1) as u16
        };
        layout::areas(
            self.size.0,
            self.size.1,
            Shape {
                status_lines: 2 + self.lines.len() as u16,
                footer_lines,
                detail_focused: self.focus == Focus::Detail,
                list_len: (self.list.loaded && !self.list.more_older && !self.list.more_newer)
                    .then_some(self.list.rows.len()),
            },
        )
    }

    /// Which keys apply now.
    pub fn context(&self) -> Context {
        match self.mode {
            Mode::Filter | Mode::Prompt => Context::Input,
            Mode::Help => Context::Help,
            Mode::Browse => Context::Browse,
        }
    }

    /// The Event the detail pane should show, and the version wanted: the loop loads it
    /// when this differs from what it last asked for.
    pub fn wanted_detail(&self) -> Option<(i64, u64)> {
        self.list.selected_id().map(|id| (id, self.detail_version))
    }

    /// The index of the Delivery shown in the Response tab.
    pub fn delivery_index(&self) -> Option<usize> {
        let n = self.detail.as_ref()?.deliveries.len();
        (n > 0).then(|| self.delivery.unwrap_or(n - 1).min(n - 1))
    }

    fn query(&self, load: Load) -> Effect {
        Effect::Query(Query {
            generation: self.filter_gen,
            filter: self.filter.clone(),
            load,
            // A refresh follows changes the bus did not describe (or the screen could not
            // place): the count kept in step with the bus is no longer sure.
            count: matches!(load, Load::Refresh { .. }),
        })
    }

    /// Applies one message. The single place where state changes.
    pub fn update(&mut self, msg: Msg) -> Option<Effect> {
        match msg {
            Msg::Key(press) => {
                // The error was read; the key does what it does.
                if self.message.as_ref().is_some_and(|m| m.error) {
                    self.message = None;
                }
                self.key(press)
            }
            Msg::Tick(now) => self.tick(now),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.list.scroll_into_view(self.areas().list_rows());
                self.rebuild();
                None
            }
            Msg::Wheel { up, column, row } => {
                let step = if up { -WHEEL } else { WHEEL };
                match self.areas().pane_at(column, row) {
                    Some(Region::List) => self.move_list(step),
                    Some(Region::Detail) => {
                        self.scroll_by(step);
                        None
                    }
                    None => None,
                }
            }
            Msg::Bus(change) => self.bus(change),
            Msg::Lagged => {
                // Deliveries may have been lost: what arrived pending is no guide any more.
                self.pending.clear();
                self.list.stale = true;
                self.list.refresh().map(|l| self.query(l))
            }
            Msg::Data(reply) => self.reply(reply),
            Msg::Line(i, text) => {
                if let Some(line) = self.lines.get_mut(i) {
                    line.1 = text;
                }
                None
            }
            Msg::TargetUp(up) => {
                self.target_up = Some(up);
                None
            }
            Msg::Notice { text, error } => {
                self.say(text, error);
                None
            }
        }
    }

    fn tick(&mut self, now: Micros) -> Option<Effect> {
        self.clock.now = now;
        if self.message.as_ref().is_some_and(|m| m.until <= now) {
            self.message = None;
        }
        let s = &mut self.stats;
        let elapsed = now - s.rate_mark;
        if elapsed >= 1_000_000 {
            if s.rate_mark > 0 {
                let instant = (s.received - s.rate_count) as f64 * 1e6 / elapsed as f64;
                s.rate = if s.rate == 0.0 {
                    instant
                } else {
                    (s.rate + instant) / 2.0
                };
                if s.rate < 0.05 {
                    s.rate = 0.0;
                }
            }
            s.rate_mark = now;
            s.rate_count = s.received;
        }
        if self.list.stale {
            return self.list.refresh().map(|l| self.query(l));
        }
        None
    }
}

mod bus;
mod keys;
mod msg;
mod screen;
