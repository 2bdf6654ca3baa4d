//! The grids of the paper's performance analysis (Section III-D), two comparisons of our own, and
//! the paper's protocol of repeated runs (seeds): which `train` option each varies, over which
//! values, and what it holds fixed.

use std::fmt;

use anyhow::{Result, bail};
use clap::ValueEnum;
use mtsnn_core::hyper::{self, Param};
use serde::{Deserialize, Serialize};

/// A grid of training runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grid {
    /// Fig 6: the surrogates f1, f2, f3 of eq 14–16 with Table I's parameters.
    Surrogate,
    /// Fig 7: α_W ∈ {0.2, 2, 20, 200, 2000} with f2, α_H = 1, T = 2.
    AlphaW,
    /// Fig 8: S_max ∈ {1, 3, …, 15} with f2 at T = 1.
    SMax,
    /// Fig 9: T ∈ {1, …, 5} with f2 at S_max = 1 (train and test accuracy).
    Steps,
    /// Not in the paper: its backward pass (eq 9–13) against BPTT through the unrolled steps.
    Grad,
    /// Not in the paper as such: multi-threshold (S_max = 15) against single-threshold
    /// (S_max = 1) neurons at T = 2.
    ThresholdCount,
    /// The paper's protocol (Tables II–VI: the mean of 5 runs): the same training with seeds
    /// 1…5; the summary gives mean ± std, min and max over the seeds.
    Seed,
}

impl Grid {
    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            Grid::Surrogate => "surrogate",
            Grid::AlphaW => "alpha-w",
            Grid::SMax => "s-max",
            Grid::Steps => "steps",
            Grid::Grad => "grad",
            Grid::ThresholdCount => "threshold-count",
            Grid::Seed => "seed",
        }
    }

    /// The hyper-parameter the grid varies; `None` for the seed.
    pub fn param(self) -> Option<&'static Param> {
        match self {
            Grid::Surrogate => Some(&hyper::SURROGATE),
            Grid::AlphaW => Some(&hyper::ALPHA_W),
            Grid::SMax | Grid::ThresholdCount => Some(&hyper::S_MAX),
            Grid::Steps => Some(&hyper::STEPS),
            Grid::Grad => Some(&hyper::GRAD),
            Grid::Seed => None,
        }
    }

    /// The id of the `train` option the grid varies (its flag with `_` for `-`).
    pub fn option(self) -> &'static str {
        self.param().map_or("seed", |p| p.name)
    }

    /// The value's symbol on an axis or in a label.
    pub fn symbol(self) -> &'static str {
        match self {
            Grid::Surrogate => "surrogate",
            Grid::AlphaW => "α_W",
            Grid::SMax | Grid::ThresholdCount => "S_max",
            Grid::Steps => "time steps T",
            Grid::Grad => "gradient",
            Grid::Seed => "seed",
        }
    }

    /// The figure of the paper the grid repeats, or what it adds.
    pub fn paper_figure(self) -> &'static str {
        match self {
            Grid::Surrogate => "Fig 6",
            Grid::AlphaW => "Fig 7",
            Grid::SMax => "Fig 8",
            Grid::Steps => "Fig 9",
            Grid::Grad => "not in the paper",
            Grid::ThresholdCount => "multi vs single threshold",
            Grid::Seed => "repeated runs, Tables II–VI",
        }
    }

    /// The values of the paper's experiment.
    pub fn default_values(self) -> Vec<String> {
        let v: &[&str] = match self {
            Grid::Surrogate => &["f1", "f2", "f3"],
            Grid::AlphaW => &["0.2", "2", "20", "200", "2000"],
            Grid::SMax => &["1", "3", "5", "7", "9", "11", "13", "15"],
            Grid::Steps => &["1", "2", "3", "4", "5"],
            Grid::Grad => &["paper", "bptt"],
            Grid::ThresholdCount => &["15", "1"],
            Grid::Seed => &["1", "2", "3", "4", "5"],
        };
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The hyper-parameters the paper holds fixed in this experiment, with their values. Options
    /// given on the command line take precedence.
    pub fn fixed(self) -> &'static [(&'static Param, &'static str)] {
        match self {
            Grid::Surrogate | Grid::Grad | Grid::Seed => &[],
            Grid::AlphaW => &[
                (&hyper::SURROGATE, "f2"),
                (&hyper::ALPHA_H, "1"),
                (&hyper::STEPS, "2"),
            ],
            Grid::SMax => &[(&hyper::SURROGATE, "f2"), (&hyper::STEPS, "1")],
            Grid::Steps => &[(&hyper::SURROGATE, "f2"), (&hyper::S_MAX, "1")],
            Grid::ThresholdCount => &[(&hyper::STEPS, "2")],
        }
    }

    /// Checks one value of the grid and returns it in canonical form (`0.20` → `0.2`): a
    /// hyper-parameter's value as [`Param::canonical`] has it, a seed as a whole number.
    pub fn parse_value(self, value: &str) -> Result<String> {
        let v = value.trim();
        let bad = |why: String| -> Result<String> {
            bail!("{v:?} is not a value of the {} grid ({why})", self.name())
        };
        match self.param() {
            Some(param) => param.canonical(v).or_else(|e| bad(e.to_string())),
            None => match v.parse::<u64>() {
                Ok(n) => Ok(n.to_string()),
                _ => bad("a whole number ≥ 0".into()),
            },
        }
    }

    /// How a point is named on the figure's axis.
    pub fn axis_name(self, value: &str) -> String {
        match (self, value) {
            (Grid::ThresholdCount, "1") => "1 (single)".to_string(),
            (Grid::ThresholdCount, v) => format!("{v} (multi)"),
            (_, v) => v.to_string(),
        }
    }
}

impl fmt::Display for Grid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_values_are_valid_and_canonical() {
        for grid in Grid::value_variants() {
            for v in grid.default_values() {
                assert_eq!(grid.parse_value(&v).unwrap(), v, "{grid} {v}");
            }
            assert_eq!(
                grid.to_string(),
                grid.to_possible_value().unwrap().get_name()
            );
        }
        assert_eq!(Grid::AlphaW.parse_value(" 0.20 ").unwrap(), "0.2");
        assert_eq!(Grid::Surrogate.parse_value("F2").unwrap(), "f2");
        assert!(Grid::SMax.parse_value("0").is_err());
        assert!(Grid::AlphaW.parse_value("-1").is_err());
        assert!(Grid::Grad.parse_value("adam").is_err());
        assert_eq!(Grid::ThresholdCount.axis_name("1"), "1 (single)");
        assert_eq!(Grid::Seed.parse_value("007").unwrap(), "7");
        assert!(Grid::Seed.parse_value("-1").is_err());
    }
}
