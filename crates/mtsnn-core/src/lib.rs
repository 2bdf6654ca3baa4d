//! mtsnn-core: multi-threshold spiking neural networks (Xu et al., "Direct Training via
//! Backpropagation for Ultra-low Latency Spiking Neural Networks with Multi-threshold") trained with
//! the paper's backward pass on a CPU backend or a wgpu (WGSL) backend.
//!
//! The engine trains on tensors: data-set formats live with the callers.

pub mod backend;
pub mod checkpoint;
pub mod cpu;
pub mod error;
pub mod executor;
pub mod factory;
pub mod gpu;
pub mod hyper;
pub mod kernel_params;
pub mod lr_schedule;
pub mod model;
pub mod plan;
pub mod rng;
pub mod schedule;
pub mod spec;
pub mod stats;
pub mod surrogate;

pub use backend::{Backend, BatchStats, Inference, Task, argmax};
pub use cpu::{CpuBackend, CpuExecutor};
pub use error::{Error, Result};
pub use executor::{Executor, Runner};
pub use factory::{BackendKind, create_backend};
pub use gpu::{AdapterPolicy, GpuBackend, GpuContext, GpuExecutor};
pub use hyper::Hyper;
pub use model::{AdamState, Model};
pub use schedule::Mode;
pub use spec::{Layer, LayerKind, NetSpec, Shape};
pub use surrogate::{Surrogate, SurrogateParams};
