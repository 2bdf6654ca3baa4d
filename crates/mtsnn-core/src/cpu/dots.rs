//! Dot products of a few rows with a weight matrix stored `[rows][k]`: the dense products of
//! batch-1 inference (eq 3's I = W s_in for a sample's T steps, the first layer's once), where
//! a GEMM's packing costs more than it saves. Each weight row is read once for all the rows of x.
//!
//! The weights come as F32 ([`FewRowDots`]) or as the 8-bit codes of an `mtsnn export --dtype
//! i8`, one scale per row ([`i8_rows_times`]), which stream a quarter of the bytes: `784-800-10`'s
//! first layer is 2.5 MB in F32, more than a core's 2 MB L2 on the Xeon measured, and 0.63 MB in
//! 8 bits. The 8-bit products are integer arithmetic: each row of x becomes 16-bit integers
//! x ≈ sx·xq (spike counts, which are small integers, exactly: sx = 1), Σ_l q\[l\]·xq\[l\] is summed
//! exactly in 32 bits (by AVX2's `vpmaddwd` where the CPU has it, else by plain Rust), and the
//! result is (Σ q·xq)·(scale·sx) in F32. Integer sums do not depend on their order, so every
//! instruction set gives the same bits; against the F32 product of the dequantised weights q·scale
//! the only differences are the input's rounding to 16 bits and F32's own rounding
//! (`docs/performance.md` measures what that does to the predictions).

use super::simd::{Kernel, Level};

/// outᵀ\[j\]\[i\] = Σ_l x\[i\]\[l\]·w\[j\]\[l\] for a few rows x `[m][k]` and the rows j of `w` `[rows][k]`:
/// batch-1 inference's products of a sample's T steps with a weight matrix. Each row of `w` is read
/// once, for all m rows of x; the result is transposed, `[rows][m]`.
pub struct FewRowDots<'a> {
    /// The rows x, `[m][k]`.
    pub x: &'a [f32],
    /// Rows of x.
    pub m: usize,
    /// The weight rows, `[rows][k]`.
    pub w: &'a [f32],
    /// Written: the products, `[rows][m]`.
    pub out_t: &'a mut [f32],
}

/// Lanes of [`FewRowDots`]' partial sums (the elementwise kernels' block).
const LANES: usize = super::elementwise::LANES;

impl Kernel for FewRowDots<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let k = self.x.len() / self.m;
        for (out, row) in self
            .out_t
            .chunks_exact_mut(self.m)
            .zip(self.w.chunks_exact(k))
        {
            for (o, x) in out.iter_mut().zip(self.x.chunks_exact(k)) {
                // LANES partial sums, then their sum: no reassociation the compiler must avoid.
                let mut acc = [0.0f32; LANES];
                let mut rs = row.chunks_exact(LANES);
                let mut xs = x.chunks_exact(LANES);
                for (r, x) in (&mut rs).zip(&mut xs) {
                    for l in 0..LANES {
                        acc[l] += r[l] * x[l];
                    }
                }
                let mut tail = 0.0f32;
                for (r, x) in rs.remainder().iter().zip(xs.remainder()) {
                    tail += r * x;
                }
                *o = acc.iter().sum::<f32>() + tail;
            }
        }
    }
}

/// The weights of a product: F32, or 8-bit codes with one scale per row.
#[derive(Clone, Copy, Debug)]
pub enum RowWeights<'a> {
    /// `[rows][k]` values.
    F32(&'a [f32]),
    /// `[rows][k]` codes q and `[rows]` scales: the weight is q·scale.
    I8 {
        /// The codes.
        codes: &'a [i8],
        /// One per row.
        scales: &'a [f32],
    },
}

impl RowWeights<'_> {
    /// Rows of a matrix of `k` columns.
    pub fn rows(&self, k: usize) -> usize {
        match self {
            RowWeights::F32(w) => w.len() / k.max(1),
            RowWeights::I8 { scales, .. } => scales.len(),
        }
    }

    /// Bytes of a matrix of `k` columns.
    pub fn bytes(&self, k: usize) -> usize {
        match self {
            RowWeights::F32(w) => 4 * w.len(),
            RowWeights::I8 { codes, .. } => codes.len() + 4 * self.rows(k),
        }
    }

    /// Rows `first..first + count` of a matrix of `k` columns.
    pub fn slice(&self, first: usize, count: usize, k: usize) -> Self {
        match *self {
            RowWeights::F32(w) => RowWeights::F32(&w[first * k..(first + count) * k]),
            RowWeights::I8 { codes, scales } => RowWeights::I8 {
                codes: &codes[first * k..(first + count) * k],
                scales: &scales[first..first + count],
            },
        }
    }
}

/// A row of x as 16-bit integers: x ≈ `scale`·`values`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantisedRow {
    /// The integers, at most [`input_bound`]`(k)` in magnitude.
    pub values: Vec<i16>,
    /// What one unit is worth.
    pub scale: f32,
}

/// The largest |xq| for rows of `k` values: 16383 (15 bits) where 127·16383·k fits an i32, less
/// for longer rows, so that no sum of k products overflows.
pub fn input_bound(k: usize) -> i32 {
    (i32::MAX / (127 * k.max(1) as i32).max(1)).clamp(1, 16383)
}

/// `x` as integers: itself when every value is an integer within [`input_bound`] (spike counts),
/// else rounded (half away from zero) on the grid max|x| / bound. Casts and sign bits only, no
/// library calls: this runs once per row of every 8-bit product.
pub fn quantise_row(x: &[f32]) -> QuantisedRow {
    quantise(x)
}

/// [`quantise_row`], inlined where it is called so that it is compiled for that instruction set.
#[inline(always)]
fn quantise(x: &[f32]) -> QuantisedRow {
    let bound = input_bound(x.len());
    // Reductions the compiler vectorises: the largest |x| as the largest of the bit patterns
    // without the sign (which order as the magnitudes do), and "all integral" without an early
    // exit.
    let max = f32::from_bits(
        x.iter()
            .fold(0u32, |m, v| m.max(v.to_bits() & 0x7fff_ffff)),
    );
    let integral = x.iter().fold(true, |all, &v| all & (v.trunc() == v));
    let b = bound as f32;
    if max <= b && integral {
        return QuantisedRow {
            // SAFETY: every value is an integer of magnitude at most `bound` < 2^15 (a NaN or an
            // infinity would have made `max` exceed it).
            values: x
                .iter()
                .map(|&v| unsafe { v.to_int_unchecked::<i32>() } as i16)
                .collect(),
            scale: 1.0,
        };
    }
    let per_unit = b / max;
    QuantisedRow {
        values: x
            .iter()
            .map(|&v| {
                let t = v * per_unit;
                // Half away from zero, then into [-bound, bound]: f32::max and min return the
                // number when one side is NaN, so the result is finite and in range.
                let t = (t + 0.5f32.copysign(t)).max(-b).min(b);
                // SAFETY: t is finite and within ±bound < 2^15 (above); the conversion truncates,
                // which after the half added is rounding. Unchecked, so that the loop vectorises.
                unsafe { t.to_int_unchecked::<i32>() as i16 }
            })
            .collect(),
        scale: max / b,
    }
}

/// outᵀ\[j\]\[i\] = (Σ_l q\[j\]\[l\]·xq\[i\]\[l\])·(scales\[j\]·sx\[i\]) for rows x `[m][k]` and 8-bit
/// weight rows `codes` `[rows][k]` with their `scales`, on instruction set `level`.
pub fn i8_rows_times(
    level: Level,
    x: &[f32],
    m: usize,
    codes: &[i8],
    scales: &[f32],
    out_t: &mut [f32],
) {
    let k = x.len() / m;
    let rows = scales.len();
    assert_eq!((codes.len(), out_t.len()), (rows * k, rows * m));
    let mut sums = vec![0i32; rows];
    for (i, xi) in x.chunks_exact(k).enumerate() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `integer_dots`.
        let xq = match level >= Level::Avx2 {
            true => unsafe { avx2::quantise_row(xi) },
            false => quantise(xi),
        };
        #[cfg(not(target_arch = "x86_64"))]
        let xq = quantise(xi);
        integer_dots(level, &xq.values, codes, &mut sums);
        for (j, &s) in sums.iter().enumerate() {
            out_t[j * m + i] = s as f32 * (scales[j] * xq.scale);
        }
    }
}

/// sums\[j\] = Σ_l w\[j\]\[l\]·x\[l\], exactly.
fn integer_dots(level: Level, x: &[i16], w: &[i8], sums: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if level >= Level::Avx2 {
        // SAFETY: a level at or above Avx2 is only ever active on a CPU with AVX2
        // (`simd::Isa::new`); the callers pass `simd::active().level()` or a tested `Isa`'s.
        unsafe { avx2::integer_dots(x, w, sums) };
        return;
    }
    let _ = level;
    integer_dots_scalar(x, w, sums);
}

/// [`integer_dots`] in plain Rust: the reference.
fn integer_dots_scalar(x: &[i16], w: &[i8], sums: &mut [i32]) {
    for (s, row) in sums.iter_mut().zip(w.chunks_exact(x.len().max(1))) {
        *s = row
            .iter()
            .zip(x)
            .map(|(&q, &v)| i32::from(q) * i32::from(v))
            .sum();
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Weight rows summed side by side: independent sums keep the adders busy.
    const ROWS: usize = 4;
    /// Values per 256-bit block: 16 i16 of x against 16 i8 codes widened to i16.
    const BLOCK: usize = 16;

    /// [`super::integer_dots`] by `vpmaddwd`: pairs of i16 products summed into i32 lanes.
    #[target_feature(enable = "avx2")]
    pub(super) fn integer_dots(x: &[i16], w: &[i8], sums: &mut [i32]) {
        let k = x.len();
        let full = k / BLOCK * BLOCK;
        let blocks = sums.len() / ROWS * ROWS;
        for (j, out) in sums[..blocks].chunks_exact_mut(ROWS).enumerate() {
            let rows = &w[j * ROWS * k..(j + 1) * ROWS * k];
            let mut acc = [_mm256_setzero_si256(); ROWS];
            for l in (0..full).step_by(BLOCK) {
                let xv = load_i16(&x[l..l + BLOCK]);
                for (r, a) in acc.iter_mut().enumerate() {
                    let wv = widen_i8(&rows[r * k + l..r * k + l + BLOCK]);
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xv));
                }
            }
            for (r, o) in out.iter_mut().enumerate() {
                let mut lanes = [0i32; 8];
                // SAFETY: `lanes` holds 32 bytes; the store is unaligned.
                unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc[r]) };
                let tail: i32 = rows[r * k + full..(r + 1) * k]
                    .iter()
                    .zip(&x[full..])
                    .map(|(&q, &v)| i32::from(q) * i32::from(v))
                    .sum();
                *o = lanes.iter().sum::<i32>() + tail;
            }
        }
        super::integer_dots_scalar(x, &w[blocks * k..], &mut sums[blocks..]);
    }

    /// [`super::quantise_row`] compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn quantise_row(x: &[f32]) -> super::QuantisedRow {
        super::quantise(x)
    }

    /// 16 i16 from a slice of exactly 16.
    #[target_feature(enable = "avx2")]
    fn load_i16(v: &[i16]) -> __m256i {
        assert_eq!(v.len(), BLOCK);
        // SAFETY: 16 i16 are 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
    }

    /// 16 i8 from a slice of exactly 16, sign-extended to i16.
    #[target_feature(enable = "avx2")]
    fn widen_i8(v: &[i8]) -> __m256i {
        assert_eq!(v.len(), BLOCK);
        // SAFETY: 16 i8 are 16 readable bytes; the load is unaligned.
        _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(v.as_ptr().cast()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::simd::{Isa, dispatch};
    use crate::rng::Rng;

    /// Keeps the first instruction set's result in `first` and requires every later one to
    /// have the same bits.
    fn same_bits(first: &mut Option<Vec<f32>>, out: Vec<f32>, what: &str) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        match first {
            Some(f) => assert_eq!(bits(f), bits(&out), "{what} differs"),
            None => *first = Some(out),
        }
    }

    fn codes_and_scales(rng: &mut Rng, rows: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
        let codes = (0..rows * k)
            .map(|_| (rng.uniform() * 254.0 - 127.0).round() as i8)
            .collect();
        let scales = (0..rows).map(|j| 1e-3 * (j + 1) as f32).collect();
        (codes, scales)
    }

    /// The 8-bit products on every shape around the blocks: within the inputs' 16-bit rounding of
    /// the float64 product of the dequantised weights, exact for integer inputs, and bit-identical
    /// on every instruction set the machine has.
    #[test]
    fn i8_products_match_float64_and_every_isa_exactly() {
        let mut rng = Rng::new(7);
        for (m, rows, k) in [(1, 1, 1), (1, 7, 15), (2, 9, 16), (3, 13, 33), (1, 800, 784)] {
            let (codes, scales) = codes_and_scales(&mut rng, rows, k);
            let real: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
            let spikes: Vec<f32> = (0..m * k).map(|_| rng.below(16) as f32).collect();
            for (x, tolerance) in [(real, 1.0 / 16383.0), (spikes, 1e-6)] {
                let mut first: Option<Vec<f32>> = None;
                for isa in Isa::all_supported() {
                    let mut out = vec![f32::NAN; rows * m];
                    i8_rows_times(isa.level(), &x, m, &codes, &scales, &mut out);
                    for j in 0..rows {
                        for i in 0..m {
                            let xi = &x[i * k..(i + 1) * k];
                            let q = &codes[j * k..(j + 1) * k];
                            let want: f64 = q
                                .iter()
                                .zip(xi)
                                .map(|(&q, &v)| q as f64 * scales[j] as f64 * v as f64)
                                .sum();
                            // Bounded by each input's rounding times Σ|w|, plus F32's.
                            let mass: f64 = q
                                .iter()
                                .zip(xi)
                                .map(|(&q, &v)| (q as f64 * scales[j] as f64).abs() * (1.0 + v.abs() as f64))
                                .sum();
                            let max_x = xi.iter().fold(0.0f64, |a, &v| a.max(v.abs() as f64));
                            let got = out[j * m + i] as f64;
                            assert!(
                                (got - want).abs() <= mass * (tolerance * max_x.max(1.0) + 1e-6),
                                "m {m} rows {rows} k {k}: {got} vs {want}"
                            );
                        }
                    }
                    same_bits(&mut first, out, &format!("{isa}, m {m} rows {rows} k {k}"));
                }
            }
        }
    }

    /// Spike counts stay exact integers; real inputs use the whole 15-bit range; long rows a
    /// smaller one, so that no sum can overflow.
    #[test]
    fn inputs_become_integers_without_overflow() {
        let spikes = quantise_row(&[0.0, 3.0, 15.0]);
        assert_eq!((spikes.values, spikes.scale), (vec![0, 3, 15], 1.0));
        let real = quantise_row(&[0.5, -2.0, 1.0]);
        assert_eq!(real.values, vec![4096, -16383, 8192]);
        assert_eq!(real.scale, 2.0 / 16383.0);
        assert_eq!(input_bound(784), 16383);
        let k = 3136;
        assert!(127i64 * input_bound(k) as i64 * k as i64 <= i32::MAX as i64);
        assert!(127i64 * (input_bound(k) as i64 + 1) * k as i64 > i32::MAX as i64);
    }

    /// The F32 products against float64, and bit-identical on every instruction set.
    #[test]
    fn few_row_dots_match_float64_and_every_isa_exactly() {
        let mut rng = Rng::new(8);
        for (m, rows, k) in [(1, 1, 1), (2, 9, 16), (4, 13, 33), (1, 800, 784)] {
            let x: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
            let w: Vec<f32> = (0..rows * k).map(|_| rng.normal() as f32 * 0.1).collect();
            let mut first: Option<Vec<f32>> = None;
            for isa in Isa::all_supported() {
                let mut out_t = vec![f32::NAN; rows * m];
                dispatch(
                    isa,
                    FewRowDots {
                        x: &x,
                        m,
                        w: &w,
                        out_t: &mut out_t,
                    },
                );
                for j in 0..rows {
                    for i in 0..m {
                        let want: f64 = (0..k)
                            .map(|l| x[i * k + l] as f64 * w[j * k + l] as f64)
                            .sum();
                        let got = out_t[j * m + i] as f64;
                        assert!((got - want).abs() <= 1e-5 * (k as f64).sqrt(), "{got} vs {want}");
                    }
                }
                same_bits(&mut first, out_t, &format!("{isa}, m {m} rows {rows} k {k}"));
            }
        }
    }
}
