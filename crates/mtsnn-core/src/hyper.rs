//! Hyper-parameters of the neuron, the loss and the optimiser, with the paper's Table I defaults.
//!
//! [`Hyper`] holds them; [`PARAMS`] declares each once as users and files see it — its
//! command-line option, help text and default, its key in the JSON of run.json and of a
//! checkpoint's `hyper` metadata, and how its value is written and read as text. The CLI derives
//! `mtsnn train`'s options, the check that a resumed run keeps its checkpoint's values, and the
//! sweep grids' values from that table; a test checks that it covers every field of [`Hyper`].

use serde::{Deserialize, Serialize};

use crate::dataset::InputScale;
use crate::error::{Error, Result};
use crate::lr_schedule::{LrSchedule, ScheduleKind};
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
    /// with ∂s/∂v := f′, including ∂u\[t\]/∂u\[t−1\] = λ and the reset path ∂u/∂v = 1 − V_th·f′.
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

impl std::fmt::Display for GradMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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

impl std::fmt::Display for InitMean {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
///
/// Change what differs from the defaults with the `with_*` methods, or by assigning fields:
///
/// ```
/// use mtsnn_core::Hyper;
/// let hyper = Hyper::default().with_steps(4).with_lr(0.01);
/// assert_eq!((hyper.steps, hyper.s_max), (4, 15));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
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
    /// How a pixel becomes a network input (not stated in the paper); runs saved before this
    /// setting existed read as the default, which they used.
    pub input_scale: InputScale,
    /// Not in the paper: after each epoch, restart an output neuron that fired for none of the
    /// first training images (`crate::train` describes it). Off by default.
    pub guard_dead_classes: bool,
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
            input_scale: InputScale::Standard,
            guard_dead_classes: false,
        }
    }
}

/// `with_<field>(value)` for each field listed: `self` with that field changed. Outside this crate
/// these are how a `#[non_exhaustive]` settings struct is built in one expression.
macro_rules! with_setters {
    ($ty:ty { $($with:ident => $field:ident: $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("`self` with `", stringify!($field), "` set to `value`.")]
                #[must_use]
                pub fn $with(mut self, value: $t) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}
pub(crate) use with_setters;

with_setters!(Hyper {
    with_tau_m => tau_m: f32,
    with_v_th => v_th: f32,
    with_s_max => s_max: u32,
    with_alpha_h => alpha_h: f32,
    with_alpha_w => alpha_w: f32,
    with_surrogate => surrogate: Surrogate,
    with_steps => steps: usize,
    with_target_count => target_count: f32,
    with_lr => lr: f32,
    with_beta1 => beta1: f32,
    with_beta2 => beta2: f32,
    with_eps => eps: f32,
    with_grad => grad: GradMode,
    with_detach_reset => detach_reset: bool,
    with_init => init: InitMean,
    with_lr_schedule => lr_schedule: LrSchedule,
    with_input_scale => input_scale: InputScale,
    with_guard_dead_classes => guard_dead_classes: bool,
});

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
        if !(self.alpha_h > 0.0 && self.alpha_h.is_finite()) {
            return bad("alpha_h", "must be positive");
        }
        if !(self.alpha_w > 0.0 && self.alpha_w.is_finite()) {
            return bad("alpha_w", "must be positive");
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

/// One hyper-parameter as users and files see it. The [`PARAMS`] entry is its one declaration.
#[derive(Debug)]
pub struct Param {
    /// The option's id, its flag with `_` for `-` (`s_max` is `--s-max`).
    pub name: &'static str,
    /// The key of [`Hyper`]'s JSON (run.json's `hyper`, a checkpoint's `hyper` metadata) that holds
    /// it: `eps` for `--adam-eps`; `lr_schedule` for both `--lr-schedule` and `--lr-decay-at`.
    pub key: &'static str,
    /// What `--help` calls the value (`EPS` for `--adam-eps`); `None`: the name in capitals.
    pub value_name: Option<&'static str>,
    /// `--help`'s text; `None` for a parameter that is not on the command line (Adam's β₁, β₂).
    pub help: Option<&'static str>,
    /// A switch (`--detach-reset`, true when given) rather than an option with a value.
    pub switch: bool,
    /// The option's value when not given, where it is not the text of [`Hyper::default`]'s.
    default: Option<&'static str>,
    /// A valid value other than the default, as typed on the command line: the tests take
    /// every parameter through its option, run.json and the checkpoint with it.
    pub example: &'static str,
    get: fn(&Hyper) -> String,
    set: fn(&mut Hyper, &str) -> Result<()>,
}

impl Param {
    /// The command-line flag without its dashes: `s-max`.
    pub fn long(&self) -> String {
        self.name.replace('_', "-")
    }

    /// The command-line flag: `--s-max`.
    pub fn flag(&self) -> String {
        format!("--{}", self.long())
    }

    /// The value in `hyper` as typed on the command line (`0.005`, `f2`, `0.5,0.75`, `true`).
    pub fn get(&self, hyper: &Hyper) -> String {
        (self.get)(hyper)
    }

    /// Sets the value in `hyper` from its text (`"true"`/`"false"` for a switch). The value is
    /// parsed, not range-checked ([`Hyper::validate`] does that). Decay fractions belong to the step
    /// schedule: they are kept only when `hyper`'s schedule is `step`, and setting another schedule
    /// drops them.
    pub fn set(&self, hyper: &mut Hyper, text: &str) -> Result<()> {
        (self.set)(hyper, text)
    }

    /// The option's value when it is not given.
    pub fn default_text(&self) -> String {
        self.default
            .map_or_else(|| self.get(&Hyper::default()), str::to_string)
    }

    /// `text` as a valid value in canonical form (`0.20` → `0.2`, `F2` → `f2`, `007` → `7`): set
    /// and range-checked with every other parameter at its default (but a target count of 0, which
    /// any S_max allows, and a step schedule, which keeps decay fractions).
    pub fn canonical(&self, text: &str) -> Result<String> {
        let mut hyper = Hyper {
            target_count: 0.0,
            lr_schedule: LrSchedule {
                kind: ScheduleKind::Step,
                decay_at: vec![0.5],
                epochs: 1,
                updates_per_epoch: 1,
                warmup: 0.0,
            },
            ..Hyper::default()
        };
        self.set(&mut hyper, text.trim())?;
        hyper.validate()?;
        Ok(self.get(&hyper))
    }
}

/// Parses `text` as the value of parameter `name`; `what` says what it should be.
fn parse<T: std::str::FromStr>(name: &'static str, what: &str, text: &str) -> Result<T> {
    text.trim().parse().map_err(|_| Error::InvalidParam {
        name,
        reason: format!("{text:?} is not {what}"),
    })
}

/// Decay fractions as typed: `0.5,0.75`.
fn fractions(f: &[f32]) -> String {
    f.iter().map(f32::to_string).collect::<Vec<_>>().join(",")
}

/// A parameter whose value is one field of [`Hyper`] written with `Display` and read with
/// `FromStr`: `field(name, field, what)`, where `what` names what a value must be.
macro_rules! field {
    ($name:literal, $field:ident, $what:literal, $example:literal) => {
        Param {
            name: $name,
            key: stringify!($field),
            value_name: None,
            help: None,
            switch: false,
            default: None,
            example: $example,
            get: |h| h.$field.to_string(),
            set: |h, text| {
                h.$field = parse($name, $what, text)?;
                Ok(())
            },
        }
    };
}

/// Declares each hyper-parameter as a constant, and [`PARAMS`] listing them all.
macro_rules! params {
    ($($(#[$doc:meta])* $konst:ident = $param:expr;)*) => {
        $($(#[$doc])* pub const $konst: Param = $param;)*
        /// Every hyper-parameter, in the order `mtsnn train --help` lists the options.
        pub const PARAMS: &[&Param] = &[$(&$konst),*];
    };
}

params! {
    /// Time steps T.
    STEPS = Param {
        help: Some("Time steps T per sample"),
        ..field!("steps", steps, "a whole number", "3")
    };
    /// Adam's learning rate η.
    LR = Param {
        help: Some("Adam learning rate (Table I: 0.005 for MNIST and FashionMNIST)"),
        ..field!("lr", lr, "a number", "0.01")
    };
    /// The shape of the learning-rate schedule; its horizon is set by whoever trains.
    LR_SCHEDULE = Param {
        name: "lr_schedule",
        key: "lr_schedule",
        value_name: Some("SCHEDULE"),
        help: Some(
            "Learning rate per epoch: constant (the paper's), cosine (epoch e of E trains at \
             lr·½(1 + cos(π(e−1)/E)), from lr down towards 0 over the run's --epochs) or step (lr × \
             0.1 after each fraction of the run in --lr-decay-at). The schedule spans --epochs, so a \
             resumed run keeps its --epochs",
        ),
        switch: false,
        default: None,
        example: "step",
        get: |h| h.lr_schedule.kind.to_string(),
        set: |h, text| {
            h.lr_schedule.kind = text.parse()?;
            if h.lr_schedule.kind != ScheduleKind::Step {
                h.lr_schedule.decay_at.clear();
            }
            Ok(())
        },
    };
    /// The step schedule's milestones, as fractions of the run's epochs.
    LR_DECAY_AT = Param {
        name: "lr_decay_at",
        key: "lr_schedule",
        value_name: Some("FRACTIONS"),
        help: Some(
            "For --lr-schedule step: the fractions of --epochs after which the learning rate is \
             multiplied by 0.1, comma-separated and increasing, each rounded to the nearest epoch \
             (0.5,0.75 of 200 epochs: ×0.1 from epoch 101, ×0.01 from epoch 151)",
        ),
        switch: false,
        default: Some("0.5,0.75"),
        example: "0.25,0.5",
        get: |h| fractions(&h.lr_schedule.decay_at),
        set: |h, text| {
            let f = text
                .split(',')
                .map(|w| parse("lr_decay_at", "a number", w))
                .collect::<Result<Vec<f32>>>()?;
            if h.lr_schedule.kind == ScheduleKind::Step {
                h.lr_schedule.decay_at = f;
            }
            Ok(())
        },
    };
    /// Epochs of linear learning-rate warm-up (0: none, the paper's).
    LR_WARMUP = Param {
        name: "lr_warmup",
        key: "lr_schedule",
        value_name: Some("EPOCHS"),
        help: Some(
            "Epochs of linear learning-rate warm-up before --lr-schedule: update t of the first \
             EPOCHS·(updates per epoch) trains at lr·t/(EPOCHS·updates per epoch). 0 (the paper's) \
             for none; may be a fraction (0.5)",
        ),
        switch: false,
        default: None,
        example: "0.5",
        get: |h| h.lr_schedule.warmup.to_string(),
        set: |h, text| {
            h.lr_schedule.warmup = parse("lr_warmup", "a number of epochs", text)?;
            Ok(())
        },
    };
    /// Adam's ε.
    ADAM_EPS = Param {
        value_name: Some("EPS"),
        help: Some(
            "Adam's ε, added to √v̂ in the update's denominator. The paper does not state it \
             (Table I's λ = 1 − 10⁻⁸ is early Adam's decay of β₁, not ε); 10⁻⁸ is Adam's default",
        ),
        ..field!("adam_eps", eps, "a number", "0.0000001")
    };
    /// The surrogate of ∂s/∂v.
    SURROGATE = Param {
        help: Some("Surrogate gradient of the spike function: f1, f2 or f3 (paper eq 14–16)"),
        ..field!("surrogate", surrogate, "one of f1, f2, f3", "f3")
    };
    /// The threshold V_th.
    V_TH = Param {
        help: Some("Firing threshold V_th"),
        ..field!("v_th", v_th, "a number", "8")
    };
    /// The membrane time constant τ_m.
    TAU_M = Param {
        help: Some("Membrane time constant τ_m; the leak is 1 − 1/τ_m"),
        ..field!("tau_m", tau_m, "a number", "5")
    };
    /// S_max, the most spikes per step.
    S_MAX = Param {
        help: Some("Most spikes a neuron may emit in one time step, S_max"),
        ..field!("s_max", s_max, "a whole number", "7")
    };
    /// The surrogate's height α_H.
    ALPHA_H = Param {
        help: Some("Height α_H of the surrogate gradient"),
        ..field!("alpha_h", alpha_h, "a number", "2")
    };
    /// The surrogate's width α_W.
    ALPHA_W = Param {
        help: Some("Width α_W of the surrogate gradient"),
        ..field!("alpha_w", alpha_w, "a number", "10")
    };
    /// The loss's target spike count.
    TARGET_COUNT = Param {
        help: Some(
            "Desired spike count per time step of the true class's output neuron in the loss (the \
             others want 0)",
        ),
        ..field!("target_count", target_count, "a number", "3")
    };
    /// The backward pass.
    GRAD = Param {
        help: Some(
            "Backward pass: paper (eq 9–13) or bptt (backpropagation through the unrolled time \
             steps, for comparison)",
        ),
        ..field!("grad", grad, "one of paper, bptt", "bptt")
    };
    /// Whether the reset path is cut from the gradient.
    DETACH_RESET = Param {
        help: Some("Cut the reset path out of the gradient (as SpikingJelly's detach_reset)"),
        switch: true,
        ..field!("detach_reset", detach_reset, "true or false", "true")
    };
    /// Restart output neurons that fell silent.
    GUARD_DEAD_CLASSES = Param {
        help: Some(
            "Not in the paper: after each epoch, an output neuron that fired for none of the first \
             10,000 training images (a dead class: f2 gives it no gradient to recover) gets new \
             initial weights (eq 17) and fresh Adam moments. Saved with the run; off by default",
        ),
        switch: true,
        ..field!("guard_dead_classes", guard_dead_classes, "true or false", "true")
    };
    /// The mean of the initial weights.
    INIT = Param {
        help: Some(
            "The mean V_th / N of the initial weights (eq 17): pre-layer = N is the size of the \
             whole previous layer, as the paper words it; fan-in = N is the inputs one neuron sees. \
             The two differ for convolutions only: with fan-in every filter starts as the same blob \
             detector, and the MNIST and FashionMNIST CNNs learn much more slowly; with pre-layer a \
             deep network such as the CIFAR-10 one starts with its upper layers silent (training \
             warns when a layer is)",
        ),
        ..field!("init", init, "one of pre-layer, fan-in", "fan-in")
    };
    /// How pixels become inputs.
    INPUT_SCALE = Param {
        help: Some(
            "How a pixel p becomes a network input (the paper does not say): standard = \
             (p/255 − mean)/std with the training set's per-channel mean and std; unit = p/255, in \
             [0, 1]. Recorded in the checkpoint, so eval, infer and export use the same",
        ),
        ..field!("input_scale", input_scale, "one of standard, unit", "unit")
    };
    /// Adam's β₁ (Table I's; not on the command line).
    BETA1 = field!("beta1", beta1, "a number", "0.8");
    /// Adam's β₂ (Table I's; not on the command line).
    BETA2 = field!("beta2", beta2, "a number", "0.99");
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
pub(crate) mod tests {
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

    /// Every parameter set to its sample value (a valid set, with the schedule's horizon).
    pub(crate) fn sample() -> Hyper {
        let mut h = Hyper::default();
        for p in PARAMS {
            p.set(&mut h, p.example).unwrap();
        }
        h.lr_schedule.epochs = 10;
        h.lr_schedule.updates_per_epoch = 4;
        h.validate().unwrap();
        h
    }

    #[test]
    fn params_cover_every_field_and_round_trip_through_json() {
        let json = serde_json::to_value(Hyper::default()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut declared: Vec<&str> = PARAMS.iter().map(|p| p.key).collect();
        keys.sort_unstable();
        declared.sort_unstable();
        declared.dedup();
        assert_eq!(
            keys, declared,
            "every field of Hyper has a Param, and no more"
        );
        let h = sample();
        let back: Hyper = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        for p in PARAMS {
            let value = p.example;
            assert_ne!(
                p.default_text(),
                value,
                "{}: the sample is the default",
                p.name
            );
            assert_eq!(p.get(&back), value, "{}", p.name);
            assert_eq!(
                PARAMS.iter().filter(|q| q.name == p.name).count(),
                1,
                "{}",
                p.name
            );
            assert!(p.help.is_some() || !p.switch, "{}", p.name);
        }
    }

    #[test]
    fn defaults_and_canonical_values() {
        for p in PARAMS {
            assert_eq!(
                p.canonical(&p.default_text()).unwrap(),
                p.default_text(),
                "{}",
                p.name
            );
        }
        assert_eq!(ALPHA_W.canonical(" 0.20 ").unwrap(), "0.2");
        assert_eq!(SURROGATE.canonical("F2").unwrap(), "f2");
        assert_eq!(S_MAX.canonical("007").unwrap(), "7");
        assert_eq!(LR_DECAY_AT.default_text(), "0.5,0.75");
        assert_eq!(ADAM_EPS.flag(), "--adam-eps");
        for (p, bad) in [
            (&S_MAX, "0"),
            (&ALPHA_W, "-1"),
            (&ALPHA_W, "inf"),
            (&GRAD, "adam"),
        ] {
            assert!(p.canonical(bad).is_err(), "{} {bad}", p.name);
        }
        // Decay fractions belong to the step schedule.
        let mut h = Hyper::default();
        LR_DECAY_AT.set(&mut h, "0.5").unwrap();
        assert!(h.lr_schedule.decay_at.is_empty());
        assert!(LR_DECAY_AT.set(&mut h, "0.5,x").is_err());
    }

    #[test]
    fn runs_saved_before_init_existed_read_as_fan_in() {
        let old: Hyper = serde_json::from_str(r#"{"lr": 0.001}"#).unwrap();
        assert_eq!((old.init, old.lr), (InitMean::FanIn, 0.001));
        assert_eq!(old.lr_schedule, LrSchedule::constant());
        assert_eq!(old.input_scale, InputScale::Standard);
        assert_eq!("pre-layer".parse::<InitMean>().unwrap(), InitMean::PreLayer);
        assert!("xavier".parse::<InitMean>().is_err());
    }
}
