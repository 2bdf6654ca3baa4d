//! The interface every backend offers, and what it returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::dataset::{ImageSet, Order};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::pass::{Counters, Totals};
use crate::schedule::Mode;
use crate::spec::NetSpec;

/// Loss and hits of one training batch.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BatchStats {
    /// Eq 6 summed over steps and classes, averaged over the batch.
    pub loss: f32,
    /// Samples whose prediction (argmax of Σ_t output spikes) was the label.
    pub correct: usize,
}

/// An image set a backend keeps ([`Backend::load_set`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetId(pub usize);

/// Loss and hits of every batch of a training epoch ([`Backend::train_epoch`]), in order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EpochStats {
    /// Per batch, as [`Backend::train_batch`] would have returned it.
    pub batches: Vec<BatchStats>,
}

/// Spike counts of one forward pass.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Inference {
    /// Time steps T of the forward pass.
    pub steps: usize,
    /// Samples in the batch.
    pub batch: usize,
    /// Output neurons (classes).
    pub classes: usize,
    /// Output spike counts, `[steps][batch][classes]`.
    pub output: Vec<f32>,
    /// When asked for: spike counts of every weighted layer, `[layer][steps][batch][neurons]`.
    pub layers: Vec<Vec<f32>>,
}

impl Inference {
    /// The spike counts of a forward pass of `batch` samples over `steps` steps: `output`,
    /// `[steps][batch][classes]`, and `layers`, those of every weighted layer when asked for.
    pub fn new(
        steps: usize,
        batch: usize,
        classes: usize,
        output: Vec<f32>,
        layers: Vec<Vec<f32>>,
    ) -> Self {
        Self {
            steps,
            batch,
            classes,
            output,
            layers,
        }
    }

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

    /// [`Self::totals`] with the number of classes.
    fn summed(&self) -> Totals {
        Totals {
            classes: self.classes,
            values: self.totals(),
        }
    }

    /// The predicted class of each sample: argmax over classes of Σ_t s_out\[t\] (the lowest index on ties).
    pub fn predictions(&self) -> Vec<usize> {
        self.summed().predictions()
    }

    /// How many samples were predicted as their label.
    pub fn correct(&self, labels: &[u32]) -> usize {
        self.summed().correct(labels)
    }

    /// Forward passes of consecutive pieces of a batch as one: each buffer's steps interleaved.
    fn join(parts: &[Inference]) -> Inference {
        let (steps, classes) = (parts[0].steps, parts[0].classes);
        let interleave = |pick: &dyn Fn(&Inference) -> &[f32]| {
            let mut out = Vec::new();
            for t in 0..steps {
                for p in parts {
                    let per_step = pick(p).len() / steps;
                    out.extend_from_slice(&pick(p)[t * per_step..][..per_step]);
                }
            }
            out
        };
        Inference {
            steps,
            batch: parts.iter().map(|p| p.batch).sum(),
            classes,
            output: interleave(&|p| &p.output),
            layers: (0..parts[0].layers.len())
                .map(|l| interleave(&|p| &p.layers[l]))
                .collect(),
        }
    }
}

/// A future that a backend's work returns: awaited in browsers, blocked on by the synchronous
/// methods elsewhere. Not `Send`: WebGPU's futures are not.
pub type Task<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + 'a>>;

/// A place where the network lives and runs: the CPU or a GPU.
///
/// A backend holds the current weights and optimiser state; [`Backend::read_state`] copies them back.
/// Inputs are `[batch][input_len]` row-major, normalised; labels are class indices. Every method
/// exists twice: `*_async` for callers that must not block (browsers), and a blocking one that
/// waits for it. Wrong sizes are [`Error::Shape`] on every backend.
pub trait Backend {
    /// A human-readable name, e.g. `cpu (2 threads, avx512)` or `gpu: NVIDIA H200 (Vulkan)`.
    fn name(&self) -> String;

    /// The network it runs.
    fn spec(&self) -> &NetSpec;

    /// The largest batch one call in `mode` accepts: every buffer of the batch must fit one
    /// storage binding of the device (no limit in practice on the CPU).
    fn max_batch(&self, mode: Mode) -> usize;

    /// One step of training: forward, the paper's backward pass (eq 9–13), one Adam update.
    /// A batch over [`Self::max_batch`] is refused with [`Error::Gpu`] naming the largest that fits.
    fn train_batch_async<'a>(&'a mut self, x: &'a [f32], labels: &'a [u32])
    -> Task<'a, BatchStats>;

    /// The paper-mode gradient of the batch loss for every weighted layer, without updating.
    fn gradients_async<'a>(
        &'a mut self,
        x: &'a [f32],
        labels: &'a [u32],
    ) -> Task<'a, (f32, Vec<Vec<f32>>)>;

    /// Forward pass of at most [`Self::max_batch`] samples; with `record_layers` the spike counts
    /// of every weighted layer too.
    fn infer_async<'a>(&'a mut self, x: &'a [f32], record_layers: bool) -> Task<'a, Inference>;

    /// Copies the current weights and Adam state into `model`.
    fn read_state_async<'a>(&'a mut self, model: &'a mut Model) -> Task<'a, ()>;

    /// Keeps a whole image set for [`Self::train_epoch`] and [`Self::evaluate_set`]: on a GPU
    /// uploaded once (1 byte per pixel) when it fits one storage binding, else kept on the host
    /// and uploaded batch by batch. Returns its handle and, in words, where it is kept. Fails
    /// with [`Error::Shape`] when its samples are not the network's input or a label is not a class.
    fn load_set_async<'a>(&'a mut self, set: Arc<ImageSet>) -> Task<'a, (SetId, String)>;

    /// One training epoch over a loaded set: the positions of `order` in batches of `batch`
    /// (the last one shorter when `batch` does not divide them), each gathered by the backend
    /// (crop and flip included) and trained on as [`Self::train_batch`] would, with the same
    /// results. Nothing is read back until the epoch ends; `progress` is told the samples done
    /// as far as the backend knows without waiting. With `state`, the weights and Adam state
    /// after the epoch are copied into it as [`Self::read_state`] would, read back with the
    /// epoch's records (on a GPU in the same wait, not a second one).
    fn train_epoch_async<'a>(
        &'a mut self,
        set: SetId,
        order: &'a Order,
        batch: usize,
        progress: &'a mut dyn FnMut(usize),
        state: Option<&'a mut Model>,
    ) -> Task<'a, EpochStats>;

    /// Forward passes over a whole loaded set in batches of at most `batch` (and of
    /// [`Self::max_batch`]), read back once: the output totals of every sample.
    fn evaluate_set_async<'a>(
        &'a mut self,
        set: SetId,
        batch: usize,
        progress: &'a mut dyn FnMut(usize),
    ) -> Task<'a, Totals>;

    /// What the device has been asked to do so far (GPU backends; `None` on the CPU).
    fn counters(&self) -> Option<Counters>;

    /// One training step as [`Self::train_batch_async`] (it updates the weights), with each
    /// kernel launch timed on the device: per launch, what it computes and its time in
    /// nanoseconds. `None` where the backend cannot time launches (the CPU, and GPUs without
    /// timestamp queries inside passes).
    fn profile_train_batch_async<'a>(
        &'a mut self,
        x: &'a [f32],
        labels: &'a [u32],
    ) -> Task<'a, Option<Vec<(String, f64)>>>;

    /// [`Self::train_batch_async`], waited for.
    fn train_batch(&mut self, x: &[f32], labels: &[u32]) -> Result<BatchStats> {
        pollster::block_on(self.train_batch_async(x, labels))
    }

    /// [`Self::gradients_async`], waited for.
    fn gradients(&mut self, x: &[f32], labels: &[u32]) -> Result<(f32, Vec<Vec<f32>>)> {
        pollster::block_on(self.gradients_async(x, labels))
    }

    /// [`Self::infer_async`], waited for.
    fn infer(&mut self, x: &[f32], record_layers: bool) -> Result<Inference> {
        pollster::block_on(self.infer_async(x, record_layers))
    }

    /// [`Self::read_state_async`], waited for.
    fn read_state(&mut self, model: &mut Model) -> Result<()> {
        pollster::block_on(self.read_state_async(model))
    }

    /// [`Self::profile_train_batch_async`], waited for.
    fn profile_train_batch(
        &mut self,
        x: &[f32],
        labels: &[u32],
    ) -> Result<Option<Vec<(String, f64)>>> {
        pollster::block_on(self.profile_train_batch_async(x, labels))
    }

    /// [`Self::load_set_async`], waited for.
    fn load_set(&mut self, set: Arc<ImageSet>) -> Result<(SetId, String)> {
        pollster::block_on(self.load_set_async(set))
    }

    /// [`Self::train_epoch_async`], waited for.
    fn train_epoch(
        &mut self,
        set: SetId,
        order: &Order,
        batch: usize,
        progress: &mut dyn FnMut(usize),
        state: Option<&mut Model>,
    ) -> Result<EpochStats> {
        pollster::block_on(self.train_epoch_async(set, order, batch, progress, state))
    }

    /// [`Self::evaluate_set_async`], waited for.
    fn evaluate_set(
        &mut self,
        set: SetId,
        batch: usize,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Totals> {
        pollster::block_on(self.evaluate_set_async(set, batch, progress))
    }

    /// Forward pass of any number of samples: [`Self::infer`] on pieces of at most
    /// [`Self::max_batch`] samples, joined into one [`Inference`].
    fn infer_all(&mut self, x: &[f32], record_layers: bool) -> Result<Inference> {
        let piece =
            (self.spec().input().len()).saturating_mul(self.max_batch(Mode::Inference).max(1));
        if x.len() <= piece {
            return self.infer(x, record_layers);
        }
        let parts = x
            .chunks(piece)
            .map(|part| self.infer(part, record_layers))
            .collect::<Result<Vec<_>>>()?;
        Ok(Inference::join(&parts))
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
