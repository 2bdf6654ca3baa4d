//! What the GPU examples share: a median of repeated timings.

use std::time::Instant;

/// Median seconds of `runs` calls of `f` after one warm-up call.
pub fn median(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}
