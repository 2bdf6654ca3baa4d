//! What one pass over a test set found: the correct predictions, and how each output neuron
//! behaved (the classes it never predicts, silent or saturated outputs).

use crate::backend::{Backend, SetId};
use crate::error::Result;
use crate::model::Model;

/// Samples per batch when evaluating a data set (split further where the device holds fewer).
pub const EVAL_BATCH: usize = 1000;

/// The correct predictions of a test pass and, per class, how its output neuron behaved.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct TestOutcome {
    /// Samples predicted as their label.
    pub correct: usize,
    /// Samples in the pass.
    pub total: usize,
    /// Per class: the test inputs for which its output neuron emitted at least one spike.
    pub fired: Vec<usize>,
    /// Per class: the test inputs for which its output neuron emitted S_max spikes at every step.
    pub saturated: Vec<usize>,
}

impl TestOutcome {
    /// An empty tally over `total` samples of `classes` classes.
    pub fn new(total: usize, classes: usize) -> Self {
        Self {
            correct: 0,
            total,
            fired: vec![0; classes],
            saturated: vec![0; classes],
        }
    }

    /// Counts the output neurons that fired, and those at `full` spikes, in `totals`
    /// (`[samples][classes]`, Σ_t of the output spikes).
    pub fn add(&mut self, totals: &[f32], full: f32) {
        for sample in totals.chunks_exact(self.fired.len()) {
            for (c, &n) in sample.iter().enumerate() {
                self.fired[c] += usize::from(n > 0.0);
                self.saturated[c] += usize::from(n >= full);
            }
        }
    }

    /// Per class, the share of samples for which its output neuron fired.
    pub fn firing_shares(&self) -> Vec<f64> {
        self.fired
            .iter()
            .map(|&n| n as f64 / self.total.max(1) as f64)
            .collect()
    }

    /// The fraction of samples predicted correctly.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }

    /// Classes whose output neuron emitted no spike for any test input ("dead classes"): the
    /// network can never predict them except by the argmax's tie-break (the lowest index).
    pub fn dead_classes(&self) -> Vec<usize> {
        (0..self.fired.len())
            .filter(|&c| self.fired[c] == 0)
            .collect()
    }

    /// Every output neuron silent for every test input.
    pub fn all_silent(&self) -> bool {
        self.total > 0 && self.fired.iter().all(|&n| n == 0)
    }

    /// Every output neuron at S_max at every step for every test input.
    pub fn all_saturated(&self) -> bool {
        self.total > 0 && self.saturated.iter().all(|&n| n == self.total)
    }

    /// The dead classes as `0 (T-shirt/top), 8 (Bag)`, named by `names`.
    pub fn describe_dead(&self, names: &[&str]) -> String {
        describe_classes(&self.dead_classes(), names)
    }
}

/// Evaluates a test set the backend holds ([`Backend::load_set`], labels `labels`): one pass in
/// batches of [`EVAL_BATCH`], gathered by the backend, read back once.
pub fn evaluate_loaded(
    backend: &mut dyn Backend,
    model: &Model,
    set: SetId,
    labels: &[u32],
) -> Result<TestOutcome> {
    let totals = backend.evaluate_set(set, EVAL_BATCH, &mut |_| {})?;
    let mut outcome = TestOutcome::new(labels.len(), model.spec.classes());
    outcome.correct = totals.correct(labels);
    outcome.add(&totals.values, full_output(model));
    Ok(outcome)
}

/// Σ_t of an output neuron firing S_max spikes at every step.
pub fn full_output(model: &Model) -> f32 {
    (model.hyper.s_max as usize * model.hyper.steps) as f32
}

/// Classes as `0 (T-shirt/top), 8 (Bag)`, named by `names`.
pub(crate) fn describe_classes(classes: &[usize], names: &[&str]) -> String {
    classes
        .iter()
        .map(|&c| match names.get(c) {
            Some(name) => format!("{c} ({name})"),
            None => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_silent_and_saturated_outputs() {
        let o = TestOutcome {
            correct: 5,
            total: 10,
            fired: vec![3, 0, 10, 0],
            saturated: vec![0, 0, 10, 0],
        };
        assert_eq!(o.dead_classes(), vec![1, 3]);
        assert_eq!(o.describe_dead(&["a", "b", "c"]), "1 (b), 3");
        assert!(!o.all_silent() && !o.all_saturated());
        let silent = TestOutcome {
            fired: vec![0; 4],
            ..o.clone()
        };
        assert!(silent.all_silent());
        let saturated = TestOutcome {
            fired: vec![10; 4],
            saturated: vec![10; 4],
            ..o
        };
        assert!(saturated.all_saturated() && saturated.dead_classes().is_empty());
    }
}
