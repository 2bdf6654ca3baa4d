//! GEMMs on the CPU, the twin of the GPU's matmul kernels (`shaders/gemm/`): [`matmul`], the
//! schedule's dense products (eq 3's I = W s_in over all steps at once, eq 9's Wᵀ δ and eq 13's
//! Σ_t G\[t\]ᵀ s_in\[t\]), on the `gemm` crate with all rayon threads, and `gemm_into`, which
//! the convolutions' im2col products share; [`times_weights_t`] for products with a weight matrix
//! of a few rows (batch-1 inference) or with 8-bit weights, by the dot kernels of `cpu/dots.rs`.

use rayon::prelude::*;

use super::dots::{FewRowDots, RowWeights, i8_rows_times};
use super::{
    elementwise, for_each_pair, simd, with_scratch, worth_parallel, worth_parallel_product,
};

/// C = op(A)·op(B) with C `[m][n]` (`shaders/gemm/matmul.wgsl`).
///
/// op(A) is `[m][k]`: A itself when `!a_t`, else Aᵀ of an A stored `[k][m]`.
/// op(B) is `[k][n]`: B itself when `!b_t`, else Bᵀ of a B stored `[n][k]`.
/// Runs on the `gemm` crate with all rayon threads.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a_t: bool,
    b_t: bool,
) {
    assert_eq!((a.len(), b.len(), c.len()), (m * k, k * n, m * n));
    let big = rayon::current_num_threads() > 1 && 4 * n * k >= SPLIT_BYTES;
    if (m >= 2 || big) && m <= FEW_ROWS && b_t && (!a_t || m == 1) && k > 0 {
        few_rows(a, RowWeights::F32(b), c, m, n, k);
        return;
    }
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && m * n * k >= 1 << 16;
    let g = Gemm {
        m,
        n,
        k,
        a_t,
        b_t,
        accumulate: false,
        parallel,
    };
    if b_t && !a_t && 4 * n * k >= COLUMN_MAJOR_BYTES {
        through_column_major(g, a, b, c);
    } else {
        gemm_into(g, a, b, c);
    }
}

/// A product A·Wᵀ with a weight matrix W `[n][k]` of this many bytes or more (a dense layer's
/// forward product, eq 3) is computed column-major into a scratch matrix and transposed into C
/// ([`through_column_major`]). Given a row-major C, the `gemm` crate computes Cᵀ = W·Aᵀ, packing W
/// and re-reading A for every block of W's rows; given a column-major C it packs A and streams W.
/// Measured (2-core AVX-512 Xeon, `gemm` 0.19, both threads; `examples/cpu_dense_orientation.rs`,
/// `results/bench/dense-forward-2026-12-07`): 256×1024×3136 (FashionMNIST CNN) 1.45–1.9× faster,
/// 128×800×784 (`784-800-10`'s layer 1) 1.4–1.6×, 128×400×784 1.25–1.3×. Under 1 MB (256×400×400,
/// 256×300×640: 0.87–0.96×) and with 10 output rows (0.3–0.5×) the transpose costs more than it
/// saves, and the other two products of a training step, Wᵀ δ and δᵀ s_in, were slower this way
/// at every paper shape (0.52–0.67×). Both routes give the same bits (`gemm` sums each value over
/// k in the same blocks and order; tested below).
const COLUMN_MAJOR_BYTES: usize = 1 << 20;

thread_local! {
    /// Each thread's column-major C of [`through_column_major`], kept from call to call.
    static COLUMN_MAJOR: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`gemm_into`] with C computed column-major (`[n][m]`) into a scratch matrix, then transposed
/// into `c` in tiles (over the threads when `g.parallel`). `g` must not accumulate.
pub fn through_column_major(g: Gemm, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(!g.accumulate, "a product through a column-major C cannot add to C");
    let (m, n) = (g.m, g.n);
    with_scratch(&COLUMN_MAJOR, m * n, |c_t| {
        gemm_strided(g, a, b, c_t, Layout::ColumnMajor);
        let c_t = &*c_t;
        let band = |(b, rows): (usize, &mut [f32])| transpose_band(c_t, rows, b * TILE, m, n);
        if g.parallel && worth_parallel(m * n) {
            c[..m * n].par_chunks_mut(TILE * n).enumerate().for_each(band);
        } else {
            c[..m * n].chunks_mut(TILE * n).enumerate().for_each(band);
        }
    });
}

/// Side of the square tiles [`transpose_band`] copies: 32 rows of 32 values (4 KB) each side.
const TILE: usize = 32;

/// Rows `i0..` of C `[m][n]` (`rows`: [`TILE`] whole rows or fewer) from the column-major `c_t`
/// `[n][m]`, one tile of [`TILE`] columns at a time.
fn transpose_band(c_t: &[f32], rows: &mut [f32], i0: usize, m: usize, n: usize) {
    for j0 in (0..n).step_by(TILE) {
        for (di, row) in rows.chunks_exact_mut(n).enumerate() {
            let i = i0 + di;
            for (j, out) in (j0..n.min(j0 + TILE)).zip(&mut row[j0..]) {
                *out = c_t[j * m + i];
            }
        }
    }
}

/// Products of at most this many rows with a matrix stored `[n][k]` (a batch-1 inference's T
/// steps) skip the GEMM. Measured (2-core AVX-512 Xeon): on the FashionMNIST CNN's 3136→1024 layer
/// the `gemm` crate packs the whole 12.8 MB weight matrix for 2 rows (batch-1 inference 5.1 ms,
/// 0.87 ms without it). A single row stays with `gemm`'s matrix–vector path, which was faster than
/// [`FewRowDots`] on one thread (61 against 88 µs for `784-800-10`), unless the matrix is large
/// enough to split over the threads (`784-800-10`: 75 → 38–58 µs, the spread being the pool's
/// threads waking up or not).
const FEW_ROWS: usize = 4;

/// C = A·Wᵀ for A `[m][k]` and weights W `[n][k]`, F32 or 8-bit codes with a scale per row
/// ([`RowWeights`]): the dense products of an inference backend with 8-bit weights
/// (`CpuBackend::for_inference`) at any batch, and [`matmul`]'s products of a few rows. Up to
/// [`FEW_ROWS`] rows of A read each row of W once, split over the threads by rows of W when W is
/// large; more rows go in groups of [`ROW_GROUP`] over the threads.
pub fn times_weights_t(a: &[f32], w: RowWeights, c: &mut [f32], m: usize, n: usize, k: usize) {
    assert_eq!((a.len(), w.rows(k), c.len()), (m * k, n, m * n));
    if m == 0 || n == 0 {
        return;
    }
    if m <= FEW_ROWS {
        few_rows(a, w, c, m, n, k);
        return;
    }
    let parallel = worth_parallel_product(m * n * k);
    for_each_pair(c, ROW_GROUP * n, a, ROW_GROUP * k, parallel, |c, a| {
        transposed_into(a, w, c, a.len() / k, n, false)
    });
}

/// Rows of A per thread in [`times_weights_t`] beyond [`FEW_ROWS`]: their products with a block
/// of W's rows stay in L2.
const ROW_GROUP: usize = 32;

/// [`times_weights_t`] for at most [`FEW_ROWS`] rows of A: over the threads by rows of W when W
/// is [`SPLIT_BYTES`] or more.
fn few_rows(a: &[f32], w: RowWeights, c: &mut [f32], m: usize, n: usize, k: usize) {
    let threads = rayon::current_num_threads();
    transposed_into(a, w, c, m, n, threads > 1 && w.bytes(k) >= SPLIT_BYTES);
}

/// A weight matrix this large is split over the threads for a few rows: each core then holds its
/// share in its own L2 (2 MB per core on the Xeon measured).
const SPLIT_BYTES: usize = 1 << 20;

/// C `[m][n]` = A·Wᵀ through the transposed products of [`FewRowDots`] or [`i8_rows_times`], over
/// the threads by rows of W when `split`.
fn transposed_into(a: &[f32], w: RowWeights, c: &mut [f32], m: usize, n: usize, split: bool) {
    let k = a.len() / m;
    let mut c_t = vec![0.0f32; n * m];
    let products = |w: RowWeights, out_t: &mut [f32]| match w {
        RowWeights::F32(w) => elementwise::run(FewRowDots { x: a, m, w, out_t }),
        RowWeights::I8 { codes, scales } => {
            i8_rows_times(simd::active().level(), a, m, codes, scales, out_t)
        }
    };
    if split {
        let share = n.div_ceil(rayon::current_num_threads());
        c_t.par_chunks_mut(share * m)
            .enumerate()
            .for_each(|(i, out_t)| products(w.slice(i * share, out_t.len() / m, k), out_t));
    } else {
        products(w, &mut c_t);
    }
    for (j, col) in c_t.chunks_exact(m).enumerate() {
        for (i, &v) in col.iter().enumerate() {
            c[i * n + j] = v;
        }
    }
}

/// One GEMM's shape and options: C (+)= op(A)·op(B), all row-major.
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// The inner dimension.
    pub k: usize,
    /// op(A) = Aᵀ, A stored `[k][m]`.
    pub a_t: bool,
    /// op(B) = Bᵀ, B stored `[n][k]`.
    pub b_t: bool,
    /// Add to C instead of overwriting it.
    pub accumulate: bool,
    /// Use all rayon threads (else the calling thread only).
    pub parallel: bool,
}

/// How C is stored: row-major `[m][n]` (the schedule's layout) or column-major `[n][m]`.
#[derive(Clone, Copy)]
enum Layout {
    RowMajor,
    ColumnMajor,
}

/// Runs `g` on slices whose lengths the caller has checked (`a`: m·k, `b`: k·n, `c`: m·n).
pub fn gemm_into(g: Gemm, a: &[f32], b: &[f32], c: &mut [f32]) {
    gemm_strided(g, a, b, c, Layout::RowMajor)
}

/// [`gemm_into`] with C stored as `layout` says.
fn gemm_strided(g: Gemm, a: &[f32], b: &[f32], c: &mut [f32], layout: Layout) {
    let Gemm {
        m,
        n,
        k,
        a_t,
        b_t,
        accumulate,
        parallel,
    } = g;
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // (column stride, row stride) of op(A), op(B) and C in elements.
    let (a_cs, a_rs) = if a_t {
        (m as isize, 1)
    } else {
        (1, k as isize)
    };
    let (b_cs, b_rs) = if b_t {
        (k as isize, 1)
    } else {
        (1, n as isize)
    };
    let (c_cs, c_rs) = match layout {
        Layout::RowMajor => (1, n as isize),
        Layout::ColumnMajor => (m as isize, 1),
    };
    let par = if parallel {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the assert above bounds every index gemm forms from (m, n, k) and these strides;
    // `c` is exclusively borrowed and so does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn rand(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.normal() as f32).collect()
    }

    fn naive(a: &[f32], b: &[f32], m: usize, n: usize, k: usize, a_t: bool, b_t: bool) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let x = if a_t { a[p * m + i] } else { a[i * k + p] };
                    let y = if b_t { b[j * k + p] } else { b[p * n + j] };
                    c[i * n + j] += x as f64 * y as f64;
                }
            }
        }
        c
    }

    #[test]
    fn matmul_all_transposes_match_naive() {
        let mut rng = Rng::new(1);
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (67, 33, 129), (128, 40, 300)] {
            let a = rand(&mut rng, m * k);
            let b = rand(&mut rng, k * n);
            for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut c = vec![f32::NAN; m * n];
                matmul(&a, &b, &mut c, m, n, k, a_t, b_t);
                for (x, y) in c.iter().zip(naive(&a, &b, m, n, k, a_t, b_t)) {
                    assert!(
                        (*x as f64 - y).abs() <= 1e-4 * (1.0 + y.abs()),
                        "{m}x{n}x{k} {a_t} {b_t}: {x} vs {y}"
                    );
                }
            }
        }
    }

    /// ∂/∂A of Σ C∘R (R random) is R·Bᵀ: a finite-difference check of the GEMM in f32.
    #[test]
    fn matmul_gradient_matches_finite_differences() {
        let (m, n, k) = (4, 3, 5);
        let mut rng = Rng::new(2);
        let a = rand(&mut rng, m * k);
        let b = rand(&mut rng, k * n);
        let r = rand(&mut rng, m * n);
        let f = |a: &[f32]| {
            let mut c = vec![0.0; m * n];
            matmul(a, &b, &mut c, m, n, k, false, false);
            c.iter().zip(&r).map(|(c, r)| (c * r) as f64).sum::<f64>()
        };
        let mut grad = vec![0.0; m * k];
        matmul(&r, &b, &mut grad, m, k, n, false, true);
        for i in 0..m * k {
            let h = 1e-2;
            let mut ap = a.clone();
            ap[i] += h;
            let mut am = a.clone();
            am[i] -= h;
            let fd = (f(&ap) - f(&am)) / (2.0 * h as f64);
            assert!(
                (fd - grad[i] as f64).abs() < 1e-3,
                "{i}: {fd} vs {}",
                grad[i]
            );
        }
    }

    /// Products A·Wᵀ with a weight matrix of [`COLUMN_MAJOR_BYTES`] or more go through a
    /// column-major C: they match the naive sum, and give the bits of the row-major route, so that
    /// choosing the route changes no training (uneven sizes leave partial tiles in the transpose).
    #[test]
    fn column_major_route_matches_naive_and_keeps_the_bits() {
        let mut rng = Rng::new(13);
        for (m, n, k) in [(67, 520, 513), (128, 800, 784), (33, 1030, 300)] {
            assert!(4 * n * k >= COLUMN_MAJOR_BYTES);
            let a = rand(&mut rng, m * k);
            let b = rand(&mut rng, k * n);
            let mut c = vec![f32::NAN; m * n];
            matmul(&a, &b, &mut c, m, n, k, false, true);
            for (x, y) in c.iter().zip(naive(&a, &b, m, n, k, false, true)) {
                assert!((*x as f64 - y).abs() <= 1e-4 * (1.0 + y.abs()), "{m}x{n}x{k}: {x} vs {y}");
            }
            let mut row_major = vec![f32::NAN; m * n];
            let g = Gemm {
                m,
                n,
                k,
                a_t: false,
                b_t: true,
                accumulate: false,
                parallel: rayon::current_num_threads() > 1,
            };
            gemm_into(g, &a, &b, &mut row_major);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert!(bits(&c) == bits(&row_major), "{m}x{n}x{k}: the routes differ");
        }
    }

    /// Products of a few rows (batch-1 inference) take the dot-product path and match the naive sum.
    #[test]
    fn few_row_products_match_naive() {
        let mut rng = Rng::new(12);
        for (m, n, k) in [
            (2, 1024, 3136),
            (2, 10, 800),
            (4, 33, 17),
            (3, 1, 5),
            (2, 700, 1),
        ] {
            let a = rand(&mut rng, m * k);
            let b = rand(&mut rng, k * n);
            let mut c = vec![f32::NAN; m * n];
            matmul(&a, &b, &mut c, m, n, k, false, true);
            for (x, y) in c.iter().zip(naive(&a, &b, m, n, k, false, true)) {
                assert!(
                    (*x as f64 - y).abs() <= 1e-4 * (1.0 + y.abs()),
                    "{m}x{n}x{k}: {x} vs {y}"
                );
            }
        }
    }
}
