//! The timing helper the benchmarks share.

use std::time::{Duration, Instant};

/// The median of `runs` timings of `f`, and its last answer.
pub fn median(
    runs: usize,
    mut f: impl FnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<(Duration, usize)> {
    let mut times = Vec::with_capacity(runs);
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = f()?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times[runs / 2], n))
}
