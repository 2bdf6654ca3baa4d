//! Training the CPU and GPU backends side by side on the same batches.

use mtsnn_core::{Backend, Model};

use crate::compare::assert_close;

/// Trains both backends for `steps` batches, alternating all of `x` with its first half (so that
/// the GPU builds one plan per batch size), asserts that every step's hits agree and its losses
/// are close, and returns the CPU's and the GPU's models after training.
pub fn train_in_lockstep(
    cpu: &mut dyn Backend,
    gpu: &mut dyn Backend,
    model: &Model,
    x: &[f32],
    labels: &[u32],
    steps: usize,
) -> (Model, Model) {
    let (half_x, half_labels) = (x.len() / 2, labels.len() / 2);
    for step in 0..steps {
        let (xb, lb) = if step % 2 == 0 {
            (x, labels)
        } else {
            (&x[..half_x], &labels[..half_labels])
        };
        let (a, b) = (
            cpu.train_batch(xb, lb).unwrap(),
            gpu.train_batch(xb, lb).unwrap(),
        );
        assert_eq!(a.correct, b.correct, "step {step}: hits");
        assert_close(&format!("step {step}: loss"), &[b.loss], &[a.loss], 1.0);
    }
    let (mut after_cpu, mut after_gpu) = (model.clone(), model.clone());
    cpu.read_state(&mut after_cpu).unwrap();
    gpu.read_state(&mut after_gpu).unwrap();
    assert_eq!(after_gpu.adam().step, after_cpu.adam().step);
    (after_cpu, after_gpu)
}

/// How far training moved layer `i`'s weights from `before`'s: Δw = w_after − w_before.
pub fn weight_step(before: &Model, after: &Model, i: usize) -> Vec<f32> {
    after.weights()[i]
        .iter()
        .zip(&before.weights()[i])
        .map(|(a, b)| a - b)
        .collect()
}
