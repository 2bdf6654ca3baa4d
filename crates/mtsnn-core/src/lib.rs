//! mtsnn-core: multi-threshold spiking neural networks (Xu et al., "Direct Training via
//! Backpropagation for Ultra-low Latency Spiking Neural Networks with Multi-threshold") trained with
//! the paper's backward pass on a CPU backend or a wgpu (WGSL) backend.
//!
//! The engine trains on tensors: data-set file formats live with the callers, the facts they must
//! agree on (names, shapes, normalisation, class names) in [`dataset`].

pub mod backend;
pub mod checkpoint;
pub mod cpu;
pub mod dataset;
pub mod error;
pub mod gpu;
pub mod hyper;
pub mod kernel_params;
pub mod lr_schedule;
pub mod model;
pub mod plan;
pub mod rng;
pub mod spec;
pub mod stats;
pub mod surrogate;

pub use backend::{Backend, BackendKind, BatchStats, Inference, argmax, create_backend};
pub use cpu::CpuBackend;
pub use error::{Error, Result};
pub use gpu::{AdapterPolicy, GpuBackend, GpuContext};
pub use hyper::Hyper;
pub use model::{AdamState, Model};
pub use spec::{Layer, LayerKind, NetSpec, Shape};
pub use surrogate::{Surrogate, SurrogateParams};
