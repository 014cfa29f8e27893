//! The Agent's timing: reconnect backoff (exponential, with jitter, capped, reset after a
//! healthy period), and noticing a sleep/wake by a jump of the wall clock against the monotonic
//! one. Pure, so the tests feed it times.

use std::time::{Duration, Instant, SystemTime};

/// Reconnect delays: `min`, doubling per failed attempt up to `max`, each with jitter.
#[derive(Clone, Debug)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    /// A Tunnel that stayed up this long resets the delay to `min`.
    pub healthy_after: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff from `min` to `max` (the Agent uses 500 ms to 30 s, healthy after a minute).
    pub fn new(min: Duration, max: Duration, healthy_after: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            healthy_after,
            attempt: 0,
        }
    }

    /// The delay before the next attempt; `jitter` in `[0, 1)` picks a point in the upper half
    /// of the window (so attempts from many Agents spread out, but never come early).
    pub fn next(&mut self, jitter: f64) -> Duration {
        let window = self
            .min
            .saturating_mul(1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        window.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// Call when a Tunnel ends after being up for `lasted`: a healthy one resets the delays.
    pub fn ended(&mut self, lasted: Duration) {
        if lasted >= self.healthy_after {
            self.attempt = 0;
        }
    }

    /// Start over from `min` (after a sleep/wake, when waiting longer helps no one).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// A number in `[0, 1)` that differs per call (for jitter; not for secrets).
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Notices a jump of the wall clock against the monotonic clock: a laptop that slept (the
/// monotonic clock stops during suspend on Linux, the wall clock does not), or a clock reset.
#[derive(Clone, Debug)]
pub struct ClockWatch {
    wall: SystemTime,
    mono: Instant,
    /// Differences smaller than this are ordinary drift.
    pub threshold: Duration,
}

impl ClockWatch {
    /// Starts watching from these readings of both clocks.
    pub fn new(wall: SystemTime, mono: Instant, threshold: Duration) -> ClockWatch {
        ClockWatch {
            wall,
            mono,
            threshold,
        }
    }

    /// Takes new readings; returns how far the wall clock jumped (either way) if more than the
    /// threshold.
    pub fn check(&mut self, wall: SystemTime, mono: Instant) -> Option<Duration> {
        let mono_elapsed = mono.saturating_duration_since(self.mono);
        let jump = match wall.duration_since(self.wall) {
            Ok(wall_elapsed) => wall_elapsed.abs_diff(mono_elapsed),
            Err(back) => back.duration() + mono_elapsed,
        };
        self.wall = wall;
        self.mono = mono;
        (jump > self.threshold).then_some(jump)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter_and_resets_when_healthy() {
        let mut b = Backoff::new(
            Duration::from_millis(500),
            Duration::from_secs(30),
            Duration::from_secs(60),
        );
        let lows: Vec<_> = (0..9).map(|_| b.next(0.0)).collect();
        assert_eq!(lows[0], Duration::from_millis(250));
        assert_eq!(lows[1], Duration::from_millis(500));
        assert_eq!(lows[2], Duration::from_secs(1));
        assert_eq!(
            lows[8],
            Duration::from_secs(15),
            "half the 30 s cap at jitter 0"
        );
        assert_eq!(b.next(0.999_999).as_secs(), 29, "never above the cap");
        b.ended(Duration::from_secs(59));
        assert_eq!(
            b.next(0.0),
            Duration::from_secs(15),
            "a short Tunnel does not reset"
        );
        b.ended(Duration::from_secs(60));
        assert_eq!(
            b.next(1.0),
            Duration::from_millis(500),
            "a healthy one does"
        );
        for _ in 0..100 {
            b.next(0.5);
        }
        assert!(b.next(1.0) <= Duration::from_secs(30));
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let values: Vec<f64> = (0..50).map(|_| jitter()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(values.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn clock_watch_sees_sleep_and_resets_but_not_drift() {
        let (wall, mono) = (
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
            Instant::now(),
        );
        let mut w = ClockWatch::new(wall, mono, Duration::from_secs(5));
        let s = Duration::from_secs;
        assert_eq!(w.check(wall + s(2), mono + s(2)), None);
        assert_eq!(w.check(wall + s(5), mono + s(4)), None, "1 s of drift");
        assert_eq!(
            w.check(wall + s(3605), mono + s(6)),
            Some(s(3598)),
            "slept an hour"
        );
        assert_eq!(
            w.check(wall + s(3000), mono + s(8)),
            Some(s(607)),
            "clock set back"
        );
    }
}
