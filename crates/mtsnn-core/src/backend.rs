//! The interface both backends implement, and how a backend is chosen.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::gpu::{AdapterPolicy, GpuBackend, GpuContext};
use crate::model::Model;

/// Loss and hits of one training batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchStats {
    /// Eq 6 summed over steps and classes, averaged over the batch.
    pub loss: f32,
    /// Samples whose prediction (argmax of Σ_t output spikes) was the label.
    pub correct: usize,
}

/// Spike counts of one forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Inference {
    pub steps: usize,
    pub batch: usize,
    pub classes: usize,
    /// Output spike counts, `[steps][batch][classes]`.
    pub output: Vec<f32>,
    /// When asked for: spike counts of every weighted layer, `[layer][steps][batch][neurons]`.
    pub layers: Vec<Vec<f32>>,
}

impl Inference {
    /// Output spike counts summed over time, `[batch][classes]`.
    pub fn totals(&self) -> Vec<f32> {
        let mut tot = vec![0.0; self.batch * self.classes];
        for step in self.output.chunks_exact(self.batch * self.classes) {
            for (a, b) in tot.iter_mut().zip(step) {
                *a += b;
            }
        }
        tot
    }

    /// The predicted class of each sample: argmax over classes of Σ_t s_out[t] (the lowest index on ties).
    pub fn predictions(&self) -> Vec<usize> {
        self.totals()
            .chunks_exact(self.classes)
            .map(argmax)
            .collect()
    }
}

/// Index of the largest value, the first one on ties.
pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// A place where the network lives and runs: the CPU or a GPU.
///
/// A backend holds the current weights and optimiser state; [`Backend::read_state`] copies them back.
/// Inputs are `[batch][input_len]` row-major, normalised; labels are class indices.
pub trait Backend {
    /// A human-readable name, e.g. `cpu (2 threads, avx512)` or `gpu: NVIDIA H200 (Vulkan)`.
    fn name(&self) -> String;

    /// One step of training: forward, the paper's backward pass (eq 9–13), one Adam update.
    fn train_batch(&mut self, x: &[f32], labels: &[u32]) -> Result<BatchStats>;

    /// The paper-mode gradient of the batch loss for every weighted layer, without updating.
    fn gradients(&mut self, x: &[f32], labels: &[u32]) -> Result<(f32, Vec<Vec<f32>>)>;

    /// Forward pass only; with `record_layers` the spike counts of every weighted layer too.
    fn infer(&mut self, x: &[f32], record_layers: bool) -> Result<Inference>;

    /// Copies the current weights and Adam state into `model`.
    fn read_state(&mut self, model: &mut Model) -> Result<()>;
}

/// Which backend to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// Plain Rust on all CPU cores.
    Cpu,
    /// wgpu; software adapters (lavapipe, SwiftShader) included.
    Gpu,
    /// A hardware GPU when one exists, else the CPU.
    #[default]
    Auto,
}

impl FromStr for BackendKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            "auto" => Ok(Self::Auto),
            _ => Err(Error::InvalidParam {
                name: "backend",
                reason: format!("{s:?} is not one of cpu, gpu, auto"),
            }),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
            Self::Auto => "auto",
        })
    }
}

/// Checks the sizes of a batch against the model and returns the batch size.
pub(crate) fn check_batch(model: &Model, x: &[f32], labels: Option<&[u32]>) -> Result<usize> {
    let n = model.spec.input().len();
    if x.is_empty() || !x.len().is_multiple_of(n) {
        return Err(Error::Shape(format!(
            "input of {} values is not a whole batch of {n}-value samples",
            x.len()
        )));
    }
    let batch = x.len() / n;
    if let Some(labels) = labels {
        if labels.len() != batch {
            return Err(Error::Shape(format!(
                "{} labels for {batch} samples",
                labels.len()
            )));
        }
        if let Some(&bad) = labels.iter().find(|&&l| l as usize >= model.spec.classes()) {
            return Err(Error::Shape(format!(
                "label {bad} but the network has {} classes",
                model.spec.classes()
            )));
        }
    }
    Ok(batch)
}

/// Builds the backend `kind` holding `model`. `Gpu` takes the best adapter, software ones
/// (lavapipe, SwiftShader) included. `Auto` takes a hardware GPU when one exists and the GPU
/// backend runs the network, and the CPU otherwise. wgpu's `WGPU_BACKEND` and
/// `WGPU_ADAPTER_NAME` variables narrow the search ([`GpuContext::new_async`]).
pub fn create_backend(kind: BackendKind, model: &Model) -> Result<Box<dyn Backend>> {
    let cpu = || -> Result<Box<dyn Backend>> { Ok(Box::new(crate::cpu::CpuBackend::new(model)?)) };
    match kind {
        BackendKind::Cpu => cpu(),
        BackendKind::Gpu => Ok(Box::new(GpuBackend::new(
            Arc::new(GpuContext::new(AdapterPolicy::Any)?),
            model,
        )?)),
        BackendKind::Auto => match GpuContext::new(AdapterPolicy::Hardware) {
            Ok(ctx) => match GpuBackend::new(Arc::new(ctx), model) {
                Ok(gpu) => Ok(Box::new(gpu)),
                Err(Error::Unsupported(_)) => cpu(),
                Err(e) => Err(e),
            },
            Err(Error::NoAdapter(_)) => cpu(),
            Err(e) => Err(e),
        },
    }
}
