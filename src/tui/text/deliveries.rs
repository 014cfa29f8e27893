//! The Deliveries tab: every attempt at an Event, oldest first, and the diff of the two picked.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Selection, status_span};
use crate::tui::app::Clock;
use crate::tui::data::Detail;
use crate::tui::theme::{self, BOLD, DIM, ERROR, GOOD};

/// Every Delivery of `d`, one line each, then the diff of the two picked (or how to pick them).
pub(super) fn deliveries(d: &Detail, sel: &Selection<'_>, clock: &Clock) -> Vec<Line<'static>> {
    if d.deliveries.is_empty() {
        return vec![Line::styled(
            "No Delivery yet: r sends this Event to its Target",
            DIM,
        )];
    }
    let mut out = Vec::new();
    let pad = d
        .deliveries
        .iter()
        .map(|x| status_span(x).width())
        .max()
        .unwrap_or(0);
    for (i, del) in d.deliveries.iter().enumerate() {
        let picked = sel.delivery == Some(i);
        let marker = match (picked, sel.mark == Some(i)) {
            (true, _) => "▶ ",
            (false, true) => "A ",
            _ => "  ",
        };
        let style = if picked { BOLD } else { Style::new() };
        let head = format!(
            "#{:<5} {:<8} {}  ",
            del.id,
            del.kind.as_str(),
            clock.time(del.started_at)
        );
        // Statuses padded to one width, so the columns after them line up.
        let mut status = status_span(del);
        status.content = format!("{:<pad$}", status.content).into();
        let mut tail = format!(
            "  {:>7}  {}",
            theme::duration(del.result.duration_us),
            del.target
        );
        let used = 2 + head.chars().count() + status.width();
        if sel.width > used && used + tail.chars().count() > sel.width {
            tail = tail.chars().take(sel.width - used - 1).collect::<String>() + "…";
        }
        out.push(Line::from(vec![
            Span::styled(marker, BOLD),
            Span::styled(head, style),
            status,
            Span::styled(tail, style),
        ]));
    }
    out.push(Line::default());
    match sel.diff {
        Some(lines) => {
            for l in lines {
                let style = match l.chars().next() {
                    _ if l.starts_with("@@") => Style::new().fg(ratatui::style::Color::Cyan),
                    _ if l.starts_with("---") || l.starts_with("+++") => BOLD,
                    Some('+') => GOOD,
                    Some('-') => ERROR,
                    _ => Style::new(),
                };
                out.push(Line::styled(l.clone(), style));
            }
        }
        None if d.deliveries.len() > 1 => out.push(Line::styled(
            "j/k pick a Delivery (Enter focuses this pane) · Space marks it · d compares",
            DIM,
        )),
        None => out.push(Line::styled(
            "One Delivery so far: r replays it, then d compares the two",
            DIM,
        )),
    }
    out
}
