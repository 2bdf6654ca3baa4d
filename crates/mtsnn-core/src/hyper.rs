//! Hyper-parameters of the neuron, the loss and the optimiser, with the paper's Table I defaults.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lr_schedule::LrSchedule;
use crate::surrogate::{Surrogate, SurrogateParams};

/// How the weight gradient is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GradMode {
    /// The paper's backward pass, eq 9–13: δ is purely spatial (eq 9) and time enters through the
    /// implicit trace of eq 11–12, whose reset term divides by 1 + V_th·f′.
    #[default]
    Paper,
    /// Not in the paper, for comparison: backpropagation through the unrolled forward equations
    /// with ∂s/∂v := f′, including ∂u[t]/∂u[t−1] = λ and the reset path ∂u/∂v = 1 − V_th·f′.
    Bptt,
}

impl GradMode {
    /// The name users type: `paper` or `bptt`.
    pub fn name(self) -> &'static str {
        match self {
            GradMode::Paper => "paper",
            GradMode::Bptt => "bptt",
        }
    }
}

impl std::str::FromStr for GradMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "paper" => Ok(GradMode::Paper),
            "bptt" => Ok(GradMode::Bptt),
            _ => Err(Error::InvalidParam {
                name: "grad",
                reason: format!("{s:?} is not one of paper, bptt"),
            }),
        }
    }
}

/// What N_{l−1} of eq 17's mean V_th / N_{l−1} counts. The two agree for dense layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitMean {
    /// The paper's words: "the number of neurons of pre-layer", the whole previous layer
    /// (C·H·W for a convolution's input). Conv filters start with a mean near 0.
    #[default]
    PreLayer,
    /// The inputs one neuron sees (C_in·k·k for a convolution): a conv filter's mean weight is
    /// then V_th / 25 or so, which makes every filter of a layer start as the same blob detector.
    FanIn,
}

impl InitMean {
    /// The name users type: `pre-layer` or `fan-in`.
    pub fn name(self) -> &'static str {
        match self {
            InitMean::PreLayer => "pre-layer",
            InitMean::FanIn => "fan-in",
        }
    }

    /// Runs written before this setting existed used the fan-in.
    fn before_it_existed() -> Self {
        InitMean::FanIn
    }
}

impl std::str::FromStr for InitMean {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "pre-layer" => Ok(InitMean::PreLayer),
            "fan-in" => Ok(InitMean::FanIn),
            _ => Err(Error::InvalidParam {
                name: "init",
                reason: format!("{s:?} is not one of pre-layer, fan-in"),
            }),
        }
    }
}

/// Every parameter of training and inference. `Default` is Table I of the paper with T = 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hyper {
    /// Membrane time constant τ_m (ms); the leak is λ = 1 − 1/τ_m.
    pub tau_m: f32,
    /// Threshold V_th.
    pub v_th: f32,
    /// Most spikes a neuron emits in one step, S_max.
    pub s_max: u32,
    /// Surrogate height α_H (printed α_m in Table I).
    pub alpha_h: f32,
    /// Surrogate width α_W.
    pub alpha_w: f32,
    /// Surrogate of ∂s/∂v (eq 14–16).
    #[serde(with = "surrogate_name")]
    pub surrogate: Surrogate,
    /// Time steps T.
    pub steps: usize,
    /// Desired spike count per step of the true class in the loss (eq 6); other classes want 0.
    pub target_count: f32,
    /// Adam learning rate η.
    pub lr: f32,
    /// Adam β₁.
    pub beta1: f32,
    /// Adam β₂.
    pub beta2: f32,
    /// Adam ε (Table I prints "λ = 1 − 10⁻⁸", the usual ε = 10⁻⁸).
    pub eps: f32,
    /// Gradient computation: the paper's (default) or BPTT.
    pub grad: GradMode,
    /// Cut the reset path from the gradient: the paper mode's trace loses its 1/(1 + V_th·f′)
    /// factor, BPTT its 1 − V_th·f′ factor (as SpikingJelly's `detach_reset`).
    pub detach_reset: bool,
    /// Which N_{l−1} the initial weights' mean V_th / N_{l−1} uses (eq 17).
    #[serde(default = "InitMean::before_it_existed")]
    pub init: InitMean,
    /// The learning rate per epoch (constant in the paper); see [`crate::lr_schedule`].
    pub lr_schedule: LrSchedule,
}

impl Default for Hyper {
    fn default() -> Self {
        Self {
            tau_m: 10.0,
            v_th: 10.0,
            s_max: 15,
            alpha_h: 1.0,
            alpha_w: 20.0,
            surrogate: Surrogate::F2,
            steps: 2,
            target_count: 5.0,
            lr: 0.005,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            grad: GradMode::Paper,
            detach_reset: false,
            init: InitMean::PreLayer,
            lr_schedule: LrSchedule::constant(),
        }
    }
}

impl Hyper {
    /// The leak factor λ = 1 − 1/τ_m of eq 3.
    pub fn lambda(&self) -> f32 {
        1.0 - 1.0 / self.tau_m
    }

    /// The surrogate with this set's parameters.
    pub fn surrogate_params(&self) -> SurrogateParams {
        SurrogateParams {
            kind: self.surrogate,
            v_th: self.v_th,
            s_max: self.s_max,
            alpha_h: self.alpha_h,
            alpha_w: self.alpha_w,
        }
    }

    /// Checks every value is in its meaningful range.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, reason: &str| {
            Err(Error::InvalidParam {
                name,
                reason: reason.to_string(),
            })
        };
        if !(self.tau_m >= 1.0 && self.tau_m.is_finite()) {
            return bad(
                "tau_m",
                "must be ≥ 1 so that the leak λ = 1 − 1/τ_m lies in [0, 1)",
            );
        }
        if !(self.v_th > 0.0 && self.v_th.is_finite()) {
            return bad("v_th", "must be positive");
        }
        if self.s_max == 0 || self.s_max > 1024 {
            return bad("s_max", "must be in 1..=1024");
        }
        if !(self.alpha_h > 0.0 && self.alpha_w > 0.0) {
            return bad("alpha_h/alpha_w", "must be positive");
        }
        if self.steps == 0 || self.steps > 1000 {
            return bad("steps", "must be in 1..=1000");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", "must be positive");
        }
        if !((0.0..1.0).contains(&self.beta1) && (0.0..1.0).contains(&self.beta2)) {
            return bad("beta1/beta2", "must lie in [0, 1)");
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return bad("eps", "must be positive");
        }
        if !(self.target_count >= 0.0 && self.target_count <= self.s_max as f32) {
            return bad("target_count", "must lie in 0..=s_max");
        }
        self.lr_schedule.validate()
    }
}

mod surrogate_name {
    use super::Surrogate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Surrogate, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Surrogate, D::Error> {
        let s = String::deserialize(de)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_table_one() {
        let h = Hyper::default();
        assert_eq!(
            (h.tau_m, h.v_th, h.s_max, h.alpha_h, h.alpha_w),
            (10.0, 10.0, 15, 1.0, 20.0)
        );
        assert_eq!(
            (h.lr, h.beta1, h.beta2, h.eps, h.steps),
            (0.005, 0.9, 0.999, 1e-8, 2)
        );
        assert!((h.lambda() - 0.9).abs() < 1e-7);
        assert_eq!(h.init, InitMean::PreLayer);
        h.validate().unwrap();
    }

    #[test]
    fn json_round_trip_and_validation() {
        let h = Hyper {
            surrogate: Surrogate::F3,
            steps: 5,
            init: InitMean::FanIn,
            ..Hyper::default()
        };
        let back: Hyper = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back, h);
        assert!(
            Hyper {
                s_max: 0,
                ..Hyper::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            Hyper {
                tau_m: 0.5,
                ..Hyper::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn runs_saved_before_init_existed_read_as_fan_in() {
        let old: Hyper = serde_json::from_str(r#"{"lr": 0.001}"#).unwrap();
        assert_eq!((old.init, old.lr), (InitMean::FanIn, 0.001));
        assert_eq!(old.lr_schedule, LrSchedule::constant());
        assert_eq!("pre-layer".parse::<InitMean>().unwrap(), InitMean::PreLayer);
        assert!("xavier".parse::<InitMean>().is_err());
    }
}
