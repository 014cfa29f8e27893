//! The detail pane: a tab bar, then the slice of the current tab's text that fits.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, Focus, Tab};
use crate::tui::theme::{BAR, DIM};

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let bar = match tab_bar(app, false) {
        bar if bar.width() <= area.width as usize => bar,
        _ => tab_bar(app, true),
    };
    frame.render_widget(Paragraph::new(bar).style(BAR), Rect { height: 1, ..area });
    let body = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    if app.detail.is_none() {
        let text = if app.list.selected_id().is_some() {
            " loading…"
        } else {
            ""
        };
        frame.render_widget(Paragraph::new(text).style(DIM), body);
        return;
    }
    let lines = app.detail_text.lines(app.scroll, body.height as usize);
    frame.render_widget(Paragraph::new(lines), body);
}

/// The tabs, with short titles when `short`.
fn tab_bar(app: &App, short: bool) -> Line<'static> {
    let id = app
        .detail
        .as_ref()
        .map(|d| format!(" #{} ", d.summary.id))
        .unwrap_or_else(|| " ".into());
    let mut spans = vec![Span::raw(id)];
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let title = if short { tab.short() } else { tab.title() };
        let mut label = format!(" {} {title} ", i + 1);
        if *tab == Tab::Deliveries
            && let Some(d) = &app.detail
        {
            label = format!(" {} {title} {} ", i + 1, d.deliveries.len());
        }
        let style = if *tab == app.tab {
            let s = ratatui::style::Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED);
            if app.focus == Focus::Detail {
                s.fg(ratatui::style::Color::Cyan)
            } else {
                s
            }
        } else {
            ratatui::style::Style::new()
        };
        spans.push(Span::styled(label, style));
    }
    let total = app.detail_text.len();
    let shown = app.areas().detail_rows();
    if total > shown {
        spans.push(Span::raw(format!(
            "  {}-{} of {total}",
            app.scroll + 1,
            (app.scroll + shown).min(total)
        )));
    }
    if app.diff.is_some() {
        spans.push(Span::raw("  diff"));
    }
    Line::from(spans)
}
