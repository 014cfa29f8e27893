//! What goes into [`App::update`](super::App::update) and what comes out of it.

use crate::event::Micros;
use crate::store::Change;
use crate::tui::data::{Clip, Job, Query, Reply};
use crate::tui::keymap::Press;

/// Facts and intents the app reacts to.
#[derive(Debug)]
pub enum Msg {
    /// A key, as the keymap read it.
    Key(Press),
    /// The clock moved on (every 250 ms): the time now.
    Tick(Micros),
    /// The terminal's new width and height.
    Resize(u16, u16),
    /// The mouse wheel over a screen position.
    Wheel {
        /// Towards the top.
        up: bool,
        /// Where the mouse is.
        column: u16,
        /// Where the mouse is.
        row: u16,
    },
    /// A committed change from the Store's bus.
    Bus(Change),
    /// The bus dropped changes (the screen fell behind): reload from the Store.
    Lagged,
    /// A worker's answer.
    Data(Reply),
    /// A status line (Tunnel state, demo progress) changed.
    Line(usize, String),
    /// Whether the Target accepts connections.
    TargetUp(bool),
    /// How an effect the loop carried out went.
    Notice {
        /// What happened.
        text: String,
        /// It went wrong.
        error: bool,
    },
}

/// What the loop must do for the app.
#[derive(Debug, PartialEq)]
pub enum Effect {
    /// Read a page of the list.
    Query(Query),
    /// Hand work to the job thread (detail, replay, edit, copy).
    Job(Job),
    /// Suspend the screen and edit `text` (the raw request of Event `id`) in $EDITOR.
    Editor {
        /// The Event edited.
        id: i64,
        /// Its raw request.
        text: String,
    },
    /// Put this on the clipboard (OSC 52) and in a file.
    Clipboard(Clip),
    /// Leave the screen.
    Quit,
}
