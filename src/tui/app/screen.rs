//! The screen's modes and panes: what the keys do now, which pane they move, the detail
//! pane's tabs, and the footer's message (for how long, wrapped how).

use ratatui::style::Style;
use ratatui::text::Line;

use super::App;
use crate::event::Micros;
use crate::tui::keymap::Context;
use crate::tui::theme;

/// How long a passing message stays in the footer.
const MESSAGE_FOR: Micros = 6_000_000;
/// The most lines a message in the footer takes.
pub const MESSAGE_LINES: usize = 4;

/// What the screen is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Moving through the list and the detail pane.
    Browse,
    /// Typing a filter after `/`.
    Filter,
    /// Typing the URL for `R`.
    Prompt,
    /// The key table (`?`).
    Help,
}

/// Which pane the keys move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The Event list.
    List,
    /// The detail pane.
    Detail,
}

/// The detail pane's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// What the Event means and what hooktap noticed.
    Summary,
    /// Headers in order, then the body.
    Request,
    /// The picked Delivery's answer or error.
    Response,
    /// Every Delivery, and the diff of two.
    Deliveries,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 4] = [Tab::Summary, Tab::Request, Tab::Response, Tab::Deliveries];

    /// The title in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Summary => "Summary",
            Tab::Request => "Request",
            Tab::Response => "Response",
            Tab::Deliveries => "Deliveries",
        }
    }

    /// The title on a narrow screen.
    pub fn short(self) -> &'static str {
        match self {
            Tab::Summary => "Sum",
            Tab::Request => "Req",
            Tab::Response => "Resp",
            Tab::Deliveries => "Deliv",
        }
    }

    pub(super) fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A line in the footer for a few seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// What happened.
    pub text: String,
    /// Shown in red.
    pub error: bool,
    /// When it goes away.
    pub until: Micros,
}

impl App {
    /// Shows a message in the footer: for a few seconds, or an error until the next key (it
    /// may be long: the way out of a mistake).
    pub(super) fn say(&mut self, text: impl Into<String>, error: bool) {
        self.message = Some(Message {
            text: text.into(),
            error,
            until: if error {
                Micros::MAX
            } else {
                self.clock.now + MESSAGE_FOR
            },
        });
    }

    /// The footer's message wrapped to the screen's width (at most [`MESSAGE_LINES`], the
    /// last cut with `…`), so a long error can be read whole; empty when there is none.
    pub fn footer_message(&self) -> Vec<Line<'static>> {
        let Some(m) = self
            .message
            .as_ref()
            .filter(|_| self.context() != Context::Input)
        else {
            return Vec::new();
        };
        let style = if m.error { theme::ERROR } else { Style::new() };
        // One column of margin on every line, as the hints have.
        let width = (self.size.0 as usize).saturating_sub(1).max(1);
        // A message may quote an error that quotes a sender (crate::text).
        let text = crate::text::sanitize(&m.text).into_owned();
        let mut lines: Vec<String> = crate::tui::text::wrap(vec![Line::raw(text)], width)
            .iter()
            .map(|l| l.to_string())
            .collect();
        if lines.len() > MESSAGE_LINES {
            lines.truncate(MESSAGE_LINES);
            if let Some(last) = lines.last_mut() {
                *last = crate::tui::view::cut(&format!("{}…", last.trim_end()), width);
            }
        }
        lines
            .into_iter()
            .map(|l| Line::styled(format!(" {l}"), style))
            .collect()
    }
}
