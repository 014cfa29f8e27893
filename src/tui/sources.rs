//! Where the loop's messages come from besides the workers: terminal events (read through the
//! keymap), the Store's bus, and a probe of the Target.

use std::time::Duration;

use ratatui::crossterm::event::{Event, MouseEventKind};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::app::{App, Msg};
use super::keymap;
use crate::forward::Target;
use crate::store::Change;

/// How often the Target is checked for accepting connections.
const PROBE_EVERY: Duration = Duration::from_secs(3);
/// A terminal event as a message, given what the keys mean right now.
pub(super) fn to_msg(app: &App, event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => keymap::lookup(app.context(), key).map(Msg::Key),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => Some(Msg::Wheel {
                up: m.kind == MouseEventKind::ScrollUp,
                column: m.column,
                row: m.row,
            }),
            _ => None,
        },
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

fn bus_msg(change: Result<Change, RecvError>) -> Option<Msg> {
    match change {
        Ok(c) => Some(Msg::Bus(c)),
        // The screen fell behind: it reloads from the Store; capture never waits for it.
        Err(RecvError::Lagged(n)) => {
            tracing::debug!("the screen fell behind by {n} changes; reloading from the Store");
            Some(Msg::Lagged)
        }
        Err(RecvError::Closed) => None,
    }
}

pub(super) async fn next_change(bus: &mut Option<broadcast::Receiver<Change>>) -> Option<Msg> {
    match bus {
        Some(rx) => {
            let change = rx.recv().await;
            if matches!(change, Err(RecvError::Closed)) {
                *bus = None;
            }
            bus_msg(change)
        }
        None => std::future::pending().await,
    }
}

pub(super) fn try_change(bus: &mut Option<broadcast::Receiver<Change>>) -> Option<Option<Msg>> {
    use tokio::sync::broadcast::error::TryRecvError;
    let rx = bus.as_mut()?;
    match rx.try_recv() {
        Ok(c) => Some(Some(Msg::Bus(c))),
        Err(TryRecvError::Lagged(n)) => {
            tracing::debug!("the screen fell behind by {n} changes; reloading from the Store");
            Some(Some(Msg::Lagged))
        }
        Err(TryRecvError::Empty) => None,
        Err(TryRecvError::Closed) => {
            *bus = None;
            None
        }
    }
}

/// Tells, every few seconds, whether the Target accepts TCP connections.
pub(super) async fn probe(target: Target, out: mpsc::Sender<bool>, stop: CancellationToken) {
    loop {
        if out.send(target.accepts_connections().await).await.is_err() {
            return;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(PROBE_EVERY) => {}
        }
    }
}
