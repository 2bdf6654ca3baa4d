//! The paper's Figs 4–5: the multi-threshold spike count s(u) of eq 5 (a staircase with steps at
//! u = n·V_th, flat at S_max) and the three surrogates f1, f2, f3 of eq 14–16 that stand in for its
//! derivative. Every plotted value is computed by the engine ([`SurrogateParams::spikes`] and
//! [`SurrogateParams::eval`]), so the figure shows what training uses.

use anyhow::Result;
use mtsnn_core::{Surrogate, SurrogateParams};

use super::chart::{LegendAt, Line, Panel, Stroke, XAxis, colour, padded_range};
use super::figure::Figure;

/// The surrogates in the order of the paper.
pub const KINDS: [Surrogate; 3] = [Surrogate::F1, Surrogate::F2, Surrogate::F3];

/// Samples of s(u) and f1..f3(u) on an even grid of u.
#[derive(Clone, Debug, PartialEq)]
pub struct SurrogateSamples {
    pub v_th: f32,
    pub s_max: u32,
    pub alpha_h: f32,
    pub alpha_w: f32,
    /// The membrane potentials u, from −V_th to (S_max + 2)·V_th.
    pub u: Vec<f32>,
    /// s(u), eq 5.
    pub spikes: Vec<f32>,
    /// f1(u), f2(u), f3(u), eq 14–16.
    pub f: [Vec<f32>; 3],
}

impl SurrogateSamples {
    /// `n` ≥ 2 samples of every curve with the given parameters.
    pub fn new(v_th: f32, s_max: u32, alpha_h: f32, alpha_w: f32, n: usize) -> Self {
        let params = |kind| SurrogateParams {
            kind,
            v_th,
            s_max,
            alpha_h,
            alpha_w,
        };
        let (lo, hi) = (-v_th, (s_max as f32 + 2.0) * v_th);
        let u: Vec<f32> = (0..n)
            .map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32)
            .collect();
        let spikes = u.iter().map(|&u| params(Surrogate::F2).spikes(u)).collect();
        let f = KINDS.map(|kind| u.iter().map(|&u| params(kind).eval(u)).collect());
        Self {
            v_th,
            s_max,
            alpha_h,
            alpha_w,
            u,
            spikes,
            f,
        }
    }

    /// The samples as CSV with the header `u,s,f1,f2,f3`; numbers in Rust's shortest round-trip
    /// form, so reading them back gives the plotted f32 values exactly.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("u,s,f1,f2,f3\n");
        for i in 0..self.u.len() {
            out += &format!(
                "{},{},{},{},{}\n",
                self.u[i], self.spikes[i], self.f[0][i], self.f[1][i], self.f[2][i]
            );
        }
        out
    }

    /// The figure: s(u) on the left (Fig 4), the surrogates on the right (Fig 5).
    pub fn figure(&self, command: &str) -> Result<Figure> {
        let x_range = f64::from(self.u[0])..f64::from(*self.u.last().unwrap_or(&1.0));
        let points = |ys: &[f32]| -> Vec<(f64, f64)> {
            self.u
                .iter()
                .zip(ys)
                .map(|(&u, &y)| (f64::from(u), f64::from(y)))
                .collect()
        };
        let settings = format!(
            "V_th = {}, S_max = {}, α_H = {}, α_W = {}",
            self.v_th, self.s_max, self.alpha_h, self.alpha_w
        );
        let staircase = Panel {
            title: "spike count s(u), eq 5 (Fig 4)".into(),
            x_label: "membrane potential u".into(),
            y_label: "spikes per step s".into(),
            x_range: x_range.clone(),
            y_range: -0.2..self.s_max as f64 + 0.8,
            x_axis: XAxis::Numeric,
            lines: vec![Line {
                label: Some("s = clamp(⌊u / V_th⌋, 0, S_max)".into()),
                colour: colour(6),
                stroke: Stroke::Solid,
                markers: false,
                points: points(&self.spikes),
            }],
            legend: LegendAt::UpperLeft,
        };
        let top = padded_range(self.f.iter().flatten().map(|&v| f64::from(v)), 0.0)
            .map_or(1.0, |r| r.end);
        let surrogates = Panel {
            title: "surrogates of ∂s/∂u, eq 14–16 (Fig 5)".into(),
            x_label: "membrane potential u".into(),
            y_label: "f(u)".into(),
            x_range,
            y_range: -0.05 * top..1.25 * top,
            x_axis: XAxis::Numeric,
            lines: KINDS
                .iter()
                .zip(&self.f)
                .enumerate()
                .map(|(i, (kind, ys))| Line {
                    label: Some(format!("{kind} (eq {})", 14 + i)),
                    colour: colour(i),
                    stroke: Stroke::Solid,
                    markers: false,
                    points: points(ys),
                })
                .collect(),
            legend: LegendAt::UpperRight,
        };
        Figure::draw(
            1400,
            560,
            &format!("Spike count and surrogate gradients, {settings}"),
            command,
            |area| {
                let halves = area.split_evenly((1, 2));
                staircase.draw(&halves[0])?;
                surrogates.draw(&halves[1])
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fig 5's setting: S_max = 3, α_H = α_W = V_th = 1. The closed forms, term by term.
    #[test]
    fn samples_equal_the_closed_forms() {
        let s = SurrogateSamples::new(1.0, 3, 1.0, 1.0, 601);
        assert_eq!((s.u[0], *s.u.last().unwrap()), (-1.0, 5.0));
        for (i, &u) in s.u.iter().enumerate() {
            let u = f64::from(u);
            let f1: f64 = (1..=3)
                .map(|k| {
                    let k = f64::from(k);
                    k * (-(u - k).powi(2) * k).exp()
                })
                .sum();
            let f2: f64 = (1..=3).map(|k| (-(u - f64::from(k)).powi(2)).exp()).sum();
            let f3 = match u {
                u if !(0.0..4.0).contains(&u) => 0.0,
                u if u < 1.0 => u,
                u if u < 3.0 => 1.0,
                u => 4.0 - u,
            };
            for (got, want) in s.f.iter().map(|f| f64::from(f[i])).zip([f1, f2, f3]) {
                assert!((got - want).abs() < 1e-5, "u = {u}: {got} vs {want}");
            }
            if (u - u.round()).abs() > 1e-4 {
                assert_eq!(f64::from(s.spikes[i]), u.floor().clamp(0.0, 3.0), "u = {u}");
            }
        }
        let csv = s.to_csv();
        assert!(csv.starts_with("u,s,f1,f2,f3\n-1,0,"));
        assert_eq!(csv.lines().count(), 602);
    }
}
