//! The CPU backend: plain Rust on all cores, GEMMs by the `gemm` crate. It is the reference the
//! GPU backend is tested against and the fast path on machines without a GPU.
//!
//! The kernels are grouped by family, as `gpu/` and `shaders/` are, each the twin of the WGSL
//! kernels of the same name: [`gemm`] (dense products; [`dots`] for a few rows, F32 or 8-bit), [`neuron`] (the LIF forward pass, the
//! output error and the backward scan with its surrogate), [`conv`], [`pool`] and [`adam`]; the
//! passes' gather and tally are backend-neutral, in [`crate::pass`]. The elementwise kernels run
//! as vector code chosen at run time ([`elementwise`], [`simd`]), bit-identical to their scalar
//! definitions on every instruction set. [`CpuExecutor`] runs a schedule's steps with them.
//! Where the time goes and what was measured: `docs/performance.md`.

pub mod adam;
pub mod bound;
pub mod conv;
pub mod dots;
pub mod elementwise;
mod executor;
pub mod gemm;
pub mod neuron;
pub mod pool;
pub mod simd;

pub use executor::{CpuBackend, CpuExecutor};

/// Neuron-parallel work (the neurons' scans, Adam) is cut into chunks of this many values.
const CHUNK: usize = 4096;
