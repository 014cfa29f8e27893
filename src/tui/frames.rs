//! Frame timings, logged at debug level (`HOOKTAP_LOG=hooktap::tui=debug`): when the first
//! frame with Events was drawn, and the mean and worst draw times. BENCHMARKS.md quotes them.

use std::time::{Duration, Instant};

use super::app::App;
use super::terminal::Term;

/// Frame timings, for `HOOKTAP_LOG=hooktap::tui=debug` (BENCHMARKS.md's figures).
pub(super) struct Frames {
    started: Instant,
    count: u64,
    total: Duration,
    max: Duration,
    first_rows: bool,
}

impl Frames {
    pub(super) fn new() -> Frames {
        Frames {
            started: Instant::now(),
            count: 0,
            total: Duration::ZERO,
            max: Duration::ZERO,
            first_rows: false,
        }
    }

    pub(super) fn draw(&mut self, term: &mut Term, app: &App) -> anyhow::Result<()> {
        let at = Instant::now();
        term.draw(app)?;
        let took = at.elapsed();
        self.count += 1;
        self.total += took;
        self.max = self.max.max(took);
        if !self.first_rows && app.list.loaded {
            self.first_rows = true;
            tracing::debug!(
                "first frame with Events drawn {:.1} ms after the UI started",
                self.started.elapsed().as_secs_f64() * 1e3
            );
        }
        Ok(())
    }

    pub(super) fn report(&self) {
        tracing::debug!(
            "{} frames, draw mean {:.2} ms, max {:.2} ms",
            self.count,
            self.total.as_secs_f64() * 1e3 / self.count.max(1) as f64,
            self.max.as_secs_f64() * 1e3
        );
    }
}
