//! The screen's modes and panes: what the keys do now, which pane they move, the detail
//! pane's tabs, and the footer's passing message.

use crate::event::Micros;

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
