//! The few styles the screen uses, in one place: status classes, badges, dim hints.

use ratatui::style::{Color, Modifier, Style};

/// Hints and metadata.
pub const DIM: Style = Style::new().fg(Color::DarkGray);
/// What matters most on a line.
pub const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
/// Failures, invalid signatures.
pub const ERROR: Style = Style::new().fg(Color::Red);
/// Success, valid signatures.
pub const GOOD: Style = Style::new().fg(Color::Green);
/// 4xx, provider retries, new Events above.
pub const WARN: Style = Style::new().fg(Color::Yellow);
/// Header names.
pub const HEADER_NAME: Style = Style::new().fg(Color::Blue);
/// The title bars (status bar, list title, tab bar).
pub const BAR: Style = Style::new().bg(Color::DarkGray).fg(Color::White);
/// The selected row of the list.
pub const SELECTED: Style = Style::new().bg(Color::Blue).fg(Color::White);
/// The selected row while the detail pane has focus.
pub const SELECTED_IDLE: Style = Style::new().add_modifier(Modifier::REVERSED);
/// Keys in hints and help.
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);

/// The colour of a status by class: 2xx green, 3xx cyan, 4xx yellow, 5xx and failures red,
/// in flight dim; an answer hooktap made instead of an app (a mock, `--fail`) magenta.
pub fn status(status: Option<u16>, outcome: Option<&str>) -> Style {
    match (status, outcome) {
        (_, Some("mocked")) => Style::new().fg(Color::Magenta),
        (Some(200..=299), _) => GOOD,
        (Some(300..=399), _) => Style::new().fg(Color::Cyan),
        (Some(400..=499), _) => WARN,
        (Some(_), _) => ERROR,
        (None, Some("pending") | None) => DIM,
        (None, Some(_)) => ERROR,
    }
}

/// The short text of a status: `200`, `failed`, `…` in flight, `~503` when hooktap answered
/// instead of an app.
pub fn status_text(status: Option<u16>, outcome: Option<&str>) -> String {
    match (status, outcome) {
        (Some(code), Some("mocked")) => format!("~{code}"),
        (Some(code), _) => code.to_string(),
        (None, Some("pending")) => "…".into(),
        (None, Some(o)) => o.to_string(),
        (None, None) => "-".into(),
    }
}

/// A duration in microseconds for people: `0.8ms`, `31ms`, `1.2s`.
pub fn duration(us: i64) -> String {
    match us {
        us if us < 10_000 => format!("{:.1}ms", us as f64 / 1000.0),
        us if us < 1_000_000 => format!("{}ms", us / 1000),
        us => format!("{:.1}s", us as f64 / 1e6),
    }
}

/// A size for a narrow column: `812B`, `2.0K`, `1.3M`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1 << 10 => format!("{b}B"),
        b if b < 1 << 20 => format!("{:.1}K", b as f64 / 1024.0),
        b => format!("{:.1}M", b as f64 / (1 << 20) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms() {
        assert_eq!(duration(812), "0.8ms");
        assert_eq!(duration(31_400), "31ms");
        assert_eq!(duration(1_250_000), "1.2s");
        assert_eq!(size(812), "812B");
        assert_eq!(size(2048), "2.0K");
        assert_eq!(status_text(None, Some("pending")), "…");
        assert_eq!(status_text(None, Some("timeout")), "timeout");
        assert_eq!(status(Some(503), Some("ok")), ERROR);
        assert_eq!(status(None, Some("failed")), ERROR);
    }
}
