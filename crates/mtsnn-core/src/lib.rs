//! mtsnn-core: multi-threshold spiking neural networks (Xu et al., "Direct Training via
//! Backpropagation for Ultra-low Latency Spiking Neural Networks with Multi-threshold") trained with
//! the paper's backward pass on a CPU backend or a wgpu (WGSL) backend.
//!
//! The engine trains on tensors: data-set file formats live with the callers, the facts they must
//! agree on (names, shapes, normalisation, class names) in [`dataset`].
//!
//! The GPU backend (the `gpu` module, wgpu and the WGSL kernels) is the `gpu` feature, on by
//! default. Without it (`default-features = false`) the crate is the CPU backend alone, for apps
//! that only need CPU inference: a smaller native library and wasm module, no wgpu to build.
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
//! assert_eq!((out.steps, out.batch, out.classes), (model.hyper.steps, 1, 10));
//! assert_eq!(out.output.len(), model.hyper.steps * 10);
//! let class = out.predictions()[0];
//! assert!(class < 10);
//! # Ok(())
//! # }
//! ```
//!
//! A trained model is read with [`Model::load`]; [`Classifier`] classifies images with one in
//! three lines, normalising them with the [`dataset`] metadata the model file records.
//!
//! # How a batch runs
//!
//! - [`spec`] parses a network string; [`plan`] derives what each layer computes.
//! - [`schedule`] turns that, the hyper-parameters, a batch size and a [`Mode`] (inference,
//!   gradients, training) into one ordered list of kernel launches ([`schedule::Step`]) over
//!   numbered buffers whose sizes it computes: the only place that knows the order of layers,
//!   time steps and passes.
//! - An [`Executor`] runs such a list with its own kernels: [`CpuExecutor`] directly,
//!   [`GpuExecutor`] recorded once per schedule (per batch size) and replayed for every batch.
//!   A step is one GPU launch, except a conv weight gradient split across workgroups (hardware
//!   GPUs: [`gpu::WeightGradChunks`]): its partial sums per chunk of images, into a scratch
//!   buffer its launch owns, then `sum_steps.wgsl` adding the chunks.
//! - [`Runner`] is the one [`Backend`] on any executor ([`CpuBackend`], [`GpuBackend`]): it picks
//!   the schedule, loads the batch, splits or refuses batches larger than the device holds, and
//!   turns what comes back into losses, predictions and gradients. [`choose_backend`] chooses one
//!   and says why.
//!
//! A single batch ([`Backend::train_batch`], [`Backend::infer`]) is a round trip: its values go
//! up, the launches run, the results come back before the call returns.
//!
//! # How an epoch runs
//!
//! - The caller hands each image set to the backend once ([`Backend::load_set`], an
//!   [`ImageSet`]: u8 pixels, labels, the per-channel normalisation tables). A GPU keeps it on the
//!   device, pixels packed 4 per u32 word; a set larger than one storage binding stays on the host.
//! - Per epoch the caller draws an [`Order`] (the shuffle, then each position's crop offsets and
//!   flip, from the same generator in the same order as the per-batch path drew them) and calls
//!   [`Backend::train_epoch`]. The [`Runner`] cuts it into batches (the last one shorter when the
//!   batch size does not divide the set), computes every batch's Adam constants (η under the
//!   learning-rate schedule, the bias corrections), and hands the pass to the executor
//!   ([`executor::Executor::begin_pass`]), then each batch with its schedule
//!   ([`executor::Executor::enqueue`]).
//! - The GPU executor uploads the order (8 bytes per sample), the batches' positions and the Adam
//!   table once per pass; each batch is copies of its position and Adam constants into the
//!   launches' uniforms, then `gather.wgsl` (batch from the resident set, crop, flip, normalise),
//!   the schedule's launches and `tally.wgsl` (each sample's loss and hit into the pass's
//!   records), several batches per submission with no host wait between them. The CPU executor
//!   runs the same steps with the kernels' CPU twins, batch by batch ([`pass::gather`], which the
//!   GPU executor also runs, on the host, for a set kept there).
//! - [`executor::Executor::finish_pass`] reads the records ([`pass::Record`]) back once, with
//!   the weights and Adam state in the same wait when the caller asks for them (a checkpoint each
//!   epoch); progress comes from non-blocking polls meanwhile. [`Backend::evaluate_set`] is the
//!   same pass without training, recording each sample's output totals ([`Totals`]).
//! - On the same backend an epoch gives exactly what `train_batch` on the same gathered batches
//!   gives: weights, Adam state, losses and hits. [`Counters`] ([`GpuContext::counters`]) count
//!   launches, submissions, host waits and bytes each way.
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
//! 3. A [`schedule::Step`] variant naming its buffers and sizes, its buffers in
//!    [`schedule::Step::bindings`] (each under a [`schedule::Role`], with the values it uses),
//!    and the place in [`schedule::NetSchedule`]'s builder (`schedule/net.rs`) that emits it.
//! 4. One match arm in each executor: `CpuExecutor::step` (`cpu/executor.rs`) calls the CPU
//!    kernel, `record` (`gpu/executor.rs`) the launcher, each taking its buffers by role (sizes
//!    are checked there, once, by [`schedule::Bindings::take`]). A launcher that needs several
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
//! CPU twin in [`pass`] (`pass.rs`, the backend-neutral home of what belongs to a whole pass:
//! [`pass::Record`], [`Totals`], [`argmax`], [`Counters`]), its launcher in `gpu/pass.rs` and a
//! test against the twin (`tests/tests/gpu_resident.rs`), and the executors call them from their
//! pass methods. Both backends import these from [`pass`]; `gpu/` imports nothing from `cpu/`.

#![warn(missing_docs)]

pub mod backend;
pub mod checkpoint;
pub mod classifier;
pub mod cpu;
pub mod dataset;
pub mod error;
pub mod executor;
pub mod factory;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod hyper;
pub mod kernel_params;
pub mod lr_schedule;
pub mod model;
pub mod pass;
pub mod plan;
pub mod rng;
pub mod schedule;
pub mod spec;
pub mod stats;
pub mod surrogate;
pub mod train;

pub use backend::{Backend, BatchStats, EpochStats, Inference, SetId, Task};
pub use classifier::{Answer, Classifier};
pub use cpu::{CpuBackend, CpuExecutor};
pub use dataset::{ImageSet, Order};
pub use error::{Error, Result};
pub use executor::{Executor, Runner};
pub use factory::{BackendKind, Chosen, choose_backend, create_backend};
#[cfg(feature = "gpu")]
pub use gpu::{AdapterPolicy, GpuBackend, GpuContext, GpuExecutor};
pub use hyper::Hyper;
pub use model::{AdamState, Model};
pub use pass::{Counters, Totals, argmax};
pub use schedule::Mode;
pub use spec::{Layer, LayerKind, NetSpec, Shape};
pub use surrogate::{Surrogate, SurrogateParams};
pub use train::{Event, Finish, TrainConfig, Trainer};
