//! The CPU's elementwise kernels written for the vector unit: the multi-threshold LIF step (eq 3–5),
//! the surrogates f1/f2/f3 (eq 14–16) fused into the backward scan (eq 9–13), and Adam. Each is a
//! [`Kernel`] run through [`dispatch`], so one binary uses AVX-512, AVX2 or the baseline as the CPU
//! allows (`cpu/simd.rs`).
//!
//! The scalar definitions stay the reference: [`SurrogateParams::eval`] and
//! [`SurrogateParams::spikes`]. The code here computes the same IEEE operations in the same order
//! without branches, casts or library calls, so that the compiler vectorises it; the tests require
//! bit-identical results on every level the machine has.
//!
//! The Gaussian surrogates were the hard part. The reference sums the thresholds i·V_th within
//! r = sqrt(30·α_W) of v, a window whose position depends on v, in a data-dependent loop. Here every
//! lane sums the same number of terms, `Prepared::terms` = the most thresholds a window of width 2r
//! can hold (5 with Table I's V_th = 10 and α_W = 20, of 15), starting at its own window's first
//! threshold and masked past its last: the terms kept and their order are the reference's, and the
//! masked ones add +0.0. Lanes are processed in blocks of [`LANES`] with the loop over terms outside
//! the loop over lanes.

use crate::kernel_params::{AdamStep, ScanParams};
use crate::surrogate::{
    GAUSS_CUTOFF, Surrogate, SurrogateParams, clamp_or_lo, exp_neg, floor_small,
};

use super::simd::{Isa, Kernel, dispatch};

/// Lanes per block: one AVX-512 register of f32, two AVX2 ones.
pub const LANES: usize = 16;

/// The surrogate's constants in the form the lane code uses.
#[derive(Clone, Copy, Debug)]
pub struct Prepared {
    kind: Surrogate,
    v_th: f32,
    s_max: f32,
    alpha_h: f32,
    inv_w: f32,
    /// The window's radius sqrt(30·α_W), as in [`SurrogateParams::eval`].
    radius: f32,
    /// Terms summed per lane: enough for any window, at most S_max.
    terms: usize,
}

impl Prepared {
    /// Prepares the surrogate `sp` (eq 14–16) for the lane code.
    pub fn new(sp: &SurrogateParams) -> Self {
        let radius = (sp.alpha_w * GAUSS_CUTOFF).sqrt();
        // A closed interval of length 2r/V_th holds at most floor(2r/V_th) + 1 integers; the
        // reference's window ends are rounded in f32 (relative error ≈ 1e-7 on values ≤ S_max + 1
        // after clamping), which the 0.01 margin covers.
        let span = (2.0 * radius / sp.v_th + 0.01).floor();
        let terms = if span.is_finite() && span < sp.s_max as f32 {
            span as usize + 1
        } else {
            sp.s_max as usize
        };
        Self {
            kind: sp.kind,
            v_th: sp.v_th,
            s_max: sp.s_max as f32,
            alpha_h: sp.alpha_h,
            inv_w: 1.0 / sp.alpha_w,
            radius,
            terms: terms.min(sp.s_max as usize),
        }
    }

    /// f(v) for one block of lanes: [`SurrogateParams::eval`], bit for bit.
    #[inline(always)]
    fn eval_lanes(&self, v: &[f32; LANES]) -> [f32; LANES] {
        match self.kind {
            Surrogate::F1 => self.gauss_lanes::<true>(v),
            Surrogate::F2 => self.gauss_lanes::<false>(v),
            Surrogate::F3 => {
                let mut out = [0.0f32; LANES];
                for l in 0..LANES {
                    out[l] = self.trapezoid(v[l]);
                }
                out
            }
        }
    }

    /// Eq 14 (`F1`) or eq 15: the Gaussians at the thresholds of each lane's window.
    #[inline(always)]
    fn gauss_lanes<const F1: bool>(&self, v: &[f32; LANES]) -> [f32; LANES] {
        let mut lo = [0.0f32; LANES];
        let mut hi = [0.0f32; LANES];
        for l in 0..LANES {
            // lo = max(1, ceil((v − r)/V_th)), hi = min(S_max, floor((v + r)/V_th)), as the reference.
            let a = clamp_or_lo((v[l] - self.radius) / self.v_th, 0.0, self.s_max + 1.0);
            let fa = floor_small(a);
            let up = if fa < a { fa + 1.0 } else { fa };
            lo[l] = if up < 1.0 { 1.0 } else { up };
            hi[l] = floor_small(clamp_or_lo(
                (v[l] + self.radius) / self.v_th,
                0.0,
                self.s_max,
            ));
        }
        let mut sum = [0.0f32; LANES];
        for k in 0..self.terms {
            for l in 0..LANES {
                let i = lo[l] + k as f32;
                let d = v[l] - i * self.v_th;
                let term = if F1 {
                    i * self.alpha_h * exp_neg(-d * d * i * self.inv_w)
                } else {
                    self.alpha_h * exp_neg(-d * d * self.inv_w)
                };
                sum[l] += if i <= hi[l] { term } else { 0.0 };
            }
        }
        sum
    }

    /// Eq 16 with selects.
    #[inline(always)]
    fn trapezoid(&self, v: f32) -> f32 {
        let x = v / self.v_th;
        let ramp = if x < 1.0 {
            self.alpha_h * x
        } else if x < self.s_max {
            self.alpha_h
        } else {
            self.alpha_h * ((self.s_max + 1.0) * self.v_th - v) / self.v_th
        };
        if v < 0.0 || x >= self.s_max + 1.0 {
            0.0
        } else {
            ramp
        }
    }
}

/// The blocks of `n` lanes: `(start, len)` with `len` = [`LANES`] but for the last. (A loop
/// rather than a closure-taking helper: closures are separate functions the compiler may leave
/// uninlined, and so compiled without the dispatching function's instruction set.)
#[inline(always)]
fn blocks(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n)
        .step_by(LANES)
        .map(move |start| (start, LANES.min(n - start)))
}

/// Copies `x[start..start + len]` into a block, zero-padded.
#[inline(always)]
fn load(x: &[f32], start: usize, len: usize) -> [f32; LANES] {
    let mut b = [0.0f32; LANES];
    if len == LANES {
        b.copy_from_slice(&x[start..start + LANES]);
    } else {
        b[..len].copy_from_slice(&x[start..start + len]);
    }
    b
}

/// Copies a block's first `len` lanes into `x[start..start + len]`. A whole block is a copy of a
/// constant length, moved inline: `copy_from_slice` of a variable `len` called `memcpy` three
/// times per block of the scan (≈ 3 % of the MNIST CNN's training in `perf`, as `memmove`).
#[inline(always)]
fn store(b: &[f32; LANES], x: &mut [f32], start: usize, len: usize) {
    if len == LANES {
        x[start..start + LANES].copy_from_slice(b);
    } else {
        x[start..start + len].copy_from_slice(&b[..len]);
    }
}

/// f(v) of every element (tests; the training path fuses it into [`ScanStep`]).
pub struct SurrogateEval<'a> {
    /// The surrogate.
    pub p: &'a Prepared,
    /// Membrane potentials v.
    pub v: &'a [f32],
    /// f(v), as long as `v`.
    pub out: &'a mut [f32],
}

impl Kernel for SurrogateEval<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        assert_eq!(self.v.len(), self.out.len());
        for (start, len) in blocks(self.v.len()) {
            let f = self.p.eval_lanes(&load(self.v, start, len));
            store(&f, self.out, start, len);
        }
    }
}

/// One step of eq 3–5 for a run of neurons: v = λ·u + I; s = clamp(floor(v/V_th), 0, S_max);
/// u ← v − V_th·s. Bit-identical to [`SurrogateParams::spikes`] and the reference loop.
pub struct LifStep<'a> {
    /// Leak λ = 1 − 1/τ_m.
    pub lambda: f32,
    /// Threshold V_th.
    pub v_th: f32,
    /// Most spikes per neuron and step, S_max.
    pub s_max: f32,
    /// Input current I of this step.
    pub current: &'a [f32],
    /// Membrane potential after reset u, carried from the previous step and updated.
    pub u: &'a mut [f32],
    /// Written: the potential v before reset.
    pub v: &'a mut [f32],
    /// Written: the spike counts s.
    pub s: &'a mut [f32],
}

impl Kernel for LifStep<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (lambda, v_th, s_max) = (self.lambda, self.v_th, self.s_max);
        for (((u, &i), v), s) in self
            .u
            .iter_mut()
            .zip(self.current)
            .zip(self.v.iter_mut())
            .zip(self.s.iter_mut())
        {
            let pre = lambda * *u + i;
            let spikes = floor_small(clamp_or_lo(pre / v_th, 0.0, s_max));
            *v = pre;
            *s = spikes;
            *u = pre - v_th * spikes;
        }
    }
}

/// One step, backwards in time, of the scan of eq 9–13 for a run of neurons, with the surrogate
/// fused in: f′ = f(v); δ = upstream·f′; G = (δ + λ·a·G_next) / b, where a = 1 − V_th·f′ (BPTT
/// with the reset path) or 1, and b = 1 + V_th·f′ (paper mode with the reset path) or 1 — the
/// expressions of the reference `surrogate_g_scan`, in its order. `next` holds G\[t+1\] and becomes G\[t\].
pub struct ScanStep<'a> {
    /// The surrogate f.
    pub p: &'a Prepared,
    /// λ, the gradient mode and whether the reset path is cut.
    pub scan: &'a ScanParams,
    /// ∂L/∂s of this step, from the loss or the layer above.
    pub upstream: &'a [f32],
    /// This step's potentials v before reset, saved by the forward pass.
    pub v: &'a [f32],
    /// G\[t+1\] on entry, G\[t\] on return.
    pub next: &'a mut [f32],
    /// Written: δ\[t\] = upstream · f′.
    pub delta: &'a mut [f32],
    /// Written: G\[t\].
    pub g: &'a mut [f32],
}

impl Kernel for ScanStep<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        use crate::hyper::GradMode;
        let (lambda, v_th) = (self.scan.lambda, self.p.v_th);
        let keep_reset = !self.scan.detach_reset;
        let in_den = keep_reset && self.scan.mode == GradMode::Paper;
        let in_num = keep_reset && self.scan.mode == GradMode::Bptt;
        let n = self.v.len();
        for (start, len) in blocks(n) {
            let f = self.p.eval_lanes(&load(self.v, start, len));
            let up = load(self.upstream, start, len);
            let next = load(self.next, start, len);
            let mut d = [0.0f32; LANES];
            let mut g = [0.0f32; LANES];
            for l in 0..LANES {
                d[l] = up[l] * f[l];
                let a = if in_num { 1.0 - v_th * f[l] } else { 1.0 };
                let b = if in_den { 1.0 + v_th * f[l] } else { 1.0 };
                g[l] = (d[l] + lambda * a * next[l]) / b;
            }
            store(&d, self.delta, start, len);
            store(&g, self.g, start, len);
            store(&g, self.next, start, len);
        }
    }
}

/// Adam on a run of weights: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// w ← w − η·(m / c₁) / (sqrt(v / c₂) + ε), with the bias corrections c₁, c₂.
pub struct AdamRun<'a> {
    /// η, β₁, β₂ and ε.
    pub step: &'a AdamStep,
    /// Bias correction of the first moment, 1 − β₁^step.
    pub c1: f32,
    /// Bias correction of the second moment, 1 − β₂^step.
    pub c2: f32,
    /// The weights, updated.
    pub w: &'a mut [f32],
    /// Their gradient g.
    pub grad: &'a [f32],
    /// First-moment estimate m, updated.
    pub m: &'a mut [f32],
    /// Second-moment estimate v, updated.
    pub v: &'a mut [f32],
}

impl Kernel for AdamRun<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let p = self.step;
        let (c1, c2) = (self.c1, self.c2);
        for (((w, &g), m), v) in self
            .w
            .iter_mut()
            .zip(self.grad)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *m = p.beta1 * *m + (1.0 - p.beta1) * g;
            *v = p.beta2 * *v + (1.0 - p.beta2) * g * g;
            *w -= p.lr * (*m / c1) / ((*v / c2).sqrt() + p.eps);
        }
    }
}

/// Runs `k` on the process's instruction set ([`super::simd::active`]).
#[inline]
pub fn run<K: Kernel>(k: K) -> K::Output {
    dispatch(super::simd::active(), k)
}

/// Runs `k` on a given instruction set (tests force each level in turn).
#[inline]
pub fn run_on<K: Kernel>(isa: Isa, k: K) -> K::Output {
    dispatch(isa, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper::GradMode;
    use crate::rng::Rng;

    /// Potentials that exercise every branch of the reference: at, just below and just above
    /// multiples of V_th, between them, negative, far beyond saturation, and the odd values.
    fn potentials(v_th: f32, s_max: u32, rng: &mut Rng) -> Vec<f32> {
        let mut v = Vec::new();
        for i in -3..=(s_max as i32 + 4) {
            let c = i as f32 * v_th;
            v.extend([
                c,
                f32::from_bits(c.to_bits().wrapping_sub(1)),
                f32::from_bits(c.to_bits() + 1),
                c + 0.5 * v_th,
                c - 1e-3,
                c + 1e-3,
            ]);
        }
        v.extend([
            0.0,
            -0.0,
            1e6,
            -1e6,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        v.extend(
            (0..3000)
                .map(|_| ((rng.uniform() * 1.4 - 0.2) * (s_max as f64 + 2.0) * v_th as f64) as f32),
        );
        v.extend((0..300).map(|_| (rng.normal() * 1e3) as f32));
        // Whole blocks of silent potentials, near 0 and far below the first threshold (windows of a
        // few terms or none).
        v.extend((0..2 * LANES).map(|j| (j as f32 - 16.0) * 0.01 * v_th));
        v.extend((0..2 * LANES).map(|j| -(3.0 + j as f32) * v_th));
        v
    }

    fn params() -> Vec<SurrogateParams> {
        let mut out = Vec::new();
        for kind in [Surrogate::F1, Surrogate::F2, Surrogate::F3] {
            for (v_th, s_max, alpha_h, alpha_w) in [
                (10.0, 15, 1.0, 20.0), // Table I
                (10.0, 15, 1.0, 0.2),
                (10.0, 15, 1.0, 2000.0),
                (1.0, 3, 0.5, 1.0),
                (10.0, 1, 1.0, 20.0),
                (0.7, 40, 2.0, 3.0),
            ] {
                out.push(SurrogateParams {
                    kind,
                    v_th,
                    s_max,
                    alpha_h,
                    alpha_w,
                });
            }
        }
        out
    }

    fn same_bits(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Every surrogate on every instruction set this CPU has equals the reference bit for bit.
    #[test]
    fn surrogate_lanes_equal_the_reference_on_every_level() {
        let mut rng = Rng::new(21);
        for sp in params() {
            let p = Prepared::new(&sp);
            let v = potentials(sp.v_th, sp.s_max, &mut rng);
            let want: Vec<f32> = v.iter().map(|&v| sp.eval(v)).collect();
            for isa in Isa::all_supported() {
                let mut out = vec![f32::NAN; v.len()];
                run_on(
                    isa,
                    SurrogateEval {
                        p: &p,
                        v: &v,
                        out: &mut out,
                    },
                );
                for ((&v, &got), &want) in v.iter().zip(&out).zip(&want) {
                    assert!(same_bits(got, want), "{isa} {sp:?} v={v}: {got} vs {want}");
                }
            }
        }
    }

    /// The LIF step equals the reference spike count and reset on every level.
    #[test]
    fn lif_step_equals_the_reference_on_every_level() {
        let mut rng = Rng::new(22);
        for sp in params() {
            let current = potentials(sp.v_th, sp.s_max, &mut rng);
            let n = current.len();
            let u0: Vec<f32> = (0..n).map(|_| (rng.normal() * 5.0) as f32).collect();
            for isa in Isa::all_supported() {
                let mut u = u0.clone();
                let (mut v, mut s) = (vec![0.0; n], vec![0.0; n]);
                run_on(
                    isa,
                    LifStep {
                        lambda: 0.9,
                        v_th: sp.v_th,
                        s_max: sp.s_max as f32,
                        current: &current,
                        u: &mut u,
                        v: &mut v,
                        s: &mut s,
                    },
                );
                for j in 0..n {
                    let pre = 0.9 * u0[j] + current[j];
                    let spikes = sp.spikes(pre);
                    assert!(same_bits(v[j], pre), "{isa}: v {} vs {pre}", v[j]);
                    assert!(
                        same_bits(s[j], spikes),
                        "{isa} v={pre}: s {} vs {spikes}",
                        s[j]
                    );
                    let reset = pre - sp.v_th * spikes;
                    assert!(same_bits(u[j], reset), "{isa}: u {} vs {reset}", u[j]);
                }
            }
        }
    }

    /// One scan step equals the reference expressions in every mode, on every level.
    #[test]
    fn scan_step_equals_the_reference_on_every_level() {
        let mut rng = Rng::new(23);
        for sp in params() {
            let v = potentials(sp.v_th, sp.s_max, &mut rng);
            let n = v.len();
            let up: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
            let next0: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
            let p = Prepared::new(&sp);
            for mode in [GradMode::Paper, GradMode::Bptt] {
                for detach_reset in [false, true] {
                    let scan = ScanParams {
                        lambda: 0.9,
                        sp,
                        mode,
                        detach_reset,
                    };
                    for isa in Isa::all_supported() {
                        let mut next = next0.clone();
                        let (mut d, mut g) = (vec![0.0; n], vec![0.0; n]);
                        run_on(
                            isa,
                            ScanStep {
                                p: &p,
                                scan: &scan,
                                upstream: &up,
                                v: &v,
                                next: &mut next,
                                delta: &mut d,
                                g: &mut g,
                            },
                        );
                        for j in 0..n {
                            let f = sp.eval(v[j]);
                            let dn = up[j] * f;
                            let gn = match (mode, detach_reset) {
                                (GradMode::Paper, false) => {
                                    (dn + 0.9 * next0[j]) / (1.0 + sp.v_th * f)
                                }
                                (_, true) => dn + 0.9 * next0[j],
                                (GradMode::Bptt, false) => {
                                    dn + 0.9 * (1.0 - sp.v_th * f) * next0[j]
                                }
                            };
                            assert!(same_bits(d[j], dn), "{isa} {mode:?}: δ {} vs {dn}", d[j]);
                            assert!(
                                same_bits(g[j], gn),
                                "{isa} {mode:?} {detach_reset} v={}: G {} vs {gn}",
                                v[j],
                                g[j]
                            );
                            assert!(same_bits(next[j], gn));
                        }
                    }
                }
            }
        }
    }

    /// Adam on every level against a plain loop.
    #[test]
    fn adam_equals_a_plain_loop_on_every_level() {
        let mut rng = Rng::new(24);
        let n = 1000;
        let rand = |rng: &mut Rng| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
        let (w0, grad, m0) = (rand(&mut rng), rand(&mut rng), rand(&mut rng));
        let v0: Vec<f32> = rand(&mut rng).iter().map(|x| x * x).collect();
        let step = AdamStep {
            lr: 0.005,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 7,
        };
        let (c1, c2) = step.corrections();
        for isa in Isa::all_supported() {
            let (mut w, mut m, mut v) = (w0.clone(), m0.clone(), v0.clone());
            run_on(
                isa,
                AdamRun {
                    step: &step,
                    c1,
                    c2,
                    w: &mut w,
                    grad: &grad,
                    m: &mut m,
                    v: &mut v,
                },
            );
            for i in 0..n {
                let mm = 0.9 * m0[i] + (1.0 - 0.9) * grad[i];
                let vv = 0.999 * v0[i] + (1.0 - 0.999) * grad[i] * grad[i];
                let ww = w0[i] - 0.005 * (mm / c1) / ((vv / c2).sqrt() + 1e-8);
                assert!(
                    same_bits(m[i], mm) && same_bits(v[i], vv) && same_bits(w[i], ww),
                    "{isa} {i}"
                );
            }
        }
    }
}
