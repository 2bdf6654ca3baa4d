//! Learning-rate schedules: the factor on Adam's η for each update. The paper trains at a constant
//! η (Table I), the default; `cosine` and `step` are there to test whether a schedule the paper
//! does not state closes a gap to its figures.
//!
//! A schedule changes η once per epoch, as PyTorch's `CosineAnnealingLR` and `MultiStepLR` stepped
//! after every epoch do. Epoch e (1-based) of a run of E epochs trains at η·factor(e):
//! - `constant`: 1;
//! - `cosine`: ½·(1 + cos(π·(e − 1)/E)), from 1 in the first epoch down towards 0 (η·π²/(4E²)
//!   or so in the last);
//! - `step`: 0.1^k, k = how many milestones M_i = round(f_i·E) lie before e (e > M_i), for the
//!   fractions f_i of `decay_at` (e.g. 0.5, 0.75 of 200 epochs: ×0.1 from epoch 101, ×0.01 from
//!   epoch 151).
//!
//! A linear warm-up may precede any of them (`--lr-warmup W`, W epochs, 0 by default as in the
//! paper): update t of the first W·(updates per epoch) trains at t/(W·updates per epoch) of the
//! schedule's η, so the first updates are small. It was added to study output neurons that die
//! in the first epoch (docs/results.md, "Dead classes").
//!
//! The backends see only Adam's update count, so a schedule holds its horizon: the run's epochs
//! and the updates per epoch (⌈training samples / batch⌉), both set by whoever trains. Update t
//! (1-based) belongs to epoch ⌊(t − 1)/updates per epoch⌋ + 1. `kernel_params::AdamStep`
//! applies the factor, so both backends follow the same schedule.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The shape of a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// η throughout, as in the paper.
    #[default]
    Constant,
    /// Cosine annealing from η to 0 over the run's epochs.
    Cosine,
    /// η × 0.1 after each milestone (fractions of the run's epochs).
    Step,
}

impl ScheduleKind {
    /// The name users type: `constant`, `cosine` or `step`.
    pub fn name(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "constant",
            ScheduleKind::Cosine => "cosine",
            ScheduleKind::Step => "step",
        }
    }
}

impl std::fmt::Display for ScheduleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ScheduleKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "constant" => Ok(ScheduleKind::Constant),
            "cosine" => Ok(ScheduleKind::Cosine),
            "step" => Ok(ScheduleKind::Step),
            _ => Err(Error::InvalidParam {
                name: "lr_schedule",
                reason: format!("{s:?} is not one of constant, cosine, step"),
            }),
        }
    }
}

/// The step schedule's factor at each milestone.
pub const STEP_FACTOR: f64 = 0.1;

/// A learning-rate schedule with its horizon. `Default` is the paper's constant η.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LrSchedule {
    /// Constant, step or cosine.
    pub kind: ScheduleKind,
    /// `step` only: the fractions of the run's epochs after which η is multiplied by 0.1,
    /// increasing, each in (0, 1).
    pub decay_at: Vec<f32>,
    /// The run's total epochs E (0 for `constant`).
    pub epochs: u32,
    /// Adam updates per epoch (0 for `constant` without a warm-up).
    pub updates_per_epoch: u64,
    /// Epochs of linear warm-up before the schedule's own rate (0: none, the paper's).
    pub warmup: f32,
}

impl LrSchedule {
    /// The paper's constant η.
    pub fn constant() -> Self {
        Self::default()
    }

    /// The factor on η of epoch `epoch` (1-based). Epochs past the horizon keep the last
    /// epoch's factor.
    pub fn epoch_factor(&self, epoch: u32) -> f64 {
        let e = epoch.clamp(1, self.epochs.max(1));
        match self.kind {
            ScheduleKind::Constant => 1.0,
            ScheduleKind::Cosine => {
                let x = f64::from(e - 1) / f64::from(self.epochs.max(1));
                0.5 * (1.0 + (std::f64::consts::PI * x).cos())
            }
            ScheduleKind::Step => {
                let passed = self.milestones().into_iter().filter(|&m| e > m).count();
                STEP_FACTOR.powi(passed as i32)
            }
        }
    }

    /// The epochs after which `step` multiplies η by 0.1: round(f·E) for each fraction f.
    pub fn milestones(&self) -> Vec<u32> {
        self.decay_at
            .iter()
            .map(|&f| (f64::from(f) * f64::from(self.epochs)).round() as u32)
            .collect()
    }

    /// The epoch (1-based) of Adam update `step` (1-based).
    pub fn epoch_of_update(&self, step: u64) -> u32 {
        let e = step.saturating_sub(1) / self.updates_per_epoch.max(1) + 1;
        e.min(u64::from(u32::MAX)) as u32
    }

    /// η of Adam update `step` (1-based) for the base rate `lr`; exactly `lr` under `constant`
    /// without a warm-up.
    pub fn lr(&self, lr: f32, step: u64) -> f32 {
        let factor = match self.kind {
            ScheduleKind::Constant => 1.0,
            _ => self.epoch_factor(self.epoch_of_update(step)),
        } * self.warmup_factor(step);
        if factor == 1.0 {
            lr
        } else {
            (f64::from(lr) * factor) as f32
        }
    }

    /// The updates of the warm-up: round(W · updates per epoch), 0 without one.
    pub fn warmup_updates(&self) -> u64 {
        (f64::from(self.warmup) * self.updates_per_epoch as f64).round() as u64
    }

    /// The warm-up's factor on η for update `step` (1-based): min(1, step / warm-up updates).
    pub fn warmup_factor(&self, step: u64) -> f64 {
        let n = self.warmup_updates();
        if step >= n {
            1.0
        } else {
            step as f64 / n as f64
        }
    }

    /// True when η depends on the update count, so that resuming needs the same updates per epoch.
    pub fn counts_updates(&self) -> bool {
        self.kind != ScheduleKind::Constant || self.warmup > 0.0
    }

    /// Checks the milestones, and that a schedule other than `constant` has its horizon.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::InvalidParam {
                name: "lr_schedule",
                reason,
            })
        };
        if self.kind == ScheduleKind::Step && self.decay_at.is_empty() {
            return bad("the step schedule needs at least one fraction to decay at".into());
        }
        if self.kind != ScheduleKind::Step && !self.decay_at.is_empty() {
            return bad(format!(
                "decay fractions belong to the step schedule, not to {}",
                self.kind
            ));
        }
        for (i, &f) in self.decay_at.iter().enumerate() {
            if !(f > 0.0 && f < 1.0) {
                return bad(format!("decay fraction {f} is not between 0 and 1"));
            }
            if i > 0 && f <= self.decay_at[i - 1] {
                return bad("the decay fractions must increase".into());
            }
        }
        if !(self.warmup >= 0.0 && self.warmup.is_finite()) {
            return bad(format!(
                "the warm-up must be a number of epochs ≥ 0, not {}",
                self.warmup
            ));
        }
        if self.warmup > 0.0 && self.updates_per_epoch == 0 {
            return bad("a warm-up needs the run's updates per epoch".into());
        }
        if self.kind != ScheduleKind::Constant && (self.epochs == 0 || self.updates_per_epoch == 0)
        {
            return bad(format!(
                "the {} schedule needs the run's epochs and updates per epoch",
                self.kind
            ));
        }
        Ok(())
    }

    /// A short description, e.g. `cosine over 200 epochs`, `×0.1 after epochs 100, 150 of 200`.
    pub fn describe(&self) -> String {
        let schedule = self.describe_schedule();
        if self.warmup > 0.0 {
            format!(
                "{schedule} after a linear warm-up of {} epochs",
                self.warmup
            )
        } else {
            schedule
        }
    }

    fn describe_schedule(&self) -> String {
        match self.kind {
            ScheduleKind::Constant => "constant".into(),
            ScheduleKind::Cosine => format!("cosine over {} epochs", self.epochs),
            ScheduleKind::Step => {
                let m: Vec<String> = self.milestones().iter().map(u32::to_string).collect();
                format!("×0.1 after epochs {} of {}", m.join(", "), self.epochs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: ScheduleKind, decay_at: &[f32], epochs: u32, per_epoch: u64) -> LrSchedule {
        LrSchedule {
            kind,
            decay_at: decay_at.to_vec(),
            epochs,
            updates_per_epoch: per_epoch,
            warmup: 0.0,
        }
    }

    #[test]
    fn constant_is_the_base_rate_bit_for_bit() {
        let s = LrSchedule::constant();
        s.validate().unwrap();
        for step in [1, 2, 1000, u64::MAX] {
            assert_eq!(s.lr(0.005, step).to_bits(), 0.005f32.to_bits());
        }
        assert_eq!(s.describe(), "constant");
    }

    #[test]
    fn cosine_at_known_epochs() {
        let s = schedule(ScheduleKind::Cosine, &[], 200, 469);
        s.validate().unwrap();
        assert_eq!(s.epoch_factor(1), 1.0);
        assert!((s.epoch_factor(101) - 0.5).abs() < 1e-15);
        assert!((s.epoch_factor(51) - (0.5 + 0.5 * 0.5f64.sqrt())).abs() < 1e-15);
        let last = s.epoch_factor(200);
        let want = 0.5 * (1.0 + (std::f64::consts::PI * 199.0 / 200.0).cos());
        assert_eq!(last, want);
        assert!(last > 0.0 && last < 1e-3);
        for e in 1..200 {
            assert!(
                s.epoch_factor(e + 1) < s.epoch_factor(e),
                "falls at epoch {e}"
            );
        }
        // Epochs past the horizon keep the last factor.
        assert_eq!(s.epoch_factor(201), last);
        // Updates 1..=469 are epoch 1, 470 starts epoch 2; update 469·100 + 1 starts epoch 101.
        assert_eq!(s.lr(0.005, 469), 0.005);
        assert_eq!(
            s.lr(0.005, 470),
            (0.005f64 * s.epoch_factor(2)) as f32,
            "epoch 2"
        );
        assert_eq!(s.epoch_of_update(469 * 100 + 1), 101);
        assert_eq!(s.lr(0.004, 469 * 100 + 1), 0.002);
        assert_eq!(s.describe(), "cosine over 200 epochs");
    }

    #[test]
    fn step_at_known_epochs() {
        let s = schedule(ScheduleKind::Step, &[0.5, 0.75], 200, 10);
        s.validate().unwrap();
        assert_eq!(s.milestones(), [100, 150]);
        for (e, f) in [
            (1, 1.0),
            (100, 1.0),
            (101, 0.1),
            (150, 0.1),
            (151, 0.01),
            (200, 0.01),
        ] {
            assert!(
                (s.epoch_factor(e) - f).abs() < 1e-15,
                "epoch {e}: {}",
                s.epoch_factor(e)
            );
        }
        assert_eq!(s.lr(0.005, 1000), 0.005, "last update of epoch 100");
        assert_eq!(s.lr(0.005, 1001), (f64::from(0.005f32) * 0.1) as f32);
        // Milestones round to the nearest epoch: 0.5 of 3 epochs is after epoch 2.
        let short = schedule(ScheduleKind::Step, &[0.5], 3, 1);
        assert_eq!(short.milestones(), [2]);
        assert_eq!(
            (1..=3).map(|e| short.epoch_factor(e)).collect::<Vec<_>>(),
            [1.0, 1.0, 0.1]
        );
        assert_eq!(s.describe(), "×0.1 after epochs 100, 150 of 200");
    }

    #[test]
    fn validation() {
        let ok = |s: LrSchedule| s.validate().is_ok();
        assert!(!ok(schedule(ScheduleKind::Step, &[], 10, 1)));
        assert!(!ok(schedule(ScheduleKind::Step, &[0.0], 10, 1)));
        assert!(!ok(schedule(ScheduleKind::Step, &[1.0], 10, 1)));
        assert!(!ok(schedule(ScheduleKind::Step, &[0.75, 0.5], 10, 1)));
        assert!(!ok(schedule(ScheduleKind::Cosine, &[0.5], 10, 1)));
        assert!(!ok(schedule(ScheduleKind::Cosine, &[], 0, 1)));
        assert!(!ok(schedule(ScheduleKind::Cosine, &[], 10, 0)));
        assert!(ok(schedule(ScheduleKind::Step, &[0.3, 0.6, 0.9], 10, 1)));
        assert_eq!(
            "Cosine".parse::<ScheduleKind>().unwrap(),
            ScheduleKind::Cosine
        );
        assert!("linear".parse::<ScheduleKind>().is_err());
    }

    #[test]
    fn warmup_rises_linearly_then_leaves_the_schedule_alone() {
        let mut s = schedule(ScheduleKind::Constant, &[], 0, 400);
        s.warmup = 0.5;
        s.validate().unwrap();
        assert_eq!(s.warmup_updates(), 200);
        assert_eq!(s.lr(0.004, 1), (f64::from(0.004f32) / 200.0) as f32);
        assert_eq!(s.lr(0.004, 100), (f64::from(0.004f32) * 0.5) as f32);
        assert_eq!(s.lr(0.004, 200).to_bits(), 0.004f32.to_bits());
        assert_eq!(s.lr(0.004, 10_000).to_bits(), 0.004f32.to_bits());
        assert!(s.counts_updates());
        assert_eq!(
            s.describe(),
            "constant after a linear warm-up of 0.5 epochs"
        );
        // On top of a schedule: the factors multiply.
        let mut c = schedule(ScheduleKind::Step, &[0.5], 2, 400);
        c.warmup = 1.0;
        assert_eq!(c.lr(0.004, 100), (f64::from(0.004f32) * 0.25) as f32);
        assert_eq!(c.lr(0.004, 401), (f64::from(0.004f32) * 0.1) as f32);
        // Without its horizon, or negative, a warm-up is refused.
        s.updates_per_epoch = 0;
        assert!(s.validate().is_err());
        let mut n = schedule(ScheduleKind::Constant, &[], 0, 400);
        n.warmup = -1.0;
        assert!(n.validate().is_err());
    }

    #[test]
    fn json_round_trip() {
        let s = schedule(ScheduleKind::Step, &[0.5, 0.75], 200, 469);
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"kind\":\"step\""), "{text}");
        assert_eq!(serde_json::from_str::<LrSchedule>(&text).unwrap(), s);
    }
}
