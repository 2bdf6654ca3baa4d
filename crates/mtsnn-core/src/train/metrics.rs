//! One line of `metrics.jsonl`: what an epoch did.

use serde::{Deserialize, Serialize};

use super::dead::DeadClass;
use crate::pass::Counters;

/// What one epoch did, as `metrics.jsonl` records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EpochMetrics {
    /// The epoch (1-based).
    pub epoch: usize,
    /// Adam's learning rate at the epoch's first update (the schedule's).
    pub lr: f32,
    /// Mean loss (eq 6) per training sample.
    pub train_loss: f64,
    /// Fraction of training samples classified correctly during the epoch (as the weights changed).
    pub train_accuracy: f64,
    /// Fraction of test samples classified correctly after the epoch.
    pub test_accuracy: f64,
    /// Test samples classified correctly.
    pub test_correct: usize,
    /// Test samples.
    pub test_total: usize,
    /// Per class: the share of test samples for which its output neuron emitted at least one
    /// spike (0 for a "dead class": the network cannot predict it). Absent in older runs.
    #[serde(default)]
    pub output_firing: Vec<f64>,
    /// The dead classes' output neurons: how far below V_th their pre-reset potentials stayed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dead_classes: Vec<DeadClass>,
    /// The classes whose output neuron the dead-class guard restarted after this epoch's training
    /// (before the test set was evaluated); empty without the guard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarted_classes: Vec<usize>,
    /// Training samples per second (training only, evaluation excluded).
    pub samples_per_sec: f64,
    /// Seconds spent training (over every sitting of an interrupted epoch).
    pub train_seconds: f64,
    /// Seconds spent evaluating the test set.
    pub eval_seconds: f64,
    /// Seconds of the epoch in this process.
    pub epoch_seconds: f64,
    /// Seconds since the run started, resumed runs included.
    pub elapsed_seconds: f64,
    /// GPU backends: what the device was asked to do by the training pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_train: Option<Counters>,
    /// GPU backends: what the device was asked to do by the whole epoch (the test set included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_epoch: Option<Counters>,
}
