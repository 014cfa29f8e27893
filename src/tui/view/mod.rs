//! Drawing: one function per part of the screen, each only borrowing the [`App`]. Nothing here
//! reads the Store or changes state.

mod detail;
mod help;
mod list;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Mode};
use super::theme::{BAR, BOLD, DIM, ERROR, GOOD, KEY, SELECTED_IDLE};

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let areas = app.areas();
    status(frame, app, areas.status);
    list::draw(frame, app, areas.list);
    detail::draw(frame, app, areas.detail);
    footer(frame, app, areas.footer);
    if app.mode == Mode::Help {
        help::draw(frame, frame.area());
    }
}

/// `12,345`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first `width` columns of `text`, its end replaced by `…` when cut.
pub fn cut(text: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// The last `width` characters of `text`, with `…` in front when cut.
fn tail(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let rest: String = text.chars().skip(n - width + 1).collect();
    format!("…{rest}")
}

fn status(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let info = &app.info;
    let mut first = vec![Span::styled(format!(" hooktap {} ", info.title), BOLD)];
    if info.ingress.is_empty() {
        first.push(Span::raw(format!(" Store {}", info.store)));
    } else {
        first.push(Span::raw(format!(" {}", info.ingress.join(" "))));
    }
    if let Some(target) = &info.target {
        first.push(Span::raw(format!(" → {target} ")));
        first.push(match app.target_up {
            Some(true) => Span::styled("● up", GOOD),
            Some(false) => Span::styled("● down", ERROR),
            None => Span::styled("○", BAR),
        });
    }
    let mut lines = vec![Line::from(first).style(BAR)];
    let s = &app.stats;
    let second = if info.ingress.is_empty() {
        Line::from(vec![Span::raw(
            " browsing the Store; Events that `hooktap listen` records appear as they land",
        )])
        .style(DIM)
    } else {
        // Not `ok`/`failed`: those are outcomes, and a 500 answer is the outcome `ok`.
        let not_2xx = if s.not_2xx > 0 { ERROR } else { Style::new() };
        let mut line = Line::from(vec![
            Span::raw(format!(" received {}", thousands(s.received))),
            Span::styled(format!("  2xx {}", thousands(s.answered_2xx)), GOOD),
            Span::styled(format!("  not 2xx {}", thousands(s.not_2xx)), not_2xx),
            Span::raw(format!("  in flight {}", s.in_flight)),
            Span::raw(format!("  {:.1}/s", s.rate)),
        ]);
        // Shown once there are any, so a narrow screen keeps the Store's path until then.
        if s.replays > 0 {
            line.spans
                .insert(4, Span::raw(format!("  replays {}", thousands(s.replays))));
        }
        // The Store's path, cut from the left so its file name shows.
        let room = (area.width as usize).saturating_sub(line.width() + 9);
        if room >= 12 {
            line.push_span(Span::styled(
                format!("   Store {}", tail(&info.store, room)),
                DIM,
            ));
        }
        line
    };
    lines.push(second);
    for (label, text) in &app.lines {
        lines.push(Line::from(vec![
            Span::styled(format!(" {label} "), BOLD),
            Span::raw(text.clone()),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The hints shown when nothing else is in the footer, in the order shown; [`hints`] keeps
/// the most useful ones that fit.
const HINTS: &[(&str, &str)] = &[
    ("j/k", "move"),
    ("Enter", "detail"),
    ("/", "filter"),
    ("r", "replay"),
    ("?", "help"),
    ("q", "quit"),
    ("Tab", "tabs"),
    ("R", "to URL"),
    ("e", "edit"),
    ("c", "curl"),
    ("y", "body"),
    ("f", "follow"),
    ("d", "diff"),
];

fn footer(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let (label, input, error) = match app.mode {
        Mode::Filter => (
            "/ ".to_string(),
            &app.filter_input,
            app.filter_error.as_ref().map(|e| (e.column, e.to_string())),
        ),
        Mode::Prompt => (
            format!(
                "replay #{}{} to: ",
                app.list.selected_id().unwrap_or_default(),
                if app.prompt_resign { " re-signed" } else { "" }
            ),
            &app.prompt,
            app.prompt_error.as_ref().map(|e| (1, e.clone())),
        ),
        Mode::Browse | Mode::Help => {
            let mut lines = app.footer_message();
            if lines.is_empty() {
                lines.push(hints(area.width as usize));
            }
            frame.render_widget(Paragraph::new(lines), area);
            return;
        }
    };
    let input_line = if input.selected {
        // A suggestion: shown selected, and what typing does to it.
        Line::from(vec![
            Span::styled(label.clone(), KEY),
            Span::styled(input.text.clone(), SELECTED_IDLE),
            Span::styled("  typing replaces it, ← → edit it", DIM),
        ])
    } else {
        Line::from(vec![
            Span::styled(label.clone(), KEY),
            Span::raw(input.text.clone()),
        ])
    };
    frame.render_widget(Paragraph::new(input_line), Rect { height: 1, ..area });
    let cursor_x = area.x + (label.chars().count() + input.cursor) as u16;
    frame.set_cursor_position((cursor_x.min(area.right().saturating_sub(1)), area.y));
    if let Some((column, text)) = error
        && area.height > 1
    {
        let pad = label.chars().count() + column.saturating_sub(1);
        // The caret points at the bad term; the message goes where it fits.
        let text = if pad + 2 + text.chars().count() <= area.width as usize {
            format!("{}^ {text}", " ".repeat(pad))
        } else {
            // The message names the column itself.
            text
        };
        let line = Line::styled(text, ERROR);
        frame.render_widget(
            Paragraph::new(line),
            Rect {
                y: area.y + 1,
                height: 1,
                ..area
            },
        );
    }
}

/// Whole key hints that fit in `width` columns: `?` first, then the others in the order of
/// [`HINTS`] until one does not fit (never half a word).
fn hints(width: usize) -> Line<'static> {
    let room = |(k, what): &(&str, &str)| k.chars().count() + what.chars().count() + 3;
    let mut left = width;
    let mut shown = [false; HINTS.len()];
    let help = HINTS.iter().position(|(k, _)| *k == "?");
    let order = help
        .into_iter()
        .chain((0..HINTS.len()).filter(|i| Some(*i) != help));
    for i in order {
        let need = room(&HINTS[i]);
        if need > left {
            break;
        }
        left -= need;
        shown[i] = true;
    }
    let mut spans = Vec::new();
    for (i, (k, what)) in HINTS.iter().enumerate() {
        if shown[i] {
            spans.push(Span::styled(format!(" {k}"), KEY));
            spans.push(Span::styled(format!(" {what} "), DIM));
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
        assert_eq!(super::tail("/tmp/a/events.db", 20), "/tmp/a/events.db");
        assert_eq!(super::tail("/tmp/a/events.db", 10), "…events.db");
        assert_eq!(
            super::cut("/hooks/ayrshare/messages", 22),
            "/hooks/ayrshare/messa…"
        );
        assert_eq!(super::cut("/hooks", 6), "/hooks");
        assert_eq!(super::cut("日本語", 5), "日本…");
        assert_eq!(super::cut("abc", 0), "");
    }

    #[test]
    fn key_hints_are_whole_and_help_stays() {
        let at = |width| super::hints(width).to_string();
        assert!(at(200).ends_with(" d diff "), "{}", at(200));
        for width in [30, 50, 80, 100, 120] {
            let line = at(width);
            assert!(line.chars().count() <= width, "{line}");
            assert!(line.contains(" ? help "), "{line}");
            // Every hint shown is whole.
            for (k, what) in super::HINTS {
                assert_eq!(
                    line.contains(&format!(" {k} ")),
                    line.contains(&format!(" {k} {what} ")),
                    "{line}"
                );
            }
        }
        assert_eq!(
            at(100),
            " j/k move  Enter detail  / filter  r replay  ? help  q quit  Tab tabs  R to URL  e edit  c curl "
        );
    }
}
