//! The Event list: a title (count, filter, follow), column headers, and the rows on screen,
//! with columns dropped as the terminal narrows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{cut, thousands};
use crate::store::EventSummary;
use crate::text::sanitize;
use crate::tui::app::{App, Focus};
use crate::tui::theme::{self, BAR, BOLD, DIM, ERROR, GOOD, SELECTED, SELECTED_IDLE, WARN};

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    frame.render_widget(
        Paragraph::new(title(app)).style(BAR),
        Rect { height: 1, ..area },
    );
    let body = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    let list = &app.list;
    if list.rows.is_empty() {
        let text = if !list.loaded || list.loading.is_some() {
            match app.searching {
                Some(done) => format!(" searching… {:.0}%", done * 100.0),
                None => " loading…".into(),
            }
        } else if !app.filter.is_empty() {
            " No Events match this filter: / edits it".into()
        } else if let Some(url) = app.info.ingress.first() {
            format!(
                " No Events yet. Send a webhook to {url}/… or run\n  hooktap trigger ayrshare social-unlink --to {url}/hooks/ayrshare"
            )
        } else {
            " No Events in this Store yet. `hooktap listen --forward URL` records them.".into()
        };
        frame.render_widget(Paragraph::new(text).style(DIM), body);
        return;
    }
    let cols = Columns::for_width(area.width);
    let height = body.height.saturating_sub(1) as usize;
    let on_screen = || list.rows.iter().enumerate().skip(list.offset).take(height);
    let id_width = on_screen()
        .map(|(_, r)| r.id.to_string().len())
        .max()
        .unwrap_or(2)
        .max(2) as u16;
    let selected_style = if app.focus == Focus::List {
        SELECTED
    } else {
        SELECTED_IDLE
    };
    let widths = Widths::for_screen(area.width, cols, id_width, on_screen().map(|(_, r)| r));
    let rows: Vec<Row<'_>> = on_screen()
        .map(|(i, r)| {
            let row = row(app, r, cols, widths);
            if i == list.selected {
                row.style(selected_style)
            } else {
                row
            }
        })
        .collect();
    let mut constraints = Vec::new();
    let mut header = Vec::new();
    let mut col = |on: bool, name: &'static str, width: u16| {
        if on {
            header.push(name);
            constraints.push(Constraint::Length(width));
        }
    };
    col(cols.time > 0, "TIME", cols.time);
    col(true, "ID", id_width);
    col(cols.method, "METHOD", 6);
    col(true, "PATH", widths.path);
    col(true, "PROVIDER TYPE", widths.what);
    col(true, "STATUS", cols.status);
    col(cols.duration, "DUR", 6);
    col(cols.size, "SIZE", 6);
    col(true, "", BADGES);
    let table = Table::new(rows, constraints)
        .header(Row::new(header).style(DIM))
        .column_spacing(1);
    frame.render_widget(table, body);
}

fn title(app: &App) -> Line<'static> {
    let list = &app.list;
    let count = match app.total {
        Some(n) => thousands(n),
        None if list.more_older => format!("{}+", thousands(list.rows.len() as u64)),
        None => thousands(list.rows.len() as u64),
    };
    let mut spans = vec![Span::styled(format!(" Events {count}"), BOLD)];
    if !app.filter_text.trim().is_empty() {
        spans.push(Span::raw(format!("  filter: {}", app.filter_text.trim())));
    }
    if let Some(done) = app.searching {
        spans.push(Span::raw(format!("  searching… {:.0}%", done * 100.0)));
    }
    if list.follow && !list.more_newer {
        spans.push(Span::raw("  following"));
    } else if list.unseen + list.new_above > 0 {
        spans.push(Span::styled(
            format!(
                "  ↑ {} new: f follows",
                thousands(list.unseen + list.new_above)
            ),
            WARN,
        ));
    } else {
        spans.push(Span::raw("  paused: f follows"));
    }
    Line::from(spans)
}

/// Room for the badges (`✓↻≡`).
const BADGES: u16 = 3;

/// The widths of the two text columns, so their text is cut with `…` rather than by the table.
#[derive(Clone, Copy)]
struct Widths {
    path: u16,
    what: u16,
}

impl Widths {
    /// The path gets what its longest row on screen needs, up to 40 % of the free width; the
    /// provider and event type (the more telling column) get the rest.
    fn for_screen<'a>(
        width: u16,
        cols: Columns,
        id_width: u16,
        rows: impl Iterator<Item = &'a EventSummary>,
    ) -> Widths {
        // Every column but the two, each with the one column of space before the next.
        let on = |yes: bool, width: u16| if yes { width + 1 } else { 0 };
        let fixed = on(cols.time > 0, cols.time)
            + on(true, id_width)
            + on(cols.method, 6)
            + on(true, cols.status)
            + on(cols.duration, 6)
            + on(cols.size, 6)
            + BADGES
            + 2;
        let free = width.saturating_sub(fixed);
        let longest = rows
            .map(|r| path_text(r, cols).chars().count())
            .max()
            .unwrap_or(4) as u16;
        let path = longest.max(4).min(free * 2 / 5);
        Widths {
            path,
            what: free - path,
        }
    }
}

/// Which columns fit.
#[derive(Clone, Copy)]
struct Columns {
    /// Width of the time (0: not shown; 8 without, 12 with milliseconds).
    time: u16,
    method: bool,
    /// Width of the status (4 cuts `failed` to `fail`).
    status: u16,
    duration: bool,
    size: bool,
}

impl Columns {
    fn for_width(width: u16) -> Columns {
        Columns {
            time: match width {
                100.. => 12,
                70.. => 8,
                _ => 0,
            },
            method: width >= 120,
            // `interrupted` whole where there is room, `rejected` and `timeout` from 100.
            status: match width {
                160.. => 11,
                100.. => 8,
                _ => 4,
            },
            duration: width >= 70,
            size: width >= 90,
        }
    }
}

/// The path as the PATH column shows it: with the query, and led by the method when there is
/// no METHOD column and it is not POST (webhooks' own).
fn path_text(r: &EventSummary, cols: Columns) -> String {
    let mut path = if cols.method || r.method == "POST" {
        r.path.clone()
    } else {
        format!("{} {}", r.method, r.path)
    };
    if let Some(q) = &r.query {
        path.push('?');
        path.push_str(q);
    }
    sanitize(&path).into_owned()
}

fn row<'a>(app: &App, r: &'a EventSummary, cols: Columns, widths: Widths) -> Row<'a> {
    let what = match &r.event_type {
        Some(t) => format!("{} {t}", r.provider),
        None => r.provider.clone(),
    };
    let what = sanitize(&what);
    let path = cut(&path_text(r, cols), widths.path as usize);
    let what = cut(&what, widths.what as usize);
    let held = r.held_since.is_some() && r.status.is_none();
    let status: String = match held {
        true => "held".to_string(),
        false => theme::status_text(r.status, r.outcome.as_deref()),
    }
    .chars()
    .take(cols.status as usize)
    .collect();
    let mut cells = Vec::new();
    if cols.time > 0 {
        let time = app.clock.list_time(r.received_at, cols.time);
        cells.push(Cell::from(
            time.chars().take(cols.time as usize).collect::<String>(),
        ));
    }
    cells.push(Cell::from(Line::from(r.id.to_string()).right_aligned()));
    if cols.method {
        cells.push(Cell::from(sanitize(&r.method).into_owned()));
    }
    cells.push(Cell::from(path));
    cells.push(Cell::from(what));
    cells.push(Cell::from(Span::styled(
        status,
        match held {
            // Waiting for `listen --redeliver`: not lost, not done.
            true => theme::WARN,
            false => theme::status(r.status, r.outcome.as_deref()),
        },
    )));
    if cols.duration {
        cells.push(Cell::from(
            Line::from(r.duration_us.map(theme::duration).unwrap_or_default()).right_aligned(),
        ));
    }
    if cols.size {
        cells.push(Cell::from(
            Line::from(theme::size(r.body_size)).right_aligned(),
        ));
    }
    cells.push(Cell::from(badges(r)));
    Row::new(cells)
}

/// `✓`/`✗` signature valid/invalid, `↻` replayed (`✎` an edited copy), `≡` a provider retry.
pub fn badges(r: &EventSummary) -> Line<'static> {
    let mut spans = Vec::new();
    match r.signature.as_str() {
        "valid" => spans.push(Span::styled("✓", GOOD)),
        "invalid" => spans.push(Span::styled("✗", ERROR)),
        _ => spans.push(Span::raw(" ")),
    }
    if r.derived_from.is_some() {
        spans.push(Span::raw("✎"));
    } else if r.replayed {
        spans.push(Span::styled(
            "↻",
            Style::new().fg(ratatui::style::Color::Cyan),
        ));
    } else {
        spans.push(Span::raw(" "));
    }
    if r.duplicate_of.is_some() {
        spans.push(Span::styled("≡", WARN));
    }
    Line::from(spans)
}
