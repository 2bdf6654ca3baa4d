//! mtsnn-core: multi-threshold spiking neural networks (Xu et al., "Direct Training via
//! Backpropagation for Ultra-low Latency Spiking Neural Networks with Multi-threshold") trained with
//! the paper's backward pass on a CPU backend or a wgpu (WGSL) backend.
//!
//! # What an embedder uses
//!
//! Everything below is at the crate root:
//!
//! - **Load a model**: [`Model::load`] reads a checkpoint or an export (safetensors);
//!   [`Model::init`] makes a fresh network from a [`NetSpec`] (the paper's network strings) and
//!   its [`Hyper`]-parameters (eq 17's initialisation).
//! - **Classify images**: [`Classifier`] loads a model file and classifies 8-bit pixels,
//!   normalised as the data set the file records (the [`dataset`] metadata), in a few lines.
//! - **Choose a backend**: [`choose_backend`] (or [`create_backend`]) with a [`BackendKind`]
//!   (`Cpu`, `Gpu`, `Auto`) gives a [`Backend`] and says why it chose it; `CpuBackend::new`
//!   and, with the `gpu` feature, `GpuBackend::new` on a [`GpuContext`] build one directly.
//! - **Infer**: [`Backend::infer`] returns an [`Inference`], the output spike counts per step,
//!   with [`Inference::predictions`].
//! - **Train**: [`Trainer`] runs epochs, tests after each, resumes and writes checkpoints
//!   ([`TrainConfig`], [`Event`]); underneath, [`Backend::train_batch`] trains one batch and
//!   [`Backend::train_epoch`] one epoch over an [`ImageSet`] loaded once ([`Backend::load_set`])
//!   in an [`Order`] drawn from an [`Rng`].
//! - **Read spike statistics**: [`StatsCollector`] gathers [`SpikeStats`] (spikes per layer,
//!   synaptic operations and the energy estimate) from the inferences it is given.
//! - **Errors**: one [`Error`] enum, [`Result`].
//!
//! The engine trains on tensors: data-set file formats live with the callers, the facts they must
//! agree on (names, shapes, normalisation, class names) in [`dataset`].
//!
//! # Features
//!
//! - `gpu` (on by default): the wgpu backend ([`GpuBackend`], [`GpuContext`]) and the WGSL
//!   kernels. Without it (`default-features = false`) the crate is the CPU backend alone, for apps
//!   that only need CPU inference: a smaller native library and wasm module, no wgpu to build.
//! - `internals` (off by default): makes the engine's inner modules public — the kernels of both
//!   backends (`cpu`, `gpu`), the schedule of a batch (`schedule`, `plan`, `kernel_params`), the
//!   executors (`executor`, `pass`) and `rng` — for the workspace's command-line tool, tests,
//!   benchmarks and fuzz targets. They carry no stability promise.
//!
//! # Example
//!
//! A fresh MNIST-shaped network (eq 17's initialisation) run for one all-zero image on the CPU:
//!
//! ```
//! use mtsnn_core::{Backend, CpuBackend, Hyper, Model, NetSpec, Shape};
//!
//! # fn main() -> mtsnn_core::Result<()> {
//! let spec = NetSpec::parse("784-100-10", Shape::new(1, 28, 28), 10)?;
//! let model = Model::init(spec, Hyper::default(), 1)?;
//! let mut backend = CpuBackend::new(&model)?;
//! let out = backend.infer(&[0.0; 784], false)?;
//! // Output spike counts, `[steps][batch][classes]`.
//! assert_eq!((out.steps, out.batch, out.classes), (model.hyper().steps, 1, 10));
//! assert_eq!(out.output.len(), model.hyper().steps * 10);
//! let class = out.predictions()[0];
//! assert!(class < 10);
//! # Ok(())
//! # }
//! ```
//!
//! A trained model classifies a PNG in four lines with [`Classifier`] (its example is a
//! doc-test).
//!
//! # How a batch runs
//!
//! A network string is parsed into layers (`spec`), derived into what each layer computes
//! (`plan`), and turned, for one batch size and [`Mode`], into one ordered list of kernel
//! launches over numbered buffers (`schedule`): the only place that knows the order of layers,
//! time steps and passes. An executor runs such a list with its own kernels, the CPU's directly,
//! the GPU's recorded once per schedule and replayed for every batch; `Runner`, the one
//! [`Backend`] on any executor, picks the schedule, loads the batch and turns what comes back
//! into losses, predictions and gradients. Whole epochs run as passes: the image set stays on
//! the backend, and each batch is gathered, run and tallied there without a host round trip.
//! `docs/architecture.md` has the map of the modules and follows one step from the schedule to
//! its GPU dispatch.
//!
//! # How to add a kernel
//!
//! Kernels are grouped by family (gemm, neuron, conv, pool, adam, pass), and `cpu/`, `gpu/` and
//! `shaders/` use the same names: a kernel's CPU twin is in `cpu/FAMILY.rs`, its launcher in
//! `gpu/FAMILY.rs`, its WGSL in `shaders/FAMILY/`.
//!
//! 1. The CPU kernel, the reference: a function in `cpu/FAMILY.rs`.
//! 2. Its WGSL twin `shaders/FAMILY/NAME.wgsl`, one line in `kernels!` (`gpu/shaders.rs`), and a
//!    launcher in `gpu/FAMILY.rs` named after the CPU kernel and taking its sizes.
//! 3. A `schedule::Step` variant naming its buffers and sizes, its buffers in
//!    `Step::bindings` (each under a `Role`, with the values it uses),
//!    and the place in `NetSchedule`'s builder (`schedule/net.rs`) that emits it.
//! 4. One match arm in each executor: `CpuExecutor::step` (`cpu/executor.rs`) calls the CPU
//!    kernel, `record` (`gpu/executor.rs`) the launcher, each taking its buffers by role (sizes
//!    are checked there, once, by `Bindings::take`). A launcher that needs several
//!    launches or a scratch buffer of its own returns a type holding them (as
//!    `gpu::conv::conv_weight_grad` does) and gets a variant of `Launch` there, which names each
//!    launch for profiles.
//! 5. A test running the one-step schedule on both executors against each other
//!    (`tests/src/kernel.rs`, as `tests/tests/gpu_kernels.rs` does).
//!
//! Buffer allocation, recording and replay, read-back and the backends need no change.
//! `docs/architecture.md` follows one step from the schedule to its dispatch.
//!
//! The passes' own kernels (`shaders/pass/`: gather, tally) are not schedule steps: each has its
//! CPU twin in `pass.rs` (the backend-neutral home of what belongs to a whole pass: `Record`,
//! [`Totals`], [`argmax`], [`Counters`]), its launcher in `gpu/pass.rs` and a
//! test against the twin (`tests/tests/gpu_resident.rs`), and the executors call them from their
//! pass methods. Both backends import these from `pass.rs`; `gpu/` imports nothing from `cpu/`.

#![warn(missing_docs)]

// The embedder's modules: public, with the items they hold re-exported below.
pub mod checkpoint;
pub mod dataset;
pub mod hyper;
pub mod lr_schedule;
pub mod spec;
pub mod stats;
pub mod surrogate;
pub mod train;

// Modules whose public items are all re-exported below.
mod backend;
mod classifier;
mod error;
mod factory;
mod model;

/// Declares the engine's inner modules: public with the `internals` feature (the workspace's
/// command-line tool, tests, benchmarks and fuzz targets), private otherwise, where items only
/// those tools use are unused and their re-exports unimported.
macro_rules! internal_modules {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$attr])*
            #[cfg(feature = "internals")]
            pub mod $name;
            $(#[$attr])*
            #[cfg(not(feature = "internals"))]
            #[allow(dead_code, unused_imports)]
            mod $name;
        )*
    };
}

internal_modules! {
    cpu,
    executor,
    #[cfg(feature = "gpu")]
    gpu,
    kernel_params,
    pass,
    plan,
    rng,
    schedule,
}

pub use backend::{Backend, BatchStats, EpochStats, Inference, SetId, Task};
pub use checkpoint::WeightFormat;
pub use classifier::{Answer, Classifier};
pub use cpu::CpuBackend;
pub use dataset::{DatasetKind, ImageSet, Order};
pub use error::{Error, Result};
pub use factory::{BackendKind, Chosen, choose_backend, create_backend};
#[cfg(feature = "gpu")]
pub use gpu::{AdapterPolicy, GpuBackend, GpuContext};
pub use hyper::Hyper;
pub use model::{AdamState, Model};
pub use pass::{Counters, Totals, argmax};
pub use rng::Rng;
pub use schedule::Mode;
pub use spec::{Layer, LayerKind, NetSpec, Shape};
pub use stats::{SpikeStats, StatsCollector};
pub use surrogate::{Surrogate, SurrogateParams};
pub use train::{Event, Finish, TrainConfig, Trainer};
