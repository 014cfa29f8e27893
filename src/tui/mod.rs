//! The terminal UI of `listen`, `demo` and `ui`: watch Events arrive, inspect any of them,
//! filter, replay and edit with one key.
//!
//! The shape (ratatui's event-driven template, as atuin and mitmproxy's console do it):
//! [`app`] is the state and its one `update(Msg) -> Option<Effect>`, with no I/O; [`keymap`]
//! is one pure table from keys to actions; [`view`] draws, borrowing the state; [`data`] runs
//! Store reads and replays on worker threads; and [`run`] is the one loop that selects over
//! terminal input, the Store's bus, worker replies, a tick and shutdown, carries out effects
//! and redraws at most once a frame, however fast Events arrive.

pub mod app;
pub mod clipboard;
pub mod clock;
pub mod data;
mod frames;
pub mod input;
pub mod json;
pub mod keymap;
pub mod layout;
mod sources;
mod terminal;
pub mod text;
pub mod theme;
pub mod view;
pub mod window;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, interval, sleep_until};
use tokio_util::sync::CancellationToken;

use self::app::{App, Clock, Effect, Info, Msg};
use self::data::{Job, Reply, Sending, Workers};
use self::frames::Frames;
use self::sources::{next_change, probe, to_msg, try_change};
use self::terminal::Term;
use crate::event::now_micros;
use crate::forward::{Forwarder, Target};
use crate::store::{Change, Writer};

pub use self::terminal::restore;

/// The shortest time between two frames (at most about 30 a second).
const FRAME: Duration = Duration::from_millis(33);
/// How often the clock, the rate and pending refreshes are looked at.
const TICK: Duration = Duration::from_millis(250);
/// The most messages handled before a frame is drawn.
const BATCH: usize = 4096;
/// While Events arrive, the detail pane loads the one they select at most this often (a key
/// press loads at once).
const DETAIL_WHILE_FOLLOWING: Duration = Duration::from_millis(200);

/// One extra line of the status bar, kept current by someone else: e.g. `relay` with
/// `https://relay.example/c/dev connected, 3 queued` from the Tunnel.
pub struct StatusLine {
    /// The word in front of the line.
    pub label: String,
    /// Its text; the screen shows the latest value.
    pub text: watch::Receiver<String>,
}

/// Everything the screen needs from the command that opens it.
pub struct Setup {
    /// The Store's file.
    pub db: PathBuf,
    /// `listen`, `demo` or `ui`, shown in the status bar.
    pub title: String,
    /// Local URLs webhooks arrive at (none for `ui`).
    pub ingress: Vec<String>,
    /// The Target live traffic goes to (none for `ui`); checked for whether it answers.
    pub target: Option<Target>,
    /// Committed changes of this process's Store.
    pub bus: Option<broadcast::Receiver<Change>>,
    /// For replays and edits.
    pub writer: Writer,
    /// The one HTTP client, for replays.
    pub forwarder: Arc<Forwarder>,
    /// The secrets `s` and `S` re-sign replays with.
    pub providers: crate::providers::Providers,
    /// What replays and edits mask before they are stored (as capture does).
    pub redact: crate::redact::Redactor,
    /// Look for commits by other processes (`hooktap ui` beside a running `listen`).
    pub poll_store: bool,
    /// Extra status lines (the Tunnel, the demo).
    pub lines: Vec<StatusLine>,
    /// Fired to stop the screen (SIGTERM); the screen fires it when the user quits.
    pub shutdown: CancellationToken,
}

/// Runs the TUI until the user quits or `shutdown` fires; then fires `shutdown` and gives the
/// terminal back. While it runs, log lines go to `hooktap.log` in the state folder
/// (`~/.local/state/hooktap`).
///
/// The screen runs on a thread of its own, so drawing and a burst of bus messages never hold
/// a worker of the runtime that captures; replays are still sent on the caller's runtime.
pub async fn run(setup: Setup) -> anyhow::Result<()> {
    let shutdown = setup.shutdown.clone();
    let main = tokio::runtime::Handle::current();
    let (done, result) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("hooktap-tui".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(run_inner(setup, main)));
            let _ = done.send(result);
        });
    let result = match spawned {
        Ok(_) => result.await.unwrap_or_else(|_| {
            // The thread ended without an answer: it panicked (the hook restored the terminal).
            Err(anyhow::anyhow!(
                "the terminal UI stopped on an internal error (see above); --no-tui works without it"
            ))
        }),
        Err(e) => Err(anyhow::Error::from(e).context("cannot start the terminal UI")),
    };
    shutdown.cancel();
    result
}

async fn run_inner(mut setup: Setup, main: tokio::runtime::Handle) -> anyhow::Result<()> {
    let _logs = crate::logs::to_file(&crate::config::state_dir().join("hooktap.log")).ok();
    // Copies go beside the Store in use, whichever it is.
    let copies_dir = match setup.db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (reply_tx, mut replies) = mpsc::channel::<Reply>(1024);
    let sending = Sending {
        runtime: main,
        writer: setup.writer.clone(),
        forwarder: setup.forwarder.clone(),
        providers: setup.providers.clone(),
        redact: setup.redact.clone(),
    };
    let mut workers = Workers::spawn(&setup.db, reply_tx, sending, setup.poll_store)?;
    let info = Info {
        title: setup.title.clone(),
        ingress: setup.ingress.clone(),
        target: setup.target.as_ref().map(|t| t.to_string()),
        store: setup.db.display().to_string(),
    };
    let labels = setup.lines.iter().map(|l| l.label.clone()).collect();
    let (mut term, mut keys) = Term::enter()?;
    let mut app = App::new(info, labels, Clock::local(), term.size());
    let (probe_tx, mut probes) = mpsc::channel(4);
    if let Some(target) = setup.target.clone() {
        tokio::spawn(probe(target, probe_tx, setup.shutdown.clone()));
    }
    let mut loop_state = Loop {
        workers: &mut workers,
        asked_detail: None,
        asked_at: Instant::now() - DETAIL_WHILE_FOLLOWING,
        copies_dir,
    };
    let first = app.start();
    loop_state.effect(&mut app, &mut term, first)?;
    let mut frames = Frames::new();
    frames.draw(&mut term, &app)?;
    let mut last_draw = Instant::now();
    let mut dirty = false;
    let mut tick = interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut bus = setup.bus.take();
    while !app.quit {
        let redraw_at = tokio::time::Instant::from_std(last_draw + FRAME);
        let msg = tokio::select! {
            _ = setup.shutdown.cancelled() => break,
            Some(event) = keys.recv() => match to_msg(&app, event) {
                Some(m) => m,
                None => continue,
            },
            Some(reply) = replies.recv() => Msg::Data(reply),
            change = next_change(&mut bus) => match change {
                Some(m) => m,
                None => continue,
            },
            _ = tick.tick() => {
                for (i, line) in setup.lines.iter_mut().enumerate() {
                    if line.text.has_changed().unwrap_or(false) {
                        let text = line.text.borrow_and_update().clone();
                        loop_state.handle(&mut app, &mut term, Msg::Line(i, text))?;
                    }
                }
                Msg::Tick(now_micros())
            }
            Some(up) = probes.recv() => Msg::TargetUp(up),
            _ = sleep_until(redraw_at), if dirty => {
                frames.draw(&mut term, &app)?;
                last_draw = Instant::now();
                dirty = false;
                continue;
            }
        };
        loop_state.handle(&mut app, &mut term, msg)?;
        // Take everything already waiting before drawing: one frame for a burst.
        for _ in 0..BATCH {
            // The bus before replies: a count read after a commit must not land before that
            // commit's own change, or the change is counted twice.
            let next = if let Ok(event) = keys.try_recv() {
                to_msg(&app, event)
            } else if let Some(change) = try_change(&mut bus) {
                change
            } else if let Ok(reply) = replies.try_recv() {
                Some(Msg::Data(reply))
            } else {
                break;
            };
            if let Some(m) = next {
                loop_state.handle(&mut app, &mut term, m)?;
            }
        }
        dirty = true;
        if last_draw.elapsed() >= FRAME {
            frames.draw(&mut term, &app)?;
            last_draw = Instant::now();
            dirty = false;
        }
    }
    drop(term);
    frames.report();
    Ok(())
}

/// The loop's own state: the workers and what was last asked of them.
struct Loop<'a> {
    workers: &'a mut Workers,
    asked_detail: Option<(i64, u64)>,
    asked_at: Instant,
    copies_dir: PathBuf,
}

impl Loop<'_> {
    /// Updates the app with `msg` and carries out what it asks for.
    fn handle(&mut self, app: &mut App, term: &mut Term, msg: Msg) -> anyhow::Result<()> {
        let from_bus = matches!(msg, Msg::Bus(_));
        if let Some(effect) = app.update(msg) {
            self.effect(app, term, effect)?;
        }
        // The detail pane shows the selected Event: load it when that changes; when new Events
        // move it (following a busy stream), a few times a second, and the tick catches up.
        let wanted = app.wanted_detail();
        let due = !from_bus || self.asked_at.elapsed() >= DETAIL_WHILE_FOLLOWING;
        if wanted.is_some() && wanted != self.asked_detail && due {
            self.asked_detail = wanted;
            self.asked_at = Instant::now();
            if let Some((id, version)) = wanted {
                self.workers.job(Job::Detail { id, version });
            }
        }
        Ok(())
    }

    fn effect(&mut self, app: &mut App, term: &mut Term, effect: Effect) -> anyhow::Result<()> {
        match effect {
            Effect::Query(q) => self.workers.query(q),
            Effect::Job(job) => self.workers.job(job),
            Effect::Quit => {}
            Effect::Clipboard(clip) => {
                let (text, error) =
                    clipboard::copy(&clip, &self.copies_dir, |bytes| term.write_raw(bytes));
                app.update(Msg::Notice { text, error });
            }
            Effect::Editor { id, text } => {
                let edited = term.suspend(|| in_place(|| crate::replay::open_in_editor(&text)))?;
                let notice = match edited {
                    Ok(edited) => {
                        self.workers.job(Job::SendEdit { id, text: edited });
                        Msg::Notice {
                            text: format!("sending the edit of #{id}…"),
                            error: false,
                        }
                    }
                    Err(e) => Msg::Notice {
                        text: format!("{e:#}"),
                        error: true,
                    },
                };
                app.update(notice);
            }
        }
        Ok(())
    }
}

/// Runs blocking work (the editor) without starving the runtime's other tasks.
fn in_place<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The result of a spawned [`run`]: its own, or the panic that ended it (the terminal was
/// already restored by the panic hook).
pub fn joined(result: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    match result {
        Ok(r) => r,
        Err(e) if e.is_panic() => {
            restore();
            Err(anyhow::anyhow!(
                "the terminal UI stopped on an internal error (see above); --no-tui works without it"
            ))
        }
        Err(_) => Ok(()),
    }
}
