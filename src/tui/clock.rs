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

    /// `2026-11-27 18:03:12.481 +01:00`
    pub fn stamp(&self, micros: Micros) -> String {
        self.at(micros)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f %:z").to_string())
            .unwrap_or_default()
    }
}
