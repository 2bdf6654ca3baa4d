//! The CPU kernels: the reference twin of every schedule step's WGSL kernel in `shaders/` (the
//! passes' own, gather and tally, have theirs in [`crate::pass`]), and the CPU backend's compute.
//! Activations are laid out `[step][batch][neuron]`, i.e. row `t·B + b` of a `[T·B, N]` matrix,
//! so that the T steps stack into the rows of one GEMM.

use rayon::prelude::*;

#[cfg(test)]
use crate::hyper::GradMode;
use crate::kernel_params::{AdamStep, ScanParams};
use crate::surrogate::SurrogateParams;

use super::elementwise::{self, AdamRun, FewRowDots, LifStep, Prepared, ScanStep};

/// Neuron-parallel work is cut into chunks of this many neurons.
const CHUNK: usize = 4096;

/// Runs `f(j0, n, a_cols, b_cols)` on each chunk of `n` neurons starting at `j0` of two `[steps][m]`
/// buffers, `a_cols[t]`/`b_cols[t]` being step t's slices: inline when there is one chunk (a batch-1
/// inference must not wait for the pool's threads to wake), on all threads otherwise.
fn for_each_column_pair<'a>(
    a: &'a mut [f32],
    b: &'a mut [f32],
    m: usize,
    f: impl Fn(usize, usize, Vec<&'a mut [f32]>, Vec<&'a mut [f32]>) + Sync,
) {
    let chunks: Vec<_> = column_chunks(a, m, CHUNK)
        .into_iter()
        .zip(column_chunks(b, m, CHUNK))
        .collect();
    let run = |c: usize, (at, bt): (Vec<&'a mut [f32]>, Vec<&'a mut [f32]>)| {
        let n = at[0].len();
        f(c * CHUNK, n, at, bt)
    };
    if chunks.len() == 1 {
        chunks.into_iter().for_each(|x| run(0, x));
    } else {
        chunks
            .into_par_iter()
            .enumerate()
            .for_each(|(c, x)| run(c, x));
    }
}

/// Splits a `[steps][m]` buffer into column chunks: `out[c][t]` is neurons `c·chunk..` of step t.
fn column_chunks(x: &mut [f32], m: usize, chunk: usize) -> Vec<Vec<&mut [f32]>> {
    let mut out: Vec<Vec<&mut [f32]>> = (0..m.div_ceil(chunk)).map(|_| Vec::new()).collect();
    for row in x.chunks_exact_mut(m) {
        for (c, piece) in row.chunks_mut(chunk).enumerate() {
            out[c].push(piece);
        }
    }
    out
}

/// Eq 3–5 for `m` neurons over `steps` steps (`shaders/lif_forward.wgsl`).
///
/// `current` is `[steps][m]`, or `[m]` when `constant` (layer 1: the direct-encoded image gives
/// the same current W·x at every step). With u\[0\] = 0, for t = 1..T:
/// v\[t\] = λ·u\[t−1\] + I\[t\]; s\[t\] = clamp(floor(v\[t\]/V_th), 0, S_max); u\[t\] = v\[t\] − V_th·s\[t\].
/// Writes the pre-reset potentials `v` and the spike counts `s`, both `[steps][m]`.
#[allow(clippy::too_many_arguments)]
pub fn lif_forward(
    current: &[f32],
    constant: bool,
    steps: usize,
    m: usize,
    lambda: f32,
    sp: &SurrogateParams,
    v: &mut [f32],
    s: &mut [f32],
) {
    assert_eq!(current.len(), if constant { m } else { steps * m });
    assert_eq!((v.len(), s.len()), (steps * m, steps * m));
    for_each_column_pair(v, s, m, |j0, n, mut vt, mut st| {
        let mut u = vec![0.0f32; n];
        for t in 0..steps {
            let cur = if constant {
                &current[j0..j0 + n]
            } else {
                &current[t * m + j0..t * m + j0 + n]
            };
            elementwise::run(LifStep {
                lambda,
                v_th: sp.v_th,
                s_max: sp.s_max as f32,
                current: cur,
                u: &mut u,
                v: vt[t],
                s: st[t],
            });
        }
    });
}

/// Eq 6 and the first factor of eq 10 (`shaders/output_error.wgsl`).
///
/// `s` is the output layer's `[steps][batch][classes]`; the desired count y is `target` for the
/// labelled class and 0 elsewhere, at every step. Writes `upstream = (s − y) / batch` (the batch
/// mean is part of the loss) and returns L = Σ_t ½ Σ_i (y_i − s_i\[t\])², averaged over the batch
/// (summed in f64). Also writes each sample's loss, summed in f32 over t and i in order as the
/// GPU does, into `loss` `[batch]`.
pub fn output_error(
    s: &[f32],
    labels: &[u32],
    steps: usize,
    classes: usize,
    target: f32,
    upstream: &mut [f32],
    loss: &mut [f32],
) -> f32 {
    let batch = labels.len();
    assert_eq!(
        (s.len(), upstream.len(), loss.len()),
        (steps * batch * classes, steps * batch * classes, batch)
    );
    for (b, (out, &label)) in loss.iter_mut().zip(labels).enumerate() {
        let mut sum = 0.0f32;
        for t in 0..steps {
            for (i, &s) in s[(t * batch + b) * classes..][..classes].iter().enumerate() {
                let y = if i == label as usize { target } else { 0.0 };
                let e = s - y;
                sum += 0.5 * e * e;
            }
        }
        *out = sum;
    }
    let mut total = 0.0f64;
    for (row, (s, up)) in s
        .chunks_exact(classes)
        .zip(upstream.chunks_exact_mut(classes))
        .enumerate()
    {
        let label = labels[row % batch] as usize;
        for (i, (&s, up)) in s.iter().zip(up).enumerate() {
            let y = if i == label { target } else { 0.0 };
            let e = s - y;
            total += 0.5 * (e as f64) * (e as f64);
            *up = e / batch as f32;
        }
    }
    (total / batch as f64) as f32
}

/// The backward pass through one layer of neurons (`shaders/surrogate_g_scan.wgsl`).
///
/// `upstream` is ∂L/∂s per step: (s − y)/B for the output layer (eq 10), what the layer above passed
/// down for a hidden one. With f′\[t\] = f(v\[t\]) the surrogate of eq 14–16 and δ\[t\] = upstream\[t\] ⊙ f′\[t\]:
/// - paper mode (eq 9–13): G\[t\] = (δ\[t\] + λ G\[t+1\]) / (1 + V_th f′\[t\]), G\[T+1\] = 0. G is eq 11–13's
///   trace e\[t\] = (λ e\[t−1\] + s_in\[t\]) / (1 + V_th f′\[t\]) unrolled backwards in time, so that
///   ∂L/∂W = Σ_t G\[t\]ᵀ s_in\[t\] is one GEMM; the layer below receives Wᵀ δ\[t\] (eq 9, spatial only).
/// - BPTT: G\[t\] = ∂L/∂v\[t\] = δ\[t\] + λ (1 − V_th f′\[t\]) G\[t+1\]; ∂L/∂W = Σ_t G\[t\]ᵀ s_in\[t\] and the
///   layer below receives Wᵀ G\[t\].
///
/// `detach_reset` drops the reset path's factor: 1 + V_th f′ → 1 (paper), 1 − V_th f′ → 1 (BPTT).
/// Writes `delta` and `g`, `[steps][m]`; [`ScanParams::pass_down_g`] says which one feeds the layer below.
#[allow(clippy::too_many_arguments)]
pub fn surrogate_g_scan(
    upstream: &[f32],
    v: &[f32],
    steps: usize,
    m: usize,
    p: &ScanParams,
    delta: &mut [f32],
    g: &mut [f32],
) {
    assert!(upstream.len() == steps * m && v.len() == steps * m);
    assert!(delta.len() == steps * m && g.len() == steps * m);
    let prepared = Prepared::new(&p.sp);
    for_each_column_pair(delta, g, m, |j0, n, mut dt, mut gt| {
        let mut next = vec![0.0f32; n];
        for t in (0..steps).rev() {
            elementwise::run(ScanStep {
                p: &prepared,
                scan: p,
                upstream: &upstream[t * m + j0..t * m + j0 + n],
                v: &v[t * m + j0..t * m + j0 + n],
                next: &mut next,
                delta: dt[t],
                g: gt[t],
            });
        }
    });
}

/// The scan with the surrogate `f` given: the plain definition that [`surrogate_g_scan`]'s vector
/// code is tested against, and that tests with a smooth spike function use.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn scan_with(
    upstream: &[f32],
    v: &[f32],
    steps: usize,
    m: usize,
    p: &ScanParams,
    f: impl Fn(f32) -> f32,
    delta: &mut [f32],
    g: &mut [f32],
) {
    let lambda = p.lambda;
    let v_th = p.sp.v_th;
    for j in 0..m {
        let mut next = 0.0f32;
        for t in (0..steps).rev() {
            let i = t * m + j;
            let f = f(v[i]);
            let d_now = upstream[i] * f;
            let g_now = match (p.mode, p.detach_reset) {
                (GradMode::Paper, false) => (d_now + lambda * next) / (1.0 + v_th * f),
                (GradMode::Paper, true) | (GradMode::Bptt, true) => d_now + lambda * next,
                (GradMode::Bptt, false) => d_now + lambda * (1.0 - v_th * f) * next,
            };
            delta[i] = d_now;
            g[i] = g_now;
            next = g_now;
        }
    }
}

/// Σ_t x\[t\] of a `[steps][m]` buffer into `[m]` (layer 1's ∂L/∂W = (Σ_t G\[t\])ᵀ x).
pub fn sum_steps(x: &[f32], steps: usize, m: usize, out: &mut [f32]) {
    assert_eq!((x.len(), out.len()), (steps * m, m));
    out.copy_from_slice(&x[..m]);
    for row in x.chunks_exact(m).skip(1) {
        for (o, &r) in out.iter_mut().zip(row) {
            *o += r;
        }
    }
}

/// One Adam update (Kingma & Ba): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// w ← w − η·(m / (1−β₁ᵗ)) / (sqrt(v / (1−β₂ᵗ)) + ε).
pub fn adam_update(w: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], p: &AdamStep) {
    assert!(grad.len() == w.len() && m.len() == w.len() && v.len() == w.len());
    let (c1, c2) = p.corrections();
    if w.len() <= CHUNK {
        elementwise::run(AdamRun {
            step: p,
            c1,
            c2,
            w,
            grad,
            m,
            v,
        });
        return;
    }
    w.par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((w, grad), m), v)| {
            elementwise::run(AdamRun {
                step: p,
                c1,
                c2,
                w,
                grad,
                m,
                v,
            })
        });
}

/// C = op(A)·op(B) with C `[m][n]` (`shaders/matmul.wgsl`).
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
    let big = rayon::current_num_threads() > 1 && n * k >= 1 << 18;
    if (m >= 2 || big) && m <= FEW_ROWS && b_t && (!a_t || m == 1) && k > 0 {
        few_rows_times_bt(a, b, c, m, n, k);
        return;
    }
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && m * n * k >= 1 << 16;
    gemm_into(
        Gemm {
            m,
            n,
            k,
            a_t,
            b_t,
            accumulate: false,
            parallel,
        },
        a,
        b,
        c,
    );
}

/// Products of at most this many rows with a matrix stored `[n][k]` (a batch-1 inference's T
/// steps) skip the GEMM. Measured (2-core AVX-512 Xeon): on the FashionMNIST CNN's 3136→1024 layer
/// the `gemm` crate packs the whole 12.8 MB weight matrix for 2 rows (batch-1 inference 5.1 ms,
/// 0.87 ms without it). A single row stays with `gemm`'s matrix–vector path, which was faster than
/// [`FewRowDots`] on one thread (61 against 88 µs for `784-800-10`), unless the matrix is large
/// enough to split over the threads (`784-800-10`: 75 → 38–58 µs, the spread being the pool's
/// threads waking up or not).
const FEW_ROWS: usize = 4;

/// C = A·Bᵀ for 2..=[`FEW_ROWS`] rows of A, B `[n][k]`: each row of B read once, split over the
/// threads by rows of B when B is large.
fn few_rows_times_bt(a: &[f32], b: &[f32], c: &mut [f32], m: usize, n: usize, k: usize) {
    let mut c_t = vec![0.0f32; n * m];
    let threads = rayon::current_num_threads();
    if threads > 1 && n * k >= 1 << 18 {
        let share = n.div_ceil(threads);
        c_t.par_chunks_mut(share * m)
            .zip(b.par_chunks(share * k))
            .for_each(|(out_t, w)| elementwise::run(FewRowDots { x: a, m, w, out_t }));
    } else {
        elementwise::run(FewRowDots {
            x: a,
            m,
            w: b,
            out_t: &mut c_t,
        });
    }
    for (j, col) in c_t.chunks_exact(m).enumerate() {
        for (i, &v) in col.iter().enumerate() {
            c[i * n + j] = v;
        }
    }
}

/// One GEMM's shape and options: C (+)= op(A)·op(B), all row-major.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a_t: bool,
    pub b_t: bool,
    /// Add to C instead of overwriting it.
    pub accumulate: bool,
    /// Use all rayon threads (else the calling thread only).
    pub parallel: bool,
}

/// Runs `g` on slices whose lengths the caller has checked (`a`: m·k, `b`: k·n, `c`: m·n).
pub(crate) fn gemm_into(g: Gemm, a: &[f32], b: &[f32], c: &mut [f32]) {
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
    // (column stride, row stride) of op(A) and op(B) in elements.
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
            1,
            n as isize,
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
    use crate::surrogate::Surrogate;

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

    #[test]
    fn lif_forward_resets_by_subtraction_and_saturates() {
        let sp = SurrogateParams {
            kind: Surrogate::F2,
            v_th: 10.0,
            s_max: 15,
            alpha_h: 1.0,
            alpha_w: 20.0,
        };
        let current = [25.0, -3.0, 400.0, 10.0];
        let (mut v, mut s) = (vec![0.0; 8], vec![0.0; 8]);
        lif_forward(&current, true, 2, 4, 0.9, &sp, &mut v, &mut s);
        assert_eq!(&s[..4], &[2.0, 0.0, 15.0, 1.0]);
        // u = 25 − 20 = 5 → v = 0.9·5 + 25 = 29.5; u = −3 → v = −5.7; u = 250 → 625; u = 0 → 10.
        assert_eq!(&v[4..], &[29.5, -5.7, 625.0, 10.0]);
        assert_eq!(&s[4..], &[2.0, 0.0, 15.0, 1.0]);
    }

    /// The vectorised scan equals its plain definition bit for bit over several steps, in every
    /// mode, for sizes that leave partial chunks and partial lane blocks.
    #[test]
    fn scan_equals_its_plain_definition() {
        let mut rng = Rng::new(10);
        for kind in [Surrogate::F1, Surrogate::F2, Surrogate::F3] {
            let sp = SurrogateParams {
                kind,
                v_th: 10.0,
                s_max: 15,
                alpha_h: 1.0,
                alpha_w: 20.0,
            };
            for (steps, m) in [(1, 5), (2, CHUNK + 37), (5, 333)] {
                let v: Vec<f32> = (0..steps * m)
                    .map(|_| (rng.uniform() * 200.0 - 30.0) as f32)
                    .collect();
                let up = rand(&mut rng, steps * m);
                for mode in [GradMode::Paper, GradMode::Bptt] {
                    for detach_reset in [false, true] {
                        let p = ScanParams {
                            lambda: 0.9,
                            sp,
                            mode,
                            detach_reset,
                        };
                        let (mut d, mut g) = (vec![0.0; steps * m], vec![0.0; steps * m]);
                        surrogate_g_scan(&up, &v, steps, m, &p, &mut d, &mut g);
                        let (mut dr, mut gr) = (vec![0.0; steps * m], vec![0.0; steps * m]);
                        scan_with(&up, &v, steps, m, &p, |v| sp.eval(v), &mut dr, &mut gr);
                        assert!(d.iter().zip(&dr).all(|(a, b)| a.to_bits() == b.to_bits()));
                        assert!(g.iter().zip(&gr).all(|(a, b)| a.to_bits() == b.to_bits()));
                    }
                }
            }
        }
    }

    /// `lif_forward` equals eq 3–5 written as plain loops, for constant and per-step currents.
    #[test]
    fn lif_forward_equals_the_plain_recursion() {
        let sp = SurrogateParams {
            kind: Surrogate::F2,
            v_th: 10.0,
            s_max: 15,
            alpha_h: 1.0,
            alpha_w: 20.0,
        };
        let mut rng = Rng::new(11);
        for (steps, m, constant) in [(2, CHUNK + 5, true), (3, 77, false), (1, 16, false)] {
            let n = if constant { m } else { steps * m };
            let current: Vec<f32> = (0..n).map(|_| (rng.normal() * 60.0) as f32).collect();
            let (mut v, mut s) = (vec![0.0; steps * m], vec![0.0; steps * m]);
            lif_forward(&current, constant, steps, m, 0.9, &sp, &mut v, &mut s);
            for j in 0..m {
                let mut u = 0.0f32;
                for t in 0..steps {
                    let i = if constant {
                        current[j]
                    } else {
                        current[t * m + j]
                    };
                    let pre = 0.9 * u + i;
                    let spikes = sp.spikes(pre);
                    assert_eq!((v[t * m + j], s[t * m + j]), (pre, spikes));
                    u = pre - sp.v_th * spikes;
                }
            }
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

    /// BPTT is exact backpropagation: with the step function of eq 5 replaced by a smooth one
    /// (test-only: s = S_max·σ((v − c)/w), f′ = its derivative) the scan's G = ∂L/∂v equals finite
    /// differences of the forward equations, here for L = Σ_t Σ_j r_j[t]·s_j[t] and ∂L/∂I[t] = G[t].
    #[test]
    fn bptt_matches_finite_differences_of_a_smooth_forward() {
        let (steps, m, lambda, v_th, s_max) = (4, 3, 0.9f32, 10.0f32, 3.0f32);
        let spike = |v: f64| s_max as f64 / (1.0 + (-(v - 15.0) / 6.0).exp());
        let d_spike = |v: f32| {
            let e = spike(v as f64) / s_max as f64;
            (s_max as f64 * e * (1.0 - e) / 6.0) as f32
        };
        // Forward in f64 with the smooth spike function, currents I[t][j].
        let forward = |current: &[f64], r: &[f64]| -> (f64, Vec<f32>) {
            let mut u = vec![0.0f64; m];
            let mut loss = 0.0;
            let mut vs = vec![0.0f32; steps * m];
            for t in 0..steps {
                for j in 0..m {
                    let v = lambda as f64 * u[j] + current[t * m + j];
                    let s = spike(v);
                    u[j] = v - v_th as f64 * s;
                    loss += r[t * m + j] * s;
                    vs[t * m + j] = v as f32;
                }
            }
            (loss, vs)
        };
        let mut rng = Rng::new(8);
        let current: Vec<f64> = (0..steps * m).map(|_| rng.uniform() * 30.0).collect();
        let r: Vec<f64> = (0..steps * m).map(|_| rng.normal()).collect();
        let (_, v) = forward(&current, &r);
        let sp = SurrogateParams {
            kind: Surrogate::F2,
            v_th,
            s_max: 3,
            alpha_h: 1.0,
            alpha_w: 20.0,
        };
        let p = ScanParams {
            lambda,
            sp,
            mode: GradMode::Bptt,
            detach_reset: false,
        };
        let up: Vec<f32> = r.iter().map(|&x| x as f32).collect();
        let (mut delta, mut g) = (vec![0.0; steps * m], vec![0.0; steps * m]);
        scan_with(&up, &v, steps, m, &p, d_spike, &mut delta, &mut g);
        for i in 0..steps * m {
            let h = 1e-3;
            let (mut cp, mut cm) = (current.clone(), current.clone());
            cp[i] += h;
            cm[i] -= h;
            let fd = (forward(&cp, &r).0 - forward(&cm, &r).0) / (2.0 * h);
            assert!(
                (fd - g[i] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "∂L/∂I[{i}]: fd {fd} vs bptt {}",
                g[i]
            );
        }
    }

    /// At T = 1 no step follows, so the reset path carries no gradient in BPTT; the paper's trace
    /// still divides by 1 + V_th·f′ (eq 13), the reset's implicit effect. With that cut
    /// (`detach_reset`) both modes give the same G, and both pass δ = G down.
    #[test]
    fn bptt_equals_paper_mode_at_one_step_with_the_reset_path_cut() {
        let sp = SurrogateParams {
            kind: Surrogate::F2,
            v_th: 10.0,
            s_max: 15,
            alpha_h: 1.0,
            alpha_w: 20.0,
        };
        let mut rng = Rng::new(9);
        let v: Vec<f32> = (0..50)
            .map(|_| (rng.uniform() * 200.0 - 30.0) as f32)
            .collect();
        let up = rand(&mut rng, 50);
        let run = |mode, detach_reset| {
            let p = ScanParams {
                lambda: 0.9,
                sp,
                mode,
                detach_reset,
            };
            let (mut d, mut g) = (vec![0.0; 50], vec![0.0; 50]);
            surrogate_g_scan(&up, &v, 1, 50, &p, &mut d, &mut g);
            (d, g)
        };
        let (bptt_d, bptt_g) = run(GradMode::Bptt, false);
        assert_eq!(run(GradMode::Bptt, true), (bptt_d.clone(), bptt_g.clone()));
        let (paper_d, paper_g) = run(GradMode::Paper, true);
        assert_eq!((paper_d, paper_g), (bptt_d, bptt_g.clone()));
        let (_, paper_full) = run(GradMode::Paper, false);
        assert_ne!(
            paper_full, bptt_g,
            "without the cut, eq 13's denominator makes them differ"
        );
    }

    /// Adam's update of a quadratic bowl heads to its minimum.
    #[test]
    fn adam_minimises_a_quadratic() {
        let mut w = vec![3.0f32, -2.0];
        let (mut m, mut v) = (vec![0.0; 2], vec![0.0; 2]);
        for step in 1..=2000 {
            let g: Vec<f32> = w.iter().map(|w| 2.0 * w).collect();
            adam_update(
                &mut w,
                &g,
                &mut m,
                &mut v,
                &AdamStep {
                    lr: 0.01,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    step,
                },
            );
        }
        assert!(w.iter().all(|w| w.abs() < 1e-2), "{w:?}");
    }
}
