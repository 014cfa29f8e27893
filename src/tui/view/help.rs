//! The help screen (`?`): the keymap table itself, the badges, and filter examples.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::keymap::{Context, help_rows};
use crate::tui::theme::{BOLD, DIM, ERROR, GOOD, KEY};

pub fn draw(frame: &mut Frame<'_>, screen: Rect) {
    let rows = help_rows(Context::Browse);
    let width = screen.width.saturating_sub(2).min(100);
    let inner_w = width.saturating_sub(2) as usize;
    let key_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let entry_w = rows
        .iter()
        .map(|(_, h)| key_w + 2 + h.chars().count())
        .max()
        .unwrap_or(0);
    let footer = vec![
        Line::default(),
        Line::from(vec![
            Span::raw("Badges: "),
            Span::styled("✓", GOOD),
            Span::raw(" signature valid  "),
            Span::styled("✗", ERROR),
            Span::raw(" invalid  ↻ replayed  ✎ edited copy  ≡ provider retry"),
        ]),
        Line::from(vec![
            Span::raw("Typing after / or R: "),
            Span::styled("Ctrl-u", KEY),
            Span::raw(" clears the line  "),
            Span::styled("Ctrl-w", KEY),
            Span::raw(" a word  "),
            Span::styled("Esc", KEY),
            Span::raw(" cancels"),
        ]),
        Line::styled(
            "Filter: provider:ayrshare status:5xx type:social.* sig:invalid after:1h -replayed \"text\"",
            DIM,
        ),
    ];
    let max_h = screen.height.saturating_sub(2) as usize;
    // Two columns when one would not fit.
    let columns = if rows.len() + footer.len() + 2 > max_h && inner_w >= entry_w * 2 + 2 {
        2
    } else {
        1
    };
    let per_column = rows.len().div_ceil(columns);
    let mut lines = Vec::new();
    for i in 0..per_column {
        let mut spans = Vec::new();
        for c in 0..columns {
            if let Some((keys, what)) = rows.get(c * per_column + i) {
                spans.push(Span::styled(format!("{keys:>key_w$}"), KEY));
                let pad = if c + 1 < columns {
                    entry_w - key_w - 2
                } else {
                    0
                };
                spans.push(Span::raw(format!("  {what:<pad$}")));
                if c + 1 < columns {
                    spans.push(Span::raw("  "));
                }
            }
        }
        lines.push(Line::from(spans));
    }
    lines.extend(crate::tui::text::wrap(footer, inner_w));
    let height = (lines.len() as u16 + 2).min(screen.height);
    let area = Rect {
        x: screen.x + (screen.width - width) / 2,
        y: screen.y + (screen.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Keys · any key closes this ", BOLD));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
