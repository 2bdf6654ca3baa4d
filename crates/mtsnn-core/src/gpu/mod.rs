//! The wgpu backend: one WGSL kernel per file in `shaders/`, run on any Vulkan, Metal, DX12, GL
//! or WebGPU device, software adapters included. Dense, convolution and pooling layers.
//!
//! The launchers are grouped by family, as `cpu/` and `shaders/` are: [`gemm`], [`neuron`],
//! [`conv`], [`pool`], [`adam`] and [`pass`] (the passes' gather and tally), each launcher named
//! after its CPU twin and taking the same sizes; `launch.rs` holds what they share.
//!
//! - [`GpuContext`]: the device (chosen by [`AdapterPolicy`]), its limits, error capture and
//!   pipeline cache; injected into everything else.
//! - The family modules: a launcher per kernel on device tensors ([`GpuTensor`]), returning a
//!   [`Dispatch`] to run with [`GpuContext::execute`].
//! - [`MatmulPath`]: which GEMM kernel and tile an adapter gets (`gemm.wgsl`'s workgroup-memory
//!   tiles on hardware GPUs, with 16-byte loads by `gemm_vec4.wgsl` where the shapes allow, and
//!   `matmul.wgsl`'s direct register tile on software adapters), and why;
//!   [`WeightGradChunks`]: into how many chunks of images a conv weight gradient is split across
//!   workgroups (one on software adapters).
//! - [`GpuExecutor`]: runs a [`crate::schedule::Schedule`] with those launchers, recorded once
//!   per schedule and replayed, batch by batch or as passes over image sets kept on the device
//!   (several batches per submission, one read back per pass); [`GpuBackend`] is the
//!   [`crate::Backend`] on it, with all data on the device.
//! - [`GpuContext::counters`] counts launches, submissions, host waits and bytes each way;
//!   [`GpuContext::execute_timed`] times each launch where the adapter has timestamp queries.
//!
//! Agreement with the CPU backend: the same operations in the same order, so spike counts agree
//! exactly except where a potential lies within a few ULP of a multiple of V_th. Other values
//! differ by reordered GEMM sums and by WGSL's looser `exp`, division and `sqrt` (a few ULP):
//! single kernels by under 1e-6 relative to the size of their results, gradients after a whole
//! backward pass by under 1e-5 on lavapipe (`tests/src/compare.rs` states the tolerances).
//!
//! Async: every operation that waits for the device is an `async fn` (`*_async`, or
//! [`GpuContext::execute`]) that awaits `map_async`, as browsers require; the synchronous
//! [`crate::Backend`] methods run them with `pollster::block_on`.

pub mod adam;
mod context;
pub mod conv;
mod executor;
pub mod gemm;
mod launch;
pub mod neuron;
pub mod pass;
pub mod pool;
mod shaders;
mod submit;
mod tensor;
mod tile;

pub use context::{
    ADAPTER_VAR, AdapterPolicy, AdapterSearch, GpuContext, Rejection, SeenAdapter, describe,
};
pub use conv::{MIN_CHUNK_TERMS, WeightGradChunks};
pub use executor::{GpuBackend, GpuExecutor, Recorded};
pub use gemm::{GEMM_TILES, GemmTile, Loads, MatmulPath, TiledGemm, vec4_operands};
pub use shaders::{Field, Kernel, ParamsLayout};
pub use submit::Dispatch;
pub use tensor::{GpuTensor, Word};
pub use tile::WGSL_CONSTANTS;
