//! Throughput of the GPU GEMMs, `shaders/gemm/matmul.wgsl` (software adapters' kernel) and the tiled
//! GEMM with its 64x64 tile and 16-byte loads where the rows allow (hardware GPUs'), against a naive triple loop and the `gemm` crate on the CPU, at
//! the GEMM shapes of training 784-800-10 with batch 128 and T = 2. Figures are medians.
//!
//! `cargo run --release -p mtsnn-core --features internals --example gpu_matmul` (any adapter; lavapipe will do).

mod timing;

use timing::median;

use mtsnn_core::cpu::gemm as cpu_gemm;
use mtsnn_core::gpu::{self, AdapterPolicy, GEMM_TILES, GpuContext, Loads, MatmulPath};
use mtsnn_core::rng::Rng;

/// C = op(A)·op(B) in three loops, the sum over k innermost.
#[allow(clippy::too_many_arguments)]
fn naive(a: &[f32], b: &[f32], c: &mut [f32], m: usize, n: usize, k: usize, a_t: bool, b_t: bool) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let x = if a_t { a[p * m + i] } else { a[i * k + p] };
                let y = if b_t { b[j * k + p] } else { b[p * n + j] };
                acc += x * y;
            }
            c[i * n + j] = acc;
        }
    }
}

/// GFLOP/s of the GEMM kernel of `ctx` for one shape, on device-resident data.
#[allow(clippy::too_many_arguments)]
fn gpu_rate(
    ctx: &GpuContext,
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    k: usize,
    a_t: bool,
    b_t: bool,
) -> mtsnn_core::Result<f64> {
    let (ta, tb, tc) = (
        ctx.upload("A", a)?,
        ctx.upload("B", b)?,
        ctx.zeros("C", m * n)?,
    );
    let d = pollster::block_on(gpu::gemm::matmul(ctx, &ta, &tb, &tc, m, n, k, a_t, b_t))?;
    // Ten launches per submission, one value read back: the device time dominates.
    let reps = 10;
    let work = vec![&d; reps];
    let seconds = median(5, || {
        pollster::block_on(ctx.execute(&work, &[(&tc, 1)])).expect("GPU matmul runs");
    }) / reps as f64;
    Ok(2.0 * (m * n * k) as f64 / seconds / 1e9)
}

fn main() -> mtsnn_core::Result<()> {
    let direct = GpuContext::new(AdapterPolicy::Any)?.with_matmul_path(MatmulPath::Direct);
    let tiled = GpuContext::new(AdapterPolicy::Any)?
        .with_matmul_path(MatmulPath::tiled(GEMM_TILES[1], Loads::Vec4));
    println!(
        "adapter: {} (default path {:?})",
        direct.name(),
        GpuContext::new(AdapterPolicy::Any)?.matmul_path()
    );
    let mut rng = Rng::new(1);
    // (what, m, n, k, a_t, b_t)
    let shapes = [
        ("layer 1 forward  x·W1ᵀ", 128, 800, 784, false, true),
        ("layer 1 gradient Gᵀ·x", 800, 784, 128, true, false),
        ("layer 2 forward  S·W2ᵀ", 256, 10, 800, false, true),
        ("layer 2 gradient Gᵀ·S", 10, 800, 256, true, false),
        ("layer 2 pass-down δ·W2", 256, 800, 10, false, false),
        ("square 512", 512, 512, 512, false, false),
    ];
    println!(
        "GFLOP/s                   m×n×k          GPU direct  GPU tiles  naive CPU   gemm CPU"
    );
    for (what, m, n, k, a_t, b_t) in shapes {
        let a: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.normal() as f32).collect();
        let flops = 2.0 * (m * n * k) as f64;
        let gpu_direct = gpu_rate(&direct, &a, &b, m, n, k, a_t, b_t)?;
        let gpu_tiles = gpu_rate(&tiled, &a, &b, m, n, k, a_t, b_t)?;
        let mut c = vec![0.0; m * n];
        let naive_s = median(3, || naive(&a, &b, &mut c, m, n, k, a_t, b_t));
        let gemm_s = median(5, || cpu_gemm::matmul(&a, &b, &mut c, m, n, k, a_t, b_t));
        println!(
            "{what:<24} {:>13} {gpu_direct:>11.2} {gpu_tiles:>10.2} {:>10.2} {:>10.1}",
            format!("{m}×{n}×{k}"),
            flops / naive_s / 1e9,
            flops / gemm_s / 1e9
        );
    }
    Ok(())
}
