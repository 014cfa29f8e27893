//! Where each part of the screen goes, as a pure function of the terminal size and what is
//! open. The view draws into these areas and the app uses the same numbers (how many rows the
//! list shows, which pane the mouse is over, how wide detail text wraps).

use ratatui::layout::Rect;

/// Side by side from this width; narrower terminals stack the list above the detail pane.
pub const SIDE_BY_SIDE: u16 = 150;
/// Below this height only the focused pane is shown.
const BOTH_PANES: u16 = 16;

/// The areas of one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// The status bar (where webhooks arrive, the Target, counters).
    pub status: Rect,
    /// The Event list, its title and column header included.
    pub list: Rect,
    /// The detail pane, its tab bar included.
    pub detail: Rect,
    /// The bottom line(s): keys, messages, or the filter being typed.
    pub footer: Rect,
}

/// What the layout depends on besides the size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Lines the status bar needs.
    pub status_lines: u16,
    /// Lines the footer needs (2 while a filter error is shown).
    pub footer_lines: u16,
    /// The detail pane has focus (on a short terminal it then replaces the list).
    pub detail_focused: bool,
    /// All the rows there are, when that is few (the list then takes no more room than they
    /// need); `None` when there are more than a screenful.
    pub list_len: Option<usize>,
}

/// Lays out a `width` x `height` screen.
pub fn areas(width: u16, height: u16, shape: Shape) -> Areas {
    let status_h = shape.status_lines.min(height);
    let footer_h = shape.footer_lines.min(height - status_h);
    let body = Rect::new(0, status_h, width, height - status_h - footer_h);
    let footer = Rect::new(0, height - footer_h, width, footer_h);
    let status = Rect::new(0, 0, width, status_h);
    let empty = Rect::new(0, body.y, 0, 0);
    let (list, detail) = if height < BOTH_PANES {
        if shape.detail_focused {
            (empty, body)
        } else {
            (body, empty)
        }
    } else if width >= SIDE_BY_SIDE {
        // One blank column between the panes.
        let left = width * 55 / 100;
        (
            Rect::new(0, body.y, left, body.height),
            Rect::new(left + 1, body.y, width - left - 1, body.height),
        )
    } else {
        // The list gets just under half (title, header and rows), less when the rows are few.
        let mut top = (body.height * 45 / 100).max(5);
        if let Some(n) = shape.list_len {
            top = top.min((n as u16).saturating_add(2).max(5));
        }
        (
            Rect::new(0, body.y, width, top),
            Rect::new(0, body.y + top, width, body.height - top),
        )
    };
    Areas {
        status,
        list,
        detail,
        footer,
    }
}

impl Areas {
    /// How many Event rows the list shows (its title and header take two lines).
    pub fn list_rows(&self) -> usize {
        self.list.height.saturating_sub(2) as usize
    }

    /// How many text lines the detail pane shows (its tab bar takes one).
    pub fn detail_rows(&self) -> usize {
        self.detail.height.saturating_sub(1) as usize
    }

    /// Which pane is at a screen position.
    pub fn pane_at(&self, column: u16, row: u16) -> Option<Pane> {
        let inside =
            |r: Rect| column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height;
        if inside(self.list) {
            Some(Pane::List)
        } else if inside(self.detail) {
            Some(Pane::Detail)
        } else {
            None
        }
    }
}

/// The two panes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    /// The Event list.
    List,
    /// The detail pane.
    Detail,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        status_lines: 2,
        footer_lines: 1,
        detail_focused: false,
        list_len: None,
    };

    #[test]
    fn eighty_by_twenty_four_stacks_the_panes() {
        let a = areas(80, 24, SHAPE);
        assert_eq!(a.status, Rect::new(0, 0, 80, 2));
        assert_eq!(a.list, Rect::new(0, 2, 80, 9));
        assert_eq!(a.detail, Rect::new(0, 11, 80, 12));
        assert_eq!(a.footer, Rect::new(0, 23, 80, 1));
        assert_eq!((a.list_rows(), a.detail_rows()), (7, 11));
        assert_eq!(a.pane_at(5, 12), Some(Pane::Detail));
        assert_eq!(a.pane_at(5, 3), Some(Pane::List));
        assert_eq!(a.pane_at(5, 0), None);
        // Few rows: the detail pane gets the rest.
        let few = areas(
            80,
            40,
            Shape {
                list_len: Some(4),
                ..SHAPE
            },
        );
        assert_eq!((few.list.height, few.detail.height), (6, 31));
    }

    #[test]
    fn wide_terminals_go_side_by_side_and_short_ones_show_one_pane() {
        let a = areas(200, 50, SHAPE);
        assert_eq!(a.list, Rect::new(0, 2, 110, 47));
        assert_eq!(a.detail, Rect::new(111, 2, 89, 47));
        let short = areas(80, 12, SHAPE);
        assert_eq!(short.list.height, 9);
        assert_eq!(short.detail.height, 0);
        let focused = areas(
            80,
            12,
            Shape {
                detail_focused: true,
                ..SHAPE
            },
        );
        assert_eq!((focused.list.height, focused.detail.height), (0, 9));
        // Degenerate sizes do not panic.
        let tiny = areas(3, 2, SHAPE);
        assert_eq!(tiny.list_rows(), 0);
    }
}
