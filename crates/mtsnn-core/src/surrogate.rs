//! Surrogate derivatives ∂s/∂v of the multi-threshold spike function (paper eq 14–16).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Which of the paper's three surrogates approximates ∂s/∂v.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Surrogate {
    /// Eq 14: Σᵢ i·α_H·exp(−(v − i·V_th)² / (α_W / i)), Gaussians that grow taller and narrower with i.
    F1,
    /// Eq 15: Σᵢ α_H·exp(−(v − i·V_th)² / α_W), equal Gaussians at every threshold (the paper's default).
    #[default]
    F2,
    /// Eq 16: a trapezoid, rising on [0, V_th), flat α_H up to S_max·V_th, falling to 0 at (S_max+1)·V_th.
    F3,
}

impl Surrogate {
    /// The name users type: `f1`, `f2` or `f3`.
    pub fn name(self) -> &'static str {
        match self {
            Surrogate::F1 => "f1",
            Surrogate::F2 => "f2",
            Surrogate::F3 => "f3",
        }
    }

    /// The index used by the WGSL kernels' `SURROGATE` override constant.
    pub fn index(self) -> u32 {
        match self {
            Surrogate::F1 => 1,
            Surrogate::F2 => 2,
            Surrogate::F3 => 3,
        }
    }
}

impl fmt::Display for Surrogate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Surrogate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "f1" => Ok(Surrogate::F1),
            "f2" => Ok(Surrogate::F2),
            "f3" => Ok(Surrogate::F3),
            _ => Err(Error::InvalidParam {
                name: "surrogate",
                reason: format!("{s:?} is not one of f1, f2, f3"),
            }),
        }
    }
}

/// Parameters a surrogate needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SurrogateParams {
    /// Which of eq 14–16.
    pub kind: Surrogate,
    /// Threshold V_th.
    pub v_th: f32,
    /// Most spikes per neuron and step, S_max.
    pub s_max: u32,
    /// Height α_H of the Gaussians (eq 14, 15) or of the trapezoid (eq 16).
    pub alpha_h: f32,
    /// Width α_W of the Gaussians (eq 14, 15).
    pub alpha_w: f32,
}

/// Gaussian terms further than this many widths² from v are below e^-30 ≈ 1e-13 of the nearest
/// term and are skipped: with Table I values only 3–5 of the 15 thresholds contribute.
/// The WGSL twin receives the window radius sqrt(α_W·GAUSS_CUTOFF) as its `RADIUS` override constant.
pub const GAUSS_CUTOFF: f32 = 30.0;

impl SurrogateParams {
    /// The surrogate f(v) ≈ ∂s/∂v at pre-reset potential `v`.
    ///
    /// f1 and f2 sum only the thresholds i·V_th within `sqrt(α_W·30)` of v; the terms left out are
    /// below 1e-13 relative, far under f32 resolution. The WGSL twin (`shaders/neuron/surrogate_g_scan.wgsl`)
    /// uses the same window.
    #[inline]
    pub fn eval(&self, v: f32) -> f32 {
        match self.kind {
            Surrogate::F1 | Surrogate::F2 => {
                let (lo, hi) = self.window(v);
                let inv_w = 1.0 / self.alpha_w;
                let mut sum = 0.0f32;
                for i in lo..=hi {
                    let d = v - i as f32 * self.v_th;
                    sum += if self.kind == Surrogate::F1 {
                        let fi = i as f32;
                        fi * self.alpha_h * exp_neg(-d * d * fi * inv_w)
                    } else {
                        self.alpha_h * exp_neg(-d * d * inv_w)
                    };
                }
                sum
            }
            Surrogate::F3 => {
                let x = v / self.v_th;
                let s_max = self.s_max as f32;
                if v < 0.0 || x >= s_max + 1.0 {
                    0.0
                } else if x < 1.0 {
                    self.alpha_h * x
                } else if x < s_max {
                    self.alpha_h
                } else {
                    // Not α_H·(S_max + 1 − x): that subtraction cancels the rounding of x = v/V_th
                    // near the edge; (S_max+1)·V_th − v is exact there (the WGSL twin does the same).
                    self.alpha_h * ((s_max + 1.0) * self.v_th - v) / self.v_th
                }
            }
        }
    }

    /// The thresholds `lo..=hi` (1-based, clamped to 1..=S_max) whose Gaussian matters at v;
    /// `lo > hi` when none does.
    ///
    /// lo = max(1, ceil((v − r)/V_th)), hi = min(S_max, floor((v + r)/V_th)) with r = sqrt(30·α_W).
    /// Computed with clamps and truncating casts (floor and ceil are library calls on baseline x86-64).
    #[inline]
    fn window(&self, v: f32) -> (i32, i32) {
        let r = (self.alpha_w * GAUSS_CUTOFF).sqrt();
        let s_max = self.s_max as f32;
        let a = ((v - r) / self.v_th).clamp(0.0, s_max + 1.0);
        let t = a as i32;
        let lo = (if (t as f32) < a { t + 1 } else { t }).max(1);
        // Below 0, floor and truncation differ, but the window is then empty either way.
        let hi = ((v + r) / self.v_th).clamp(0.0, s_max) as i32;
        (lo, hi)
    }

    /// The multi-threshold spike count of eq 5: clamp(floor(v / V_th), 0, S_max).
    /// (After clamping to [0, S_max], truncation equals floor.)
    #[inline]
    pub fn spikes(&self, v: f32) -> f32 {
        ((v / self.v_th).clamp(0.0, self.s_max as f32) as u32) as f32
    }
}

/// e^x for x ≤ 0, relative error below 3e-7 (0 under −87, where e^x leaves f32's normal range).
///
/// e^x = 2^n · e^r with n = round(x / ln 2) and r = x − n·ln 2 ∈ [−½ ln 2, ½ ln 2] (ln 2 split into
/// a short exact part and a correction, Cody–Waite, so r keeps full precision); e^r by its Taylor
/// series to degree 6 (the first term left out is below 1.2e-7). The surrogate's Gaussians call it
/// millions of times per batch, and `f32::exp` is a library call.
///
/// Written without branches, casts or calls so that it vectorises (`cpu/elementwise.rs` runs it over
/// lanes): n is rounded by adding and subtracting 1.5·2²³ (the sum's low mantissa bits then hold n),
/// 2^n is built from n's bits, and the limits are selects. Integer arithmetic wraps, so NaN input
/// gives some NaN or number rather than a panic; the callers mask such lanes.
#[inline(always)]
pub(crate) fn exp_neg(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4; // 0.693359375 = 355/512, exact in f32
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³: x + ROUND rounds x to an integer for |x| < 2²²
    let under = x < -87.0;
    let x = if under {
        -87.0
    } else if x > 0.0 {
        0.0
    } else {
        x
    };
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let nf = t - ROUND;
    let n = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let y = p * f32::from_bits((n.wrapping_add(127) as u32) << 23);
    if under { 0.0 } else { y }
}

/// floor(x) for x in [0, 2²²] (NaN and larger values are the caller's to avoid), without the library
/// call `f32::floor` is on baseline x86-64: round to nearest by adding 1.5·2²³, step down if above.
#[inline(always)]
pub(crate) fn floor_small(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    let r = (x + ROUND) - ROUND;
    if r > x { r - 1.0 } else { r }
}

/// x limited to [lo, hi]; NaN gives lo (where `f32::clamp` keeps NaN). Two selects, so it vectorises.
#[inline(always)]
pub(crate) fn clamp_or_lo(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x > lo { x } else { lo };
    if x < hi { x } else { hi }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_neg_is_accurate_on_its_whole_range() {
        let mut worst = 0.0f64;
        for k in 0..=870_000 {
            let x = -(k as f32) * 1e-4;
            let want = (x as f64).exp();
            let got = exp_neg(x) as f64;
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_neg(-100.0), 0.0);
        assert_eq!(exp_neg(0.0), 1.0);
    }

    /// The full sum of eq 14/15 in f64, every threshold included.
    fn full(kind: Surrogate, v: f64, p: &SurrogateParams) -> f64 {
        (1..=p.s_max)
            .map(|i| {
                let i = i as f64;
                let d = v - i * p.v_th as f64;
                match kind {
                    Surrogate::F1 => i * p.alpha_h as f64 * (-d * d * i / p.alpha_w as f64).exp(),
                    _ => p.alpha_h as f64 * (-d * d / p.alpha_w as f64).exp(),
                }
            })
            .sum()
    }

    #[test]
    /// Tolerance 1e-5 relative: the window drops terms below 1e-13 relative; what remains is f32
    /// rounding of the exponent's argument (up to ≈ 40·ε_f32 relative near the window's edge).
    fn windowed_sum_equals_full_sum() {
        for (v_th, s_max, alpha_w) in [
            (10.0, 15, 20.0),
            (1.0, 3, 1.0),
            (10.0, 15, 2000.0),
            (10.0, 15, 0.2),
        ] {
            for kind in [Surrogate::F1, Surrogate::F2] {
                let p = SurrogateParams {
                    kind,
                    v_th,
                    s_max,
                    alpha_h: 1.0,
                    alpha_w,
                };
                for k in -400..2000 {
                    let v = k as f32 * 0.1 * v_th / 10.0;
                    let want = full(kind, v as f64, &p);
                    let got = p.eval(v) as f64;
                    assert!(
                        (got - want).abs() <= 1e-5 * want.abs().max(1e-6),
                        "{kind} v={v}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn spike_count_is_the_staircase_of_eq_5() {
        let p = SurrogateParams {
            kind: Surrogate::F2,
            v_th: 10.0,
            s_max: 15,
            alpha_h: 1.0,
            alpha_w: 20.0,
        };
        assert_eq!(p.spikes(-3.0), 0.0);
        assert_eq!(p.spikes(9.999), 0.0);
        assert_eq!(p.spikes(10.0), 1.0);
        assert_eq!(p.spikes(155.0), 15.0);
        assert_eq!(p.spikes(1e6), 15.0);
    }

    #[test]
    fn names_round_trip() {
        for s in [Surrogate::F1, Surrogate::F2, Surrogate::F3] {
            assert_eq!(s.name().parse::<Surrogate>().unwrap(), s);
        }
        assert!("f4".parse::<Surrogate>().is_err());
    }
}
