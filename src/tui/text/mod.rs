//! The detail pane's text, tab by tab, built from a loaded Event: Summary (what it means and
//! what hooktap noticed), Request (headers in order, body), Response (one Delivery) and
//! Deliveries (every attempt, and the diff of two). Pure: the app builds it when the Event, the
//! tab or the width changes, and the view only slices it. A large body is not made into lines
//! here: it comes back beside them, to be shown as a window ([`Pane`]).

pub mod body;
mod deliveries;
mod pane;
mod wrap;

use std::borrow::Cow;

use ratatui::text::{Line, Span};

use super::app::{Clock, Tab};
use super::data::Detail;
use super::theme::{self, BOLD, DIM, ERROR, GOOD, HEADER_NAME};
use crate::config::format_size;
use crate::event::{Delivery, HeaderList};
use body::{Body, Text};
use deliveries::deliveries;
pub use pane::Pane;
pub use wrap::wrap;

/// Which Deliveries the tabs point at.
#[derive(Clone, Copy, Debug, Default)]
pub struct Selection<'a> {
    /// The Delivery the Response tab shows (and the second side of a diff).
    pub delivery: Option<usize>,
    /// The first side of a diff.
    pub mark: Option<usize>,
    /// The diff's lines, when one is shown.
    pub diff: Option<&'a [String]>,
    /// The pane's width: table rows are cut to it rather than wrapped.
    pub width: usize,
}

/// The lines of `tab` for Event `d`, and the large body that follows them, if any.
///
/// Every span passes [`crate::text::sanitize`] here, the one place the detail pane's text is
/// made: a header, a path or an error a sender wrote shows its controls as escapes (a large
/// body's rows pass it in [`body::line`]).
pub fn tab(
    d: &Detail,
    tab: Tab,
    sel: &Selection<'_>,
    clock: &Clock,
) -> (Vec<Line<'static>>, Option<Text>) {
    let (mut lines, large) = match tab {
        Tab::Summary => (summary(d, clock), None),
        Tab::Request => request(d),
        Tab::Response => response(d, sel, clock),
        Tab::Deliveries => (deliveries(d, sel, clock), None),
    };
    for span in lines.iter_mut().flat_map(|l| l.spans.iter_mut()) {
        clean(span);
    }
    (lines, large)
}

/// Makes one span safe to show: tabs as spaces (layout, not a threat; ratatui would drop the
/// character), every other control or bidirectional mark as its escape.
pub(crate) fn clean(span: &mut Span<'static>) {
    if span.content.contains('\t') {
        span.content = Cow::Owned(span.content.replace('\t', "    "));
    }
    if let Cow::Owned(clean) = crate::text::sanitize(&span.content) {
        span.content = Cow::Owned(clean);
    }
}

fn summary(d: &Detail, clock: &Clock) -> Vec<Line<'static>> {
    let s = &d.summary;
    let mut out = vec![Line::from(vec![
        Span::styled(format!("#{}  ", s.id), BOLD),
        Span::styled(
            format!("{} {}", d.event.method, d.event.path_and_query()),
            BOLD,
        ),
    ])];
    out.push(Line::styled(
        format!(
            "{} · {} from {} · {}",
            clock.stamp(s.received_at),
            s.ingress,
            s.remote_addr.as_deref().unwrap_or("?"),
            format_size(s.body_size)
        ),
        DIM,
    ));
    let mut who = vec![Span::styled(s.provider.clone(), BOLD)];
    if let Some(t) = &s.event_type {
        who.push(Span::styled(format!(" {t}"), BOLD));
    }
    if let Some(p) = &s.provider_event_id {
        let name = if s.provider == "ayrshare" {
            "hookId"
        } else {
            "event id"
        };
        who.push(Span::styled(format!("  {name} {p}"), DIM));
    }
    out.push(Line::from(who));
    let sig_style = match s.signature.as_str() {
        "valid" => GOOD,
        "invalid" => ERROR,
        _ => DIM,
    };
    out.push(Line::from(vec![
        Span::raw("signature "),
        Span::styled(s.signature.clone(), sig_style),
    ]));
    out.push(Line::default());
    match &s.summary {
        Some(text) => out.push(Line::styled(text.clone(), BOLD)),
        None => out.push(Line::styled("(no provider summary for this Event)", DIM)),
    }
    if !d.notes.is_empty() {
        out.push(Line::default());
        for note in &d.notes {
            out.push(Line::from(format!("• {note}")));
        }
    }
    if let Some(from) = s.derived_from {
        out.push(Line::styled(format!("• edited copy of #{from}"), DIM));
    }
    out.push(Line::default());
    match d.deliveries.last() {
        Some(last) => {
            out.push(Line::from(vec![
                Span::raw(format!("Latest Delivery #{} ({}): ", last.id, last.kind)),
                status_span(last),
                Span::raw(format!(" in {}", theme::duration(last.result.duration_us))),
            ]));
            out.push(Line::styled(format!("  → {}", last.target), DIM));
            if let Some(e) = &last.result.error {
                out.push(Line::styled(format!("  {e}"), ERROR));
            }
            let replays = d.deliveries.iter().filter(|x| x.kind.as_str() == "replay");
            let n = replays.count();
            if d.deliveries.len() > 1 {
                out.push(Line::styled(
                    format!(
                        "  {} Deliveries, {n} replay(s): tab 4 lists them, d compares two",
                        d.deliveries.len()
                    ),
                    DIM,
                ));
            }
        }
        None => out.push(Line::styled("No Delivery yet: r sends it", DIM)),
    }
    out
}

fn status_span(d: &Delivery) -> Span<'static> {
    let r = &d.result;
    let outcome = r.outcome.as_str();
    // An answer is its status and reason ("404 Not Found"); a failure is its outcome.
    let text = match r.status {
        Some(code) => match http::StatusCode::from_u16(code)
            .ok()
            .and_then(|c| c.canonical_reason())
        {
            Some(reason) => format!("{code} {reason}"),
            None => code.to_string(),
        },
        None => outcome.to_string(),
    };
    Span::styled(text, theme::status(r.status, Some(outcome)))
}

fn headers(out: &mut Vec<Line<'static>>, headers: &HeaderList) {
    for (name, value) in headers.iter() {
        out.push(Line::from(vec![
            Span::styled(format!("{name}:"), HEADER_NAME),
            Span::raw(format!(" {}", String::from_utf8_lossy(value))),
        ]));
    }
}

/// Adds a rendered body to `out`; a large one is handed back, after its notes.
fn body(out: &mut Vec<Line<'static>>, body: &Body) -> Option<Text> {
    match body {
        Body::Lines(shown) => {
            if let Some(note) = &shown.note {
                out.push(Line::styled(format!("({note})"), DIM));
            }
            let json_like = is_json(&shown.lines);
            out.extend(shown.lines.iter().map(|l| body::line(l, json_like)));
            None
        }
        Body::Text(text) => {
            out.extend(
                text.notes
                    .iter()
                    .map(|n| Line::styled(format!("({n})"), DIM)),
            );
            Some(text.clone())
        }
    }
}

/// Whether rendered body lines are indented JSON (they then get colours).
fn is_json(lines: &[String]) -> bool {
    lines
        .first()
        .is_some_and(|l| l == "{" || l == "[" || l.starts_with("{}") || l.starts_with("[]"))
}

fn request(d: &Detail) -> (Vec<Line<'static>>, Option<Text>) {
    let mut out = vec![Line::styled(
        format!("{} {} HTTP/1.1", d.event.method, d.event.path_and_query()),
        BOLD,
    )];
    headers(&mut out, &d.event.headers);
    out.push(Line::default());
    let text = body(&mut out, &d.request);
    (out, text)
}

fn response(d: &Detail, sel: &Selection<'_>, clock: &Clock) -> (Vec<Line<'static>>, Option<Text>) {
    let Some(i) = sel.delivery.filter(|i| *i < d.deliveries.len()) else {
        let none = "No Delivery yet: r sends this Event to its Target";
        return (vec![Line::styled(none, DIM)], None);
    };
    let del = &d.deliveries[i];
    let mut out = vec![
        Line::from(vec![
            Span::styled(format!("Delivery #{} ({}) ", del.id, del.kind), BOLD),
            Span::styled(format!("{} of {}", i + 1, d.deliveries.len()), DIM),
        ]),
        Line::styled(format!("→ {}", del.target), DIM),
        Line::styled(
            format!(
                "{} · {}",
                clock.stamp(del.started_at),
                theme::duration(del.result.duration_us)
            ),
            DIM,
        ),
        Line::from(vec![Span::raw("HTTP/1.1 "), status_span(del)]),
    ];
    if let Some(e) = &del.result.error {
        out.push(Line::styled(e.clone(), ERROR));
    }
    let mut text = None;
    if del.result.status.is_some() {
        headers(&mut out, &del.result.headers);
        out.push(Line::default());
        if let Some(b) = d.responses.get(i) {
            text = body(&mut out, b);
        }
    }
    (out, text)
}
