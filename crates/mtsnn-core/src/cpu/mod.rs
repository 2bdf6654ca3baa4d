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

/// Elementwise work on fewer values than this stays on the calling thread, and products of fewer
/// multiply-adds than [`PARALLEL_MACS`]: handing work to rayon's pool wakes a thread and puts the
/// caller to sleep until it is done, which cost the MNIST CNN's batch-1 inference over a third of
/// its time in the kernel's scheduler (`perf`, one thread) and, split over two threads, more than
/// the halved work saved (2-core Xeon, `docs/performance.md`).
const PARALLEL_VALUES: usize = 1 << 16;

/// See [`PARALLEL_VALUES`]: ≈ 4 M multiply-adds, ≈ 80 µs on one core.
const PARALLEL_MACS: usize = 1 << 22;

/// True when elementwise work on `values` values goes to the thread pool.
fn worth_parallel(values: usize) -> bool {
    rayon::current_num_threads() > 1 && values >= PARALLEL_VALUES
}

/// True when a product of `macs` multiply-adds goes to the thread pool.
fn worth_parallel_product(macs: usize) -> bool {
    rayon::current_num_threads() > 1 && macs >= PARALLEL_MACS
}

/// Runs `f` on the first `len` values of the thread-local buffer `key` (contents unspecified),
/// grown as needed and kept from call to call: a scratch matrix that is not allocated (and its
/// pages faulted in) on every call.
fn with_scratch<R>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    key.with_borrow_mut(|values| {
        if values.len() < len {
            values.resize(len, 0.0);
        }
        f(&mut values[..len])
    })
}

/// `f` on each pair of chunks of `out` (`out_len` each) and `input` (`in_len` each), over the
/// pool when `parallel`, else one after the other on this thread.
fn for_each_pair<F>(out: &mut [f32], out_len: usize, input: &[f32], in_len: usize, parallel: bool, f: F)
where
    F: Fn(&mut [f32], &[f32]) + Sync + Send,
{
    use rayon::prelude::*;
    if parallel {
        out.par_chunks_mut(out_len)
            .zip(input.par_chunks(in_len))
            .for_each(|(o, i)| f(o, i));
    } else {
        out.chunks_mut(out_len)
            .zip(input.chunks(in_len))
            .for_each(|(o, i)| f(o, i));
    }
}
