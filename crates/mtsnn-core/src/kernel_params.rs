//! The constants that both backends' per-layer kernels take, derived from the hyper-parameters:
//! the backward scan's (eq 9–13, `shaders/neuron/surrogate_g_scan.wgsl`) and one Adam update's
//! (`shaders/adam/adam.wgsl`). Backend-free, so that neither backend imports the other.

use crate::hyper::{GradMode, Hyper};
use crate::surrogate::SurrogateParams;

/// What the backward scan through one layer of neurons needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScanParams {
    /// Leak λ = 1 − 1/τ_m.
    pub lambda: f32,
    /// The surrogate f′ = f(v) and V_th.
    pub sp: SurrogateParams,
    /// The paper's scan (eq 9–13) or BPTT ([`Hyper::grad`]).
    pub mode: GradMode,
    /// Cut the reset path from the gradient ([`Hyper::detach_reset`]).
    pub detach_reset: bool,
}

impl ScanParams {
    /// The scan of a network trained with `h`.
    pub fn of(h: &Hyper) -> Self {
        Self {
            lambda: h.lambda(),
            sp: h.surrogate_params(),
            mode: h.grad,
            detach_reset: h.detach_reset,
        }
    }

    /// True when the layer below receives Wᵀ G (BPTT) rather than Wᵀ δ (the paper's eq 9).
    pub fn pass_down_g(&self) -> bool {
        self.mode == GradMode::Bptt
    }
}

/// Adam's constants for one update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// Learning rate η of this update (after the schedule).
    pub lr: f32,
    /// Decay β₁ of the first-moment estimate.
    pub beta1: f32,
    /// Decay β₂ of the second-moment estimate.
    pub beta2: f32,
    /// ε added to the denominator.
    pub eps: f32,
    /// 1-based step number, for the bias corrections.
    pub step: u64,
}

impl AdamStep {
    /// Update number `step` (1-based) of a network trained with `h`: η as its learning-rate
    /// schedule has it for that update.
    pub fn of(h: &Hyper, step: u64) -> Self {
        Self {
            lr: h.lr_schedule.lr(h.lr, step),
            beta1: h.beta1,
            beta2: h.beta2,
            eps: h.eps,
            step,
        }
    }

    /// Bias corrections (1 − β₁ᵗ, 1 − β₂ᵗ), computed in f64 so that both backends get the same f32.
    pub fn corrections(&self) -> (f32, f32) {
        let t = self.step.min(i32::MAX as u64) as i32;
        (
            (1.0 - (self.beta1 as f64).powi(t)) as f32,
            (1.0 - (self.beta2 as f64).powi(t)) as f32,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lr_schedule::{LrSchedule, ScheduleKind};

    #[test]
    fn adam_step_follows_the_schedule() {
        let mut h = Hyper::default();
        assert_eq!(AdamStep::of(&h, 7).lr, h.lr);
        h.lr_schedule = LrSchedule {
            kind: ScheduleKind::Step,
            decay_at: vec![0.5],
            epochs: 4,
            updates_per_epoch: 3,
            warmup: 0.0,
        };
        h.validate().unwrap();
        let lrs: Vec<f32> = (1..=12).map(|t| AdamStep::of(&h, t).lr).collect();
        let decayed = (f64::from(h.lr) * 0.1) as f32;
        assert_eq!(lrs[..6], [h.lr; 6]);
        assert_eq!(lrs[6..], [decayed; 6]);
        assert_eq!(AdamStep::of(&h, 7).step, 7);
    }
}
