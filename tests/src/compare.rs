//! The one tolerance of the GPU-against-CPU tests (burn's `|x−y| ≤ max(r·|x+y|, a)`).
//!
//! Both sides compute in f32 with the same operations in the same order; they differ only by
//! - GEMM sums taken in another order (error ≈ k·ulp of Σ|terms|, i.e. ulp-sized relative to
//!   the RMS of a result, not to a result that cancels to near 0),
//! - WGSL's `exp` (3 + 2|x| ULP), `/` and `sqrt` (2.5 ULP) against IEEE results, and a possibly
//!   fused multiply-add.
//!
//! So x (GPU) and y (CPU) agree when |x − y| ≤ max(r·|x + y|, a) with r = [`R`] ≈ 80 ULP, and
//! the absolute floor a = r · RMS(y) judges values that cancel to near zero against the size of
//! their neighbours. Spike counts are compared exactly, apart from potentials within [`SPIKE_EPS`]
//! (relative) of a multiple of V_th, where the two divisions may round to different counts.

/// Relative tolerance.
pub const R: f32 = 1e-5;

/// Potentials v with |v/V_th − round(v/V_th)| below this may get different spike counts.
pub const SPIKE_EPS: f32 = 1e-5;

/// Root mean square of `xs` (0 for an empty slice).
pub fn rms(xs: &[f32]) -> f32 {
    if xs.is_empty() {
        return 0.0;
    }
    (xs.iter().map(|&x| x as f64 * x as f64).sum::<f64>() / xs.len() as f64).sqrt() as f32
}

/// True when x and y agree within `|x−y| ≤ max(r·|x+y|, a)`.
pub fn close(x: f32, y: f32, r: f32, a: f32) -> bool {
    // Identical values (infinities included) agree; NaN agrees with nothing.
    x == y || (x - y).abs() <= (r * (x + y).abs()).max(a)
}

/// Asserts `got` (GPU) matches `want` (CPU) elementwise with r = [`R`]·`scale` and
/// a = r·RMS(want), naming the first mismatch. `scale` is 1 for a single kernel; a longer chain
/// of kernels may widen it, saying why where it is called.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], scale: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let r = R * scale;
    let a = r * rms(want);
    let bad: Vec<usize> = (0..got.len())
        .filter(|&i| !close(got[i], want[i], r, a))
        .collect();
    if let Some(&i) = bad.first() {
        panic!(
            "{what}: {} of {} values differ beyond |x−y| ≤ max({r:e}·|x+y|, {a:e}); first at {i}: gpu {} vs cpu {}",
            bad.len(),
            got.len(),
            got[i],
            want[i]
        );
    }
}

/// The largest |x−y| / max(|x+y|, RMS(want)) over the pair, to print how close they came.
pub fn worst_relative(got: &[f32], want: &[f32]) -> f32 {
    let floor = rms(want).max(f32::MIN_POSITIVE);
    got.iter()
        .zip(want)
        .map(|(&x, &y)| (x - y).abs() / (x + y).abs().max(floor))
        .fold(0.0, f32::max)
}

/// True when v lies within [`SPIKE_EPS`] (relative to V_th) of a multiple of V_th, where the GPU
/// and CPU divisions v / V_th may floor to different counts.
pub fn near_threshold(v: f32, v_th: f32) -> bool {
    let q = v / v_th;
    (q - q.round()).abs() <= SPIKE_EPS * q.abs().max(1.0)
}
