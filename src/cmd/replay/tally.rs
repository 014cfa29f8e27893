//! What `replay` says as a batch goes: a line per replay, a line per replay that could not be
//! sent, the count at the end; and the signals that stop a batch.

use std::io::Write;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::lines::text_line;
use crate::replay::Replayed;

/// How a batch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every replay started.
    All,
    /// Stopped by a signal or a closed stdout: the replays in flight were recorded, the rest
    /// never started.
    Stopped,
    /// A second signal: the replays in flight were left pending.
    Abandoned,
}

/// Replays sent and failed so far, printing a line for each.
pub struct Tally {
    total: usize,
    /// Deliveries recorded, answered or not.
    sent: usize,
    /// Deliveries the Target did not answer.
    unanswered: usize,
    /// Replays that never became a Delivery (no Target, no secret to re-sign with).
    unsent: usize,
    /// The error of a batch of one, said once at the end rather than as a line and again.
    only: Option<anyhow::Error>,
    /// Writing to stdout failed: no more lines, and no more sends.
    output: Option<std::io::Error>,
    stop: CancellationToken,
}

impl Tally {
    /// A tally of `total` replays; a failed write to stdout cancels `stop`.
    pub fn new(total: usize, stop: CancellationToken) -> Tally {
        Tally {
            total,
            sent: 0,
            unanswered: 0,
            unsent: 0,
            only: None,
            output: None,
            stop,
        }
    }

    /// Counts one finished replay and says it: its Delivery on `out`, or why it was not sent
    /// on stderr.
    pub fn add(&mut self, out: &mut impl Write, done: anyhow::Result<Replayed>) {
        match done {
            Ok(done) => {
                self.sent += 1;
                if !done.answered() {
                    self.unanswered += 1;
                }
                if self.output.is_some() {
                    return;
                }
                let line = text_line(&done.summary, done.result.error.as_deref());
                if let Err(e) = writeln!(out, "{line}") {
                    // Nobody reads the lines any more (`replay ... | head -1`): sending on
                    // unseen would surprise more than stopping.
                    self.output = Some(e);
                    self.stop.cancel();
                }
            }
            Err(e) => {
                self.unsent += 1;
                if self.total == 1 {
                    self.only = Some(e);
                } else {
                    let why = crate::text::sanitize(&format!("{e:#}")).into_owned();
                    eprintln!("hooktap: not sent: {why}");
                }
            }
        }
    }

    /// The count on stderr (for a batch of more than one), and the error that makes the exit
    /// code 1 when any replay failed, was not sent, or the batch was stopped.
    pub fn finish(self, ended: Ended, took: Duration) -> anyhow::Result<()> {
        let (total, sent) = (self.total, self.sent);
        let failed = self.unanswered + self.unsent;
        // An elapsed time, not a setting: `2.35 s`, not `2347ms`.
        let took = match took.as_secs_f64() {
            s if s < 1.0 => format!("{} ms", took.as_millis()),
            s => format!("{s:.2} s"),
        };
        let failures = match failed {
            0 => String::new(),
            n => format!(", {n} failed"),
        };
        if ended != Ended::All {
            let why = match (&self.output, ended) {
                (Some(e), _) => format!(" (cannot write to stdout: {e})"),
                (None, Ended::Abandoned) => " (the replays in flight were left pending)".into(),
                (None, _) => String::new(),
            };
            anyhow::bail!("stopped: {sent} of {total} replays sent in {took}{failures}{why}");
        }
        if total > 1 {
            eprintln!("hooktap: {sent} of {total} replays sent in {took}{failures}");
        }
        if let Some(e) = self.only {
            return Err(e);
        }
        match (self.unanswered, self.unsent) {
            (0, 0) => {}
            (1, 0) if total == 1 => {
                anyhow::bail!("the replay failed (recorded as a failed Delivery)")
            }
            (n, 0) => {
                anyhow::bail!("{n} of {total} replays failed (recorded as failed Deliveries)")
            }
            (0, n) => {
                anyhow::bail!("{n} of {total} replays could not be sent (see the lines above)")
            }
            (n, m) => anyhow::bail!(
                "{failed} of {total} replays failed: {n} recorded as failed Deliveries, {m} not \
                 sent (see the lines above)"
            ),
        }
        // Only now: a closed pipe after every replay went is not a failure (as `list | head`).
        self.output.map_or(Ok(()), |e| Err(e.into()))
    }
}

/// Cancels `stop` on the first SIGINT or SIGTERM, so the batch sends no more and waits for the
/// replays in flight; returns on the second, to quit without waiting. Both are caught from the
/// start, so no signal falls to the default (quit with Deliveries pending) in between.
pub async fn signals(stop: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Cannot catch them: the default (quit at once) stays.
        return std::future::pending().await;
    };
    for first in [true, false] {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        if first {
            stop.cancel();
            eprintln!(
                "hooktap: stopping once the replays in flight are recorded (Ctrl-C again to quit \
                 now and leave them pending)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(tally: Tally, ended: Ended) -> String {
        tally
            .finish(ended, Duration::from_millis(5))
            .map_or_else(|e| e.to_string(), |()| "ok".into())
    }

    #[test]
    fn replays_not_sent_count_as_failed_and_are_said() {
        let mut tally = Tally::new(4, CancellationToken::new());
        tally.add(&mut Vec::new(), Err(anyhow::anyhow!("no Target")));
        assert_eq!(
            finished(tally, Ended::All),
            "1 of 4 replays could not be sent (see the lines above)"
        );
        let mut tally = Tally::new(1, CancellationToken::new());
        tally.add(&mut Vec::new(), Err(anyhow::anyhow!("no Target")));
        assert_eq!(
            finished(tally, Ended::All),
            "no Target",
            "one replay: its own error"
        );
        let tally = Tally::new(3, CancellationToken::new());
        assert_eq!(finished(tally, Ended::All), "ok");
        let tally = Tally::new(3, CancellationToken::new());
        assert_eq!(
            finished(tally, Ended::Stopped),
            "stopped: 0 of 3 replays sent in 5 ms"
        );
    }
}
