//! The neurons on the CPU, twins of `shaders/neuron/`: the multi-threshold LIF forward pass
//! (eq 3–5, [`lif_forward`]), the loss and its gradient at the output (eq 6 and 10,
//! [`output_error`]), the backward scan through a layer of neurons with its surrogate (eq 9–16,
//! [`surrogate_g_scan`]) and the sum over time steps of eq 13 ([`sum_steps`]).
//!
//! Activations are laid out `[step][batch][neuron]`, i.e. row `t·B + b` of a `[T·B, N]` matrix,
//! so that the T steps stack into the rows of one GEMM.

use rayon::prelude::*;

#[cfg(test)]
use crate::hyper::GradMode;
use crate::kernel_params::ScanParams;
use crate::surrogate::SurrogateParams;

use super::{CHUNK, worth_parallel};
use super::elementwise::{self, LifStep, Prepared, ScanStep};

/// Runs `f(j0, n, a_cols, b_cols, e)` on each chunk of `n` neurons starting at `j0` of two
/// `[steps][m]` buffers, `a_cols[t]`/`b_cols[t]` being step t's slices and `e` the chunk's item of
/// `extra` (one per chunk): inline when there is one chunk (a batch-1 inference must not wait for
/// the pool's threads to wake), on all threads otherwise.
fn for_each_column_pair<'a, E: Send>(
    a: &'a mut [f32],
    b: &'a mut [f32],
    m: usize,
    extra: impl Iterator<Item = E>,
    f: impl Fn(usize, usize, Vec<&'a mut [f32]>, Vec<&'a mut [f32]>, E) + Sync,
) {
    let work = a.len();
    let chunks: Vec<_> = column_chunks(a, m, CHUNK)
        .into_iter()
        .zip(column_chunks(b, m, CHUNK))
        .zip(extra)
        .collect();
    let run = |c: usize, ((at, bt), e): (Columns<'a>, E)| {
        let n = at[0].len();
        f(c * CHUNK, n, at, bt, e)
    };
    if chunks.len() == 1 || !worth_parallel(work) {
        chunks.into_iter().enumerate().for_each(|(c, x)| run(c, x));
    } else {
        chunks
            .into_par_iter()
            .enumerate()
            .for_each(|(c, x)| run(c, x));
    }
}

/// One chunk of neurons of two `[steps][m]` buffers: each buffer's slice at every step.
type Columns<'a> = (Vec<&'a mut [f32]>, Vec<&'a mut [f32]>);

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

/// Eq 3–5 for `m` neurons over `steps` steps (`shaders/neuron/lif_forward.wgsl`).
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
    for_each_column_pair(v, s, m, std::iter::repeat(()), |j0, n, mut vt, mut st, ()| {
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

/// Eq 6 and the first factor of eq 10 (`shaders/neuron/output_error.wgsl`).
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

/// The backward pass through one layer of neurons (`shaders/neuron/surrogate_g_scan.wgsl`).
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
    scan_and_sum(upstream, v, steps, m, p, delta, g, None)
}

/// [`surrogate_g_scan`] followed by [`sum_steps`] of its G into `g_sum` `[m]` (eq 13's Σ_t G\[t\]
/// for a layer whose input is the same at every step): the same values, each chunk's sum taken
/// while its G is in cache instead of in a second pass over the whole `[steps][m]` buffer (the
/// CPU executor runs a schedule's scan and sum this way when the sum follows the scan).
#[allow(clippy::too_many_arguments)]
pub fn surrogate_g_scan_summed(
    upstream: &[f32],
    v: &[f32],
    steps: usize,
    m: usize,
    p: &ScanParams,
    delta: &mut [f32],
    g: &mut [f32],
    g_sum: &mut [f32],
) {
    assert_eq!(g_sum.len(), m);
    scan_and_sum(upstream, v, steps, m, p, delta, g, Some(g_sum))
}

/// [`surrogate_g_scan`], and [`sum_steps`] of G into `g_sum` when given.
#[allow(clippy::too_many_arguments)]
fn scan_and_sum(
    upstream: &[f32],
    v: &[f32],
    steps: usize,
    m: usize,
    p: &ScanParams,
    delta: &mut [f32],
    g: &mut [f32],
    g_sum: Option<&mut [f32]>,
) {
    assert!(upstream.len() == steps * m && v.len() == steps * m);
    assert!(delta.len() == steps * m && g.len() == steps * m);
    let prepared = Prepared::new(&p.sp);
    let sums = g_sum
        .into_iter()
        .flat_map(|s| s.chunks_mut(CHUNK).map(Some))
        .chain(std::iter::repeat_with(|| None));
    for_each_column_pair(delta, g, m, sums, |j0, n, mut dt, mut gt, sum| {
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
        if let Some(sum) = sum {
            add_steps(gt.iter().map(|row| &**row), sum);
        }
    });
}

/// out = Σ_t rows\[t\] (at least one row), added in step order: [`sum_steps`] of one run of values.
fn add_steps<'r>(mut rows: impl Iterator<Item = &'r [f32]>, out: &mut [f32]) {
    out.copy_from_slice(rows.next().expect("one step or more"));
    for row in rows {
        for (o, &r) in out.iter_mut().zip(row) {
            *o += r;
        }
    }
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

/// Σ_t x\[t\] of a `[steps][m]` buffer into `[m]` (layer 1's ∂L/∂W = (Σ_t G\[t\])ᵀ x, eq 13),
/// added in step order. In chunks of [`CHUNK`] outputs over the threads, each chunk's steps added
/// while it is in L1: one pass over memory instead of one per step (the MNIST CNN's conv1 sums
/// 2 × 1.1 M values per batch, on one thread before).
pub fn sum_steps(x: &[f32], steps: usize, m: usize, out: &mut [f32]) {
    assert_eq!((x.len(), out.len()), (steps * m, m));
    let sum = |(c, out): (usize, &mut [f32])| {
        let run = c * CHUNK..c * CHUNK + out.len();
        add_steps(x.chunks_exact(m).map(|row| &row[run.clone()]), out)
    };
    if worth_parallel(x.len()) {
        out.par_chunks_mut(CHUNK).enumerate().for_each(sum);
    } else {
        out.chunks_mut(CHUNK).enumerate().for_each(sum);
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

    /// sum_steps in chunks over the threads gives the bits of the plain sum in step order.
    #[test]
    fn sum_steps_adds_in_step_order() {
        let mut rng = Rng::new(31);
        for (steps, m) in [(1, 5), (2, 3 * CHUNK + 7), (3, 40_001)] {
            let x = rand(&mut rng, steps * m);
            let mut out = vec![f32::NAN; m];
            sum_steps(&x, steps, m, &mut out);
            for (j, &o) in out.iter().enumerate() {
                let mut want = x[j];
                for t in 1..steps {
                    want += x[t * m + j];
                }
                assert_eq!(o.to_bits(), want.to_bits(), "{steps}×{m} at {j}");
            }
        }
    }

    /// The scan with its G summed over steps in the same pass gives the bits of the scan followed
    /// by sum_steps, on one chunk and on many (over the threads).
    #[test]
    fn scan_summed_equals_scan_then_sum_steps() {
        let mut rng = Rng::new(32);
        let sp = SurrogateParams {
            kind: Surrogate::F2,
            v_th: 10.0,
            s_max: 15,
            alpha_h: 1.0,
            alpha_w: 20.0,
        };
        for (steps, m) in [(2, 50), (3, 5 * CHUNK + 3)] {
            let up = rand(&mut rng, steps * m);
            let v: Vec<f32> = (0..steps * m).map(|_| (rng.normal() * 20.0) as f32).collect();
            let p = ScanParams {
                lambda: 0.9,
                sp,
                mode: GradMode::Paper,
                detach_reset: false,
            };
            let (mut d1, mut g1, mut s1) = (vec![0.0; steps * m], vec![0.0; steps * m], vec![0.0; m]);
            surrogate_g_scan(&up, &v, steps, m, &p, &mut d1, &mut g1);
            sum_steps(&g1, steps, m, &mut s1);
            let (mut d2, mut g2, mut s2) = (vec![0.0; steps * m], vec![0.0; steps * m], vec![0.0; m]);
            surrogate_g_scan_summed(&up, &v, steps, m, &p, &mut d2, &mut g2, &mut s2);
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&d1), bits(&d2), "{steps}×{m}: δ");
            assert_eq!(bits(&g1), bits(&g2), "{steps}×{m}: G");
            assert_eq!(bits(&s1), bits(&s2), "{steps}×{m}: Σ_t G");
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
}
