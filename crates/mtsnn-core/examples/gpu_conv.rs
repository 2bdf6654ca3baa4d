//! Device time of the three convolution kernels (`shaders/conv_*.wgsl`) against `matmul.wgsl` on
//! GEMMs of the same multiply-adds, at the conv layers of the MNIST net 15C5-P2-40C5-P2-300
//! (batch 128, T = 2). Figures are medians of device-resident runs.
//!
//! `cargo run --release -p mtsnn-core --features internals --example gpu_conv` (any adapter; lavapipe will do).

mod timing;

use timing::median;

use mtsnn_core::gpu::{self, AdapterPolicy, GpuContext, GpuTensor};
use mtsnn_core::plan::ConvGeom;
use mtsnn_core::rng::Rng;

/// Median seconds of one run of the launches `d`, reading back one value of `out`.
fn time(ctx: &GpuContext, d: &[&gpu::Dispatch], out: &GpuTensor) -> f64 {
    median(5, || {
        pollster::block_on(ctx.execute(d, &[(out, 1)])).expect("GPU kernel runs");
    })
}

/// Times the three kernels on one layer and, for comparison, `matmul.wgsl` on the GEMMs of
/// im2col + GEMM (im2col itself not counted).
fn layer(ctx: &GpuContext, what: &str, g: &ConvGeom, images: usize) -> mtsnn_core::Result<()> {
    let (patch, pixels) = (
        g.in_channels * g.kernel * g.kernel,
        g.out_height() * g.out_width(),
    );
    let mut rng = Rng::new(1);
    let mut normal = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
    let input = ctx.upload("input", &normal(images * g.in_len()))?;
    let w = ctx.upload("w", &normal(g.out_channels * patch))?;
    let grad_out = ctx.upload("grad_out", &normal(images * g.out_len()))?;
    let out = ctx.zeros("out", images * g.out_len())?;
    let grad_in = ctx.zeros("grad_in", images * g.in_len())?;
    let grad_w = ctx.zeros("grad_w", g.out_channels * patch)?;
    let macs = (images * g.out_channels * patch * pixels) as f64;
    println!(
        "{what}: {}→{} channels, {k}×{k}, padding {}, {}×{} maps, {images} images: {:.1} M multiply-adds",
        g.in_channels,
        g.out_channels,
        g.padding,
        g.height,
        g.width,
        macs / 1e6,
        k = g.kernel
    );
    let report = |what: &str, s: f64| {
        println!(
            "  {what:<38} {s:>8.3} s {:>8.2} GFLOP/s",
            2.0 * macs / s / 1e9
        );
    };
    let d = pollster::block_on(gpu::conv::conv_forward(ctx, &input, &w, &out, images, g))?;
    report("conv_forward", time(ctx, &[&d], &out));
    let d = pollster::block_on(gpu::conv::conv_input_grad(
        ctx, &grad_out, &w, &grad_in, images, g,
    ))?;
    report("conv_input_grad", time(ctx, &[&d], &grad_in));
    let d = pollster::block_on(gpu::conv::conv_weight_grad(
        ctx, &input, &grad_out, &grad_w, images, g,
    ))?;
    let launches: Vec<&gpu::Dispatch> = d.dispatches().collect();
    report(
        &format!("conv_weight_grad ({} chunks)", d.chunks()),
        time(ctx, &launches, &grad_w),
    );

    // W `[out_ch][patch]` times a column matrix `[patch][images·pixels]`, and the weight
    // gradient's `[out_ch][images·pixels]` times its transpose.
    let cols = ctx.upload("cols", &normal(patch * images * pixels))?;
    let c = ctx.zeros("C", g.out_channels * images * pixels)?;
    let d = pollster::block_on(gpu::gemm::matmul(
        ctx,
        &w,
        &cols,
        &c,
        g.out_channels,
        images * pixels,
        patch,
        false,
        false,
    ))?;
    report("matmul W·cols (forward's GEMM)", time(ctx, &[&d], &c));
    let gw = ctx.zeros("gW", g.out_channels * patch)?;
    let d = pollster::block_on(gpu::gemm::matmul(
        ctx,
        &c,
        &cols,
        &gw,
        g.out_channels,
        patch,
        images * pixels,
        false,
        true,
    ))?;
    report("matmul G·colsᵀ (weight gradient's)", time(ctx, &[&d], &gw));
    Ok(())
}

fn main() -> mtsnn_core::Result<()> {
    let ctx = GpuContext::new(AdapterPolicy::Any)?;
    println!("adapter: {}", ctx.name());
    let geom = |in_channels, out_channels, height| ConvGeom {
        in_channels,
        out_channels,
        kernel: 5,
        padding: 0,
        height,
        width: height,
    };
    // Batch 128, T = 2: the second layer sees 256 maps; the first a constant input, 128 maps.
    layer(&ctx, "MNIST conv2", &geom(15, 40, 12), 256)?;
    layer(&ctx, "MNIST conv1", &geom(1, 15, 28), 128)?;
    Ok(())
}
