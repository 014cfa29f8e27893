//! The TUI's sense of time: "now" as the last tick told it, and the timezone times are shown
//! in. Injected, so snapshots and state tests run at a fixed time.

use chrono::FixedOffset;

use crate::event::Micros;

/// The time on screen: "now" as last told by a tick, and the timezone to show times in.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Now, as of the last tick.
    pub now: Micros,
    /// The timezone times are shown in.
    pub offset: FixedOffset,
}

impl Clock {
    /// The real time and the local timezone.
    pub fn local() -> Clock {
        let now = chrono::Local::now();
        Clock {
            now: now.timestamp_micros(),
            offset: *now.offset(),
        }
    }

    /// A fixed time in UTC (tests, snapshots).
    pub fn fixed(now: Micros) -> Clock {
        Clock {
            now,
            offset: FixedOffset::east_opt(0).expect("0 is a valid offset"),
        }
    }

    fn at(&self, micros: Micros) -> Option<chrono::DateTime<FixedOffset>> {
        chrono::DateTime::from_timestamp_micros(micros).map(|t| t.with_timezone(&self.offset))
    }

    /// `18:03:12.481`
    pub fn time(&self, micros: Micros) -> String {
        self.at(micros)
            .map(|t| t.format("%H:%M:%S%.3f").to_string())
            .unwrap_or_default()
    }

    /// A time for the list's TIME column of `width` (12 or 8): the time of day for today
    /// (`18:03:12.481`, `18:03:12`), else the day (`Nov 27 18:03`, `Nov 27`), else the year
    /// (`2025-01-02`, `Jan 2025`), so an older Event never passes for today's.
    pub fn list_time(&self, micros: Micros, width: u16) -> String {
        use chrono::Datelike;
        let (Some(at), Some(now)) = (self.at(micros), self.at(self.now)) else {
            return String::new();
        };
        let wide = width >= 12;
        let format = if at.date_naive() == now.date_naive() {
            if wide { "%H:%M:%S%.3f" } else { "%H:%M:%S" }
        } else if at.year() == now.year() {
            if wide { "%b %d %H:%M" } else { "%b %d" }
        } else if wide {
            "%Y-%m-%d"
        } else {
            "%b %Y"
        };
        at.format(format).to_string()
    }

    /// `2026-11-27 18:03:12.481 +01:00`
    pub fn stamp(&self, micros: Micros) -> String {
        self.at(micros)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f %:z").to_string())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_times_show_the_day_or_year_of_older_events() {
        let at = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text)
                .unwrap()
                .timestamp_micros()
        };
        let clock = Clock::fixed(at("2026-11-27T18:30:00Z"));
        let show = |text: &str, width| clock.list_time(at(text), width);
        assert_eq!(show("2026-11-27T18:03:12.481Z", 12), "18:03:12.481");
        assert_eq!(show("2026-11-27T18:03:12.481Z", 8), "18:03:12");
        assert_eq!(show("2026-11-26T18:03:12Z", 12), "Nov 26 18:03");
        assert_eq!(show("2026-11-26T18:03:12Z", 8), "Nov 26");
        assert_eq!(show("2025-01-02T03:04:05Z", 12), "2025-01-02");
        assert_eq!(show("2025-01-02T03:04:05Z", 8), "Jan 2025");
    }
}
