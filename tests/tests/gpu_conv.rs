//! Convolution and pooling on the GPU: each kernel against its CPU twin (a one-step schedule on
//! the GPU executor, `mtsnn_tests::kernel`, vs `mtsnn_core::cpu::conv` and `cpu::pool`) on random inputs of awkward sizes, and the GPU backend against the
//! CPU backend on small CNNs (gradients in both modes, weights after training), on the reference
//! CNN case, on a short training run, and on a batch too large for the device. Needs a GPU adapter
//! (lavapipe will do); see `mtsnn_tests::gpu`.
//!
//! Tolerance: `mtsnn_tests::compare` (|x−y| ≤ max(r·|x+y|, r·RMS(cpu)), r = 1e-5) for single
//! kernels, whose sums differ from the CPU's im2col + GEMM only by their order; widened by `CHAIN`
//! for whole backward passes, as in `gpu_backend.rs`. Spike counts must be equal.

use std::sync::Arc;

use mtsnn_core::cpu::{conv as cpu, pool as cpu_pool};
use mtsnn_core::gpu::{self, GEMM_TILES, GpuTensor, Loads, MatmulPath, WeightGradChunks};
use mtsnn_core::hyper::{GradMode, InitMean};
use mtsnn_core::plan::ConvGeom;
use mtsnn_core::rng::Rng;
use mtsnn_core::schedule::{Buf, Pool, Step};
use mtsnn_core::{
    Backend, CpuBackend, Error, GpuBackend, GpuContext, Hyper, Mode, Model, NetSpec, Shape,
    Surrogate,
};
use mtsnn_tests::compare::{assert_close, worst_relative};
use mtsnn_tests::gpu::gpu_context;
use mtsnn_tests::kernel::{On, gpu_step, run_step};
use mtsnn_tests::lockstep::{train_in_lockstep, weight_step};
use serde_json::Value;

/// Whole forward and backward passes: r = 10 · 1e-5.
const CHAIN: f32 = 10.0;

fn normal(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// Spike-like maps: counts 0..3.
fn counts(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.below(4) as f32).collect()
}

fn geom(
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    padding: usize,
    height: usize,
    width: usize,
) -> ConvGeom {
    ConvGeom {
        in_channels,
        out_channels,
        kernel,
        padding,
        height,
        width,
    }
}

/// The three conv kernels, each on buffers 0, 1, 2 in the order of its CPU twin's arguments.
fn conv_forward(images: usize, geom: ConvGeom) -> Step {
    let (input, w, out) = (Buf(0), Buf(1), Buf(2));
    Step::ConvForward {
        input,
        w,
        out,
        images,
        geom,
    }
}

fn conv_input_grad(images: usize, geom: ConvGeom) -> Step {
    let (grad_out, w, grad_in) = (Buf(0), Buf(1), Buf(2));
    Step::ConvInputGrad {
        grad_out,
        w,
        grad_in,
        images,
        geom,
    }
}

fn conv_weight_grad(images: usize, geom: ConvGeom) -> Step {
    let (input, grad_out, grad_w) = (Buf(0), Buf(1), Buf(2));
    Step::ConvWeightGrad {
        input,
        grad_out,
        grad_w,
        images,
        geom,
    }
}

/// The pooling kernels, on buffers 0, 1 (, 2) in the order of their CPU twins' arguments.
fn pool(maps: usize, height: usize, width: usize, kernel: usize) -> Pool {
    Pool {
        maps,
        height,
        width,
        kernel,
    }
}

fn avg_pool_forward(p: Pool) -> Step {
    let (input, out) = (Buf(0), Buf(1));
    Step::AvgPoolForward {
        input,
        out,
        pool: p,
    }
}

fn avg_pool_backward(p: Pool) -> Step {
    let (grad_out, grad_in) = (Buf(0), Buf(1));
    Step::AvgPoolBackward {
        grad_out,
        grad_in,
        pool: p,
    }
}

fn max_pool_forward(p: Pool) -> Step {
    let (input, out) = (Buf(0), Buf(1));
    Step::MaxPoolForward {
        input,
        out,
        pool: p,
    }
}

fn max_pool_backward(p: Pool) -> Step {
    let (input, grad_out, grad_in) = (Buf(0), Buf(1), Buf(2));
    Step::MaxPoolBackward {
        input,
        grad_out,
        grad_in,
        pool: p,
    }
}

/// Odd sizes, padding 0/1/2, channel counts that are not multiples of 4, and image counts whose
/// totals are not multiples of the 64-invocation workgroups. For the implicit GEMMs' tiles
/// (16 channels × 256 pixels, or × 256/split patch positions for the weight gradient): channel
/// counts over 16 and 32 (several tiles on the uniform side), pixel counts over 256 with tiles
/// that straddle images, patch sizes (in_ch·k·k) that make the weight gradient split each
/// workgroup into 8, 4, 2 and 1 groups (9, 54, 100 and 375, 500), fewer images than groups,
/// and enough images that an input-gradient tile holds only a few pixels.
fn geoms() -> Vec<(ConvGeom, usize)> {
    vec![
        (geom(1, 3, 3, 1, 8, 8), 3),
        (geom(3, 5, 5, 2, 7, 9), 5),
        (geom(2, 7, 3, 0, 6, 5), 7),
        (geom(5, 2, 5, 0, 9, 11), 2),
        (geom(6, 9, 3, 2, 5, 3), 3),
        (geom(3, 1, 1, 0, 13, 7), 1),
        // The MNIST net's second layer, on 3 images.
        (geom(15, 40, 5, 0, 12, 12), 3),
        (geom(4, 33, 5, 2, 10, 9), 2),
        (geom(12, 5, 4, 1, 9, 9), 1),
        (geom(20, 18, 5, 2, 6, 7), 2),
        (geom(21, 17, 3, 1, 11, 5), 9),
        // Enough images that an input-gradient tile (pixel-major lanes) holds a few pixels of
        // one row, or one or two pixels: its kernel offsets are cut to those that reach the map.
        (geom(3, 4, 5, 0, 7, 11), 64),
        (geom(2, 3, 3, 1, 5, 6), 300),
    ]
}

/// Each convolution kernel on every geometry of [`geoms`]; the forward pass and the input
/// gradient once per GEMM path the engine ships, forced in turn whatever the adapter (software
/// adapters' register-tile kernels, and the workgroup-memory-tile kernels of hardware GPUs with
/// each tile of `GEMM_TILES`, by scalar and by 16-byte loads); the weight gradient, which has one
/// kernel, once. The forward pass's 16-byte loads of the weights (patches of 100, 192 and 500
/// here) give the bits of its scalar loads.
#[test]
fn conv_kernels_match_their_cpu_twins() {
    let tiled = |loads| GEMM_TILES.map(move |t| MatmulPath::tiled(t, loads));
    let paths = std::iter::once(MatmulPath::Direct)
        .chain(tiled(Loads::Scalar))
        .chain(tiled(Loads::Vec4));
    for path in paths {
        let what = path.to_string();
        let test = format!("conv_kernels_match_their_cpu_twins ({what})");
        let Some(ctx) = gpu_context(&test) else {
            return;
        };
        // For the vec4 loads, the same tile with scalar loads.
        let scalar = match &path {
            MatmulPath::Tiled {
                tiles,
                loads: Loads::Vec4,
                ..
            } => Some(Arc::new(
                gpu_context(&test)
                    .expect("an adapter, as above")
                    .with_matmul_path(MatmulPath::tiled(tiles[0], Loads::Scalar)),
            )),
            _ => None,
        };
        let mut whole_patches = 0;
        let weight_grad = path == MatmulPath::Direct;
        let ctx = Arc::new(ctx.with_matmul_path(path));
        let mut rng = Rng::new(21);
        for (g, images) in geoms() {
            let input = counts(&mut rng, images * g.in_len());
            let w = normal(
                &mut rng,
                g.out_channels * g.in_channels * g.kernel * g.kernel,
            );
            let grad_out = normal(&mut rng, images * g.out_len());

            let mut want = vec![0.0; images * g.out_len()];
            cpu::conv_forward(&input, &w, &mut want, images, &g);
            let got = vec![f32::NAN; want.len()];
            let got = gpu_step(&ctx, conv_forward(images, g), &[&input, &w, &got])
                .unwrap()
                .remove(2);
            assert_close(&format!("{g:?} conv_forward, {what}"), &got, &want, 1.0);
            if let Some(scalar) = &scalar {
                let bits = vec![f32::NAN; want.len()];
                let bits = gpu_step(scalar, conv_forward(images, g), &[&input, &w, &bits])
                    .unwrap()
                    .remove(2);
                assert!(
                    got.iter()
                        .zip(&bits)
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{g:?} conv_forward, {what}: values unlike the scalar loads'"
                );
                whole_patches += usize::from((w.len() / g.out_channels).is_multiple_of(4));
            }

            let mut want = vec![0.0; images * g.in_len()];
            cpu::conv_input_grad(&grad_out, &w, &mut want, images, &g);
            let got = vec![f32::NAN; want.len()];
            let got = gpu_step(&ctx, conv_input_grad(images, g), &[&grad_out, &w, &got])
                .unwrap()
                .remove(2);
            assert_close(&format!("{g:?} conv_input_grad, {what}"), &got, &want, 1.0);

            if !weight_grad {
                continue;
            }
            let mut want = vec![0.0; w.len()];
            cpu::conv_weight_grad(&input, &grad_out, &mut want, images, &g);
            let got = vec![f32::NAN; w.len()];
            let got = gpu_step(
                &ctx,
                conv_weight_grad(images, g),
                &[&input, &grad_out, &got],
            )
            .unwrap()
            .remove(2);
            assert_close(&format!("{g:?} conv_weight_grad"), &got, &want, 1.0);
            println!(
                "{g:?} ×{images}: worst relative weight-gradient difference {:e}",
                worst_relative(&got, &want)
            );
        }
        if scalar.is_some() {
            assert_eq!(
                whole_patches, 3,
                "{what}: geometries with whole-vec4 patches"
            );
        }
    }
}

/// The weight gradient split across workgroups (split-K), forced whatever the adapter: chunk
/// counts that divide no image count, one image, more chunks than images, and each of the
/// kernel's in-workgroup splits (patch sizes 25, 54, 100, 375: 8, 4, 2, 2 groups). Called through
/// the launcher itself, so that the chunk count it chose is seen.
#[test]
fn conv_weight_grad_in_chunks_matches_its_cpu_twin() {
    let cases = [
        // The MNIST net's conv1 and conv2 shapes on few images.
        (geom(1, 15, 5, 0, 28, 28), 13),
        (geom(15, 40, 5, 0, 12, 12), 5),
        (geom(6, 9, 3, 2, 5, 3), 7),
        (geom(4, 33, 5, 2, 10, 9), 1),
        (geom(21, 17, 3, 1, 11, 5), 9),
    ];
    let mut rng = Rng::new(31);
    for chunks in [2, 3, 7, 64] {
        let Some(ctx) = gpu_context(&format!(
            "conv_weight_grad_in_chunks_matches_its_cpu_twin ({chunks} chunks)"
        )) else {
            return;
        };
        let ctx = ctx.with_weight_grad_chunks(WeightGradChunks::Fixed(chunks));
        for (g, images) in cases {
            let input = counts(&mut rng, images * g.in_len());
            let grad_out = normal(&mut rng, images * g.out_len());
            let weights = g.out_channels * g.in_channels * g.kernel * g.kernel;
            let mut want = vec![0.0; weights];
            cpu::conv_weight_grad(&input, &grad_out, &mut want, images, &g);
            let up = |name: &str, v: &[f32]| -> GpuTensor { ctx.upload(name, v).unwrap() };
            let (input, grad_out) = (up("input", &input), up("grad_out", &grad_out));
            // NaN first: every weight must be written.
            let grad_w = up("grad_w", &vec![f32::NAN; weights]);
            let launch = pollster::block_on(gpu::conv::conv_weight_grad(
                &ctx, &input, &grad_out, &grad_w, images, &g,
            ))
            .unwrap();
            assert_eq!(launch.chunks(), chunks, "{g:?}: the forced chunk count");
            assert_eq!(launch.dispatches().count(), 2, "partial sums and their sum");
            let work: Vec<&gpu::Dispatch> = launch.dispatches().collect();
            let got = pollster::block_on(ctx.execute(&work, &[(&grad_w, weights)]))
                .unwrap()
                .remove(0);
            let what = format!("{g:?} ×{images} in {chunks} chunks: conv_weight_grad");
            assert_close(&what, &got, &want, 1.0);
            // Deterministic: a second run gives the same bits.
            let again = pollster::block_on(ctx.execute(&work, &[(&grad_w, weights)]))
                .unwrap()
                .remove(0);
            assert_eq!(again, got, "{what}: a second run");
        }
    }
}

/// Forced chunk counts beyond what the device allows fall back to fewer: a scratch larger than
/// one storage binding (a layer of 1,048,576 weights), and more chunks than the grid's z
/// dimension holds (65,535 in WebGPU).
#[test]
fn a_split_beyond_the_devices_limits_takes_fewer_chunks() {
    let Some(ctx) = gpu_context("a_split_beyond_the_devices_limits_takes_fewer_chunks") else {
        return;
    };
    let ctx = ctx.with_weight_grad_chunks(WeightGradChunks::Fixed(1_000_000));
    let mut rng = Rng::new(37);
    let images = 3;
    let z = ctx.limits().max_compute_workgroups_per_dimension as usize;
    for (g, most) in [
        // 256 → 256 channels, 4×4 kernels on 4×4 maps: 256 tiles of 16 × 256 weights.
        (
            geom(256, 256, 4, 0, 4, 4),
            ctx.max_tensor_values() / (1 << 20),
        ),
        (geom(1, 2, 3, 0, 3, 3), z.min(65_535)),
    ] {
        let weights = g.out_channels * g.in_channels * g.kernel * g.kernel;
        assert!(most < 1_000_000 && most > 1, "{g:?}: {most}");
        let input = counts(&mut rng, images * g.in_len());
        let grad_out = normal(&mut rng, images * g.out_len());
        let mut want = vec![0.0; weights];
        cpu::conv_weight_grad(&input, &grad_out, &mut want, images, &g);
        let (input, grad_out) = (
            ctx.upload("input", &input).unwrap(),
            ctx.upload("grad_out", &grad_out).unwrap(),
        );
        let grad_w = ctx.upload("grad_w", &vec![f32::NAN; weights]).unwrap();
        let launch = pollster::block_on(gpu::conv::conv_weight_grad(
            &ctx, &input, &grad_out, &grad_w, images, &g,
        ))
        .unwrap();
        assert_eq!(launch.chunks(), most, "{g:?}");
        let work: Vec<&gpu::Dispatch> = launch.dispatches().collect();
        let got = pollster::block_on(ctx.execute(&work, &[(&grad_w, weights)]))
            .unwrap()
            .remove(0);
        assert_close(&format!("{g:?} in {most} chunks"), &got, &want, 1.0);
    }
}

#[test]
fn pool_kernels_match_their_cpu_twins() {
    let Some(ctx) = gpu_context("pool_kernels_match_their_cpu_twins") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(22);
    // Heights and widths that windows do not divide (the remainder is dropped), k = 1..3.
    for (maps, h, w, k) in [(7, 5, 4, 2), (3, 9, 7, 3), (11, 3, 5, 1), (5, 8, 8, 2)] {
        let input = counts(&mut rng, maps * h * w);
        let mut want = vec![0.0; maps * (h / k) * (w / k)];
        cpu_pool::avg_pool_forward(&input, &mut want, maps, h, w, k);
        let got = vec![f32::NAN; want.len()];
        let got = gpu_step(&ctx, avg_pool_forward(pool(maps, h, w, k)), &[&input, &got])
            .unwrap()
            .remove(1);
        assert_close(&format!("pool {maps}×{h}×{w} k{k}"), &got, &want, 1.0);

        let grad_out = normal(&mut rng, want.len());
        let mut want = vec![0.0; input.len()];
        cpu_pool::avg_pool_backward(&grad_out, &mut want, maps, h, w, k);
        let got = vec![f32::NAN; want.len()];
        let got = gpu_step(
            &ctx,
            avg_pool_backward(pool(maps, h, w, k)),
            &[&grad_out, &got],
        )
        .unwrap()
        .remove(1);
        assert_close(
            &format!("pool backward {maps}×{h}×{w} k{k}"),
            &got,
            &want,
            1.0,
        );
    }
}

/// Max pooling selects values, so the GPU must agree exactly; spike counts 0..3 make ties common
/// and the gradient must go to the same (first) maximum of each window on both backends.
#[test]
fn max_pool_kernels_match_their_cpu_twins() {
    let Some(ctx) = gpu_context("max_pool_kernels_match_their_cpu_twins") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(24);
    for (maps, h, w, k) in [
        (7, 5, 4, 2),
        (3, 9, 7, 3),
        (11, 3, 5, 1),
        (5, 8, 8, 2),
        (13, 7, 11, 3),
        (9, 6, 6, 3),
    ] {
        // Counts 0..1 in half the cases: most windows hold several maxima.
        let input: Vec<f32> = if maps % 2 == 1 {
            (0..maps * h * w).map(|_| rng.below(2) as f32).collect()
        } else {
            counts(&mut rng, maps * h * w)
        };
        let what = format!("max pool {maps}×{h}×{w} k{k}");
        let mut want = vec![0.0; maps * (h / k) * (w / k)];
        cpu_pool::max_pool_forward(&input, &mut want, maps, h, w, k);
        let got = vec![f32::NAN; want.len()];
        let got = gpu_step(&ctx, max_pool_forward(pool(maps, h, w, k)), &[&input, &got])
            .unwrap()
            .remove(1);
        assert_eq!(got, want, "{what}");

        let grad_out = normal(&mut rng, want.len());
        let mut want = vec![0.0; input.len()];
        cpu_pool::max_pool_backward(&input, &grad_out, &mut want, maps, h, w, k);
        let got = vec![f32::NAN; want.len()];
        let step = max_pool_backward(pool(maps, h, w, k));
        let got = gpu_step(&ctx, step, &[&input, &grad_out, &got])
            .unwrap()
            .remove(2);
        assert_eq!(got, want, "{what} backward");
        // Every window's gradient lands exactly once.
        let sum = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>();
        assert!(
            (sum(&got) - sum(&grad_out)).abs() < 1e-3,
            "{what}: gradient mass"
        );
        if k > 1 {
            let nonzero = got.iter().filter(|&&g| g != 0.0).count();
            assert_eq!(nonzero, grad_out.len(), "{what}: one pixel per window");
        }
    }
}

/// Launches of more than 65,535 workgroups take the 2-D grid: the three conv kernels with
/// 1,075,200 channels on one side (67,200 tiles of 16), a weight gradient of 67,200 weights, and
/// a pooling backward pass of 4.3 M values (67,200 groups of 64).
#[test]
fn kernels_beyond_65535_workgroups_match_cpu() {
    let Some(ctx) = gpu_context("kernels_beyond_65535_workgroups_match_cpu") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(23);
    let wide = 67_200 * 16;
    // 1×1 maps, 1×1 kernels: 1 input channel and `wide` outputs for the forward pass and the
    // weight gradient (uniform side: output channels), the reverse for the input gradient.
    let g = geom(1, wide, 1, 0, 1, 1);
    let images = 2;
    let input = counts(&mut rng, images * g.in_len());
    let w = normal(&mut rng, wide);
    let grad_out = normal(&mut rng, images * g.out_len());
    let mut want = vec![0.0; images * g.out_len()];
    cpu::conv_forward(&input, &w, &mut want, images, &g);
    let got = vec![f32::NAN; want.len()];
    let got = gpu_step(&ctx, conv_forward(images, g), &[&input, &w, &got])
        .unwrap()
        .remove(2);
    assert_close("1,075,200-channel conv_forward", &got, &want, 1.0);
    let mut want = vec![0.0; wide];
    cpu::conv_weight_grad(&input, &grad_out, &mut want, images, &g);
    let got = vec![f32::NAN; want.len()];
    let got = gpu_step(
        &ctx,
        conv_weight_grad(images, g),
        &[&input, &grad_out, &got],
    )
    .unwrap()
    .remove(2);
    assert_close("1,075,200-channel conv_weight_grad", &got, &want, 1.0);
    let g = geom(wide, 1, 1, 0, 1, 1);
    let grad_out = normal(&mut rng, images * g.out_len());
    let mut want = vec![0.0; images * g.in_len()];
    cpu::conv_input_grad(&grad_out, &w, &mut want, images, &g);
    let got = vec![f32::NAN; want.len()];
    let got = gpu_step(&ctx, conv_input_grad(images, g), &[&grad_out, &w, &got])
        .unwrap()
        .remove(2);
    assert_close("1,075,200-channel conv_input_grad", &got, &want, 1.0);

    let g = geom(60, 70, 4, 0, 5, 4);
    let input = counts(&mut rng, images * g.in_len());
    let grad_out = normal(&mut rng, images * g.out_len());
    let mut want = vec![0.0; 70 * 60 * 16];
    cpu::conv_weight_grad(&input, &grad_out, &mut want, images, &g);
    let got = vec![f32::NAN; want.len()];
    let got = gpu_step(
        &ctx,
        conv_weight_grad(images, g),
        &[&input, &grad_out, &got],
    )
    .unwrap()
    .remove(2);
    assert_close("67,200-weight conv_weight_grad", &got, &want, 1.0);

    let (maps, h, w, k) = (4200, 32, 32, 2);
    let grad_out = normal(&mut rng, maps * 16 * 16);
    let mut want = vec![0.0; maps * h * w];
    cpu_pool::avg_pool_backward(&grad_out, &mut want, maps, h, w, k);
    let got = vec![f32::NAN; want.len()];
    let got = gpu_step(
        &ctx,
        avg_pool_backward(pool(maps, h, w, k)),
        &[&grad_out, &got],
    )
    .unwrap()
    .remove(1);
    assert_close("4.3 M-value avg_pool_backward", &got, &want, 1.0);

    let input = counts(&mut rng, maps * h * w);
    let mut want = vec![0.0; maps * h * w];
    cpu_pool::max_pool_backward(&input, &grad_out, &mut want, maps, h, w, k);
    let got = vec![f32::NAN; want.len()];
    let step = max_pool_backward(pool(maps, h, w, k));
    let got = gpu_step(&ctx, step, &[&input, &grad_out, &got])
        .unwrap()
        .remove(2);
    assert_eq!(got, want, "4.3 M-value max_pool_backward");
}

#[test]
fn wrong_sizes_are_shape_errors() {
    let Some(ctx) = gpu_context("wrong_sizes_are_shape_errors") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let g = geom(2, 3, 3, 1, 5, 5);
    let (input, w) = (vec![0.0; 2 * g.in_len()], vec![0.0; 3 * 2 * 9]);
    let out = vec![0.0; 2 * g.out_len()];
    let (pooled, grad_in) = (vec![0.0; 4], vec![0.0; 16]);
    for on in [On::Cpu, On::Gpu(&ctx)] {
        let shape_error = |step: Step, buffers: &[&[f32]]| {
            matches!(run_step(on, step, buffers, None), Err(Error::Shape(_)))
        };
        assert!(shape_error(conv_forward(2, g), &[&input[1..], &w, &out]));
        assert!(shape_error(
            conv_forward(2, geom(2, 3, 9, 0, 5, 5)),
            &[&input, &w, &out]
        ));
        let too_wide = pool(1, 4, 4, 5);
        assert!(shape_error(
            avg_pool_forward(too_wide),
            &[&input[..16], &pooled]
        ));
        assert!(shape_error(
            max_pool_forward(too_wide),
            &[&input[..16], &pooled]
        ));
        assert!(shape_error(
            max_pool_backward(pool(1, 4, 4, 2)),
            &[&input[..15], &pooled, &grad_in]
        ));
    }
}

/// A random CNN by eq 17's initialisation, and a batch of maps in [0, 3).
fn setup(
    net: &str,
    shape: Shape,
    classes: usize,
    hyper: Hyper,
    batch: usize,
    seed: u64,
) -> (Model, Vec<f32>, Vec<u32>) {
    let spec = NetSpec::parse(net, shape, classes).unwrap();
    let model = Model::init(spec, hyper, seed).unwrap();
    let mut rng = Rng::new(seed + 100);
    let x: Vec<f32> = (0..batch * shape.len())
        .map(|_| (rng.uniform() * 3.0) as f32)
        .collect();
    let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
    (model, x, labels)
}

/// The reference CNN, a two-conv net with padding 2 and odd channel counts, and one that pools
/// the raw input (a constant input for its first conv layer); then the same with max pooling
/// (windows of 2 and 3 that leave rows and columns over).
const NETS: [(&str, [usize; 3], usize, usize, usize); 6] = [
    ("3C3p1-P2-5", [1, 8, 8], 5, 2, 5),
    ("5C3p1-P2-7C5p2-6-3", [2, 9, 7], 3, 3, 3),
    ("P2-3C3p0-4", [1, 10, 10], 4, 2, 6),
    ("3C3p1-MP2-5", [1, 8, 8], 5, 2, 5),
    ("5C3p1-MP3-7C3p1-MP2-6-3", [2, 9, 7], 3, 3, 3),
    ("MP2-3C3p0-4", [1, 10, 10], 4, 2, 6),
];

#[test]
fn cnn_spikes_loss_and_gradients_match_cpu_in_both_modes() {
    let Some(ctx) = gpu_context("cnn_spikes_loss_and_gradients_match_cpu_in_both_modes") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let modes = [
        (Surrogate::F2, GradMode::Paper, false),
        (Surrogate::F1, GradMode::Paper, false),
        (Surrogate::F3, GradMode::Bptt, true),
        (Surrogate::F2, GradMode::Bptt, false),
    ];
    for (seed, (net, [c, h, w], classes, steps, batch)) in NETS.into_iter().enumerate() {
        for (surrogate, grad, detach_reset) in modes {
            // The fan-in init: under the pre-layer one some of these tiny nets start with silent
            // layers and a zero gradient for layer 1, and the comparison wants every tensor alive.
            let hyper = Hyper::default()
                .with_steps(steps)
                .with_surrogate(surrogate)
                .with_grad(grad)
                .with_detach_reset(detach_reset)
                .with_init(InitMean::FanIn);
            let what = format!("{net} T={steps} {surrogate} {grad:?} detach_reset={detach_reset}");
            let (model, x, labels) =
                setup(net, Shape::new(c, h, w), classes, hyper, batch, seed as u64);
            let mut cpu = CpuBackend::new(&model).unwrap();
            let mut gpu = GpuBackend::new(Arc::clone(&ctx), &model).unwrap();

            let (want, got) = (cpu.infer(&x, true).unwrap(), gpu.infer(&x, true).unwrap());
            assert_eq!(got, want, "{what}: spike counts of every layer");
            assert!(
                want.layers[0].iter().any(|&s| s > 0.0),
                "{what}: the first layer never spikes"
            );

            let (loss_cpu, grads_cpu) = cpu.gradients(&x, &labels).unwrap();
            let (loss_gpu, grads_gpu) = gpu.gradients(&x, &labels).unwrap();
            assert_close(&format!("{what}: loss"), &[loss_gpu], &[loss_cpu], 1.0);
            for (i, (g, c)) in grads_gpu.iter().zip(&grads_cpu).enumerate() {
                assert_close(&format!("{what}: ∂L/∂W{i}"), g, c, CHAIN);
            }
            assert!(
                grads_cpu[0].iter().any(|&v| v != 0.0),
                "{what}: the first layer got no gradient"
            );
            let worst = grads_gpu
                .iter()
                .zip(&grads_cpu)
                .map(|(g, c)| worst_relative(g, c))
                .fold(0.0, f32::max);
            println!("{what}: loss {loss_gpu} vs {loss_cpu}, worst relative gradient {worst:e}");
        }
    }
}

/// A profiled training batch names each launch: one `conv_weight_grad` per conv layer on the
/// adapter's choice for lavapipe (one chunk), and its two launches when split into chunks.
#[test]
fn a_profiled_batch_names_the_weight_gradients_launches() {
    for chunks in [WeightGradChunks::Single, WeightGradChunks::Fixed(4)] {
        let Some(ctx) = gpu_context(&format!(
            "a_profiled_batch_names_the_weight_gradients_launches ({chunks:?})"
        )) else {
            return;
        };
        let ctx = ctx.with_weight_grad_chunks(chunks);
        let timestamps = ctx.has_timestamps();
        let hyper = Hyper::default().with_steps(2);
        let (model, x, labels) = setup("5C3p1-P2-7C5p2-6-3", Shape::new(2, 9, 7), 3, hyper, 8, 4);
        let mut gpu = GpuBackend::new(Arc::new(ctx), &model).unwrap();
        let times = gpu.profile_train_batch(&x, &labels).unwrap();
        assert_eq!(times.is_some(), timestamps);
        let Some(times) = times else { continue };
        let count = |kernel: &str| {
            times
                .iter()
                .filter(|(l, _)| l.split(' ').next() == Some(kernel))
                .count()
        };
        let split = chunks != WeightGradChunks::Single;
        assert_eq!(
            count("conv_weight_grad"),
            if split { 0 } else { 2 },
            "{times:?}"
        );
        assert_eq!(
            count("conv_weight_grad:chunks"),
            if split { 2 } else { 0 },
            "{times:?}"
        );
        assert_eq!(
            count("conv_weight_grad:sum"),
            if split { 2 } else { 0 },
            "{times:?}"
        );
        if split {
            assert!(
                times.iter().any(|(l, _)| l.contains("4 chunks")),
                "{times:?}"
            );
        }
    }
}

/// Four Adam steps on alternating batch sizes; the step taken, w − w₀, is compared (see
/// `gpu_backend.rs`). Once with the adapter's weight-gradient chunks, then with the images split
/// into 3 chunks (8 and 4 maps for layer 1, 16 and 8 for layer 2: none a multiple of 3) and into
/// 20 (more chunks than maps).
#[test]
fn cnn_weights_match_cpu_after_several_train_steps() {
    for chunks in [None, Some(3), Some(20)] {
        let Some(ctx) = gpu_context(&format!(
            "cnn_weights_match_cpu_after_several_train_steps ({chunks:?} chunks)"
        )) else {
            return;
        };
        let ctx = match chunks {
            Some(n) => ctx.with_weight_grad_chunks(WeightGradChunks::Fixed(n)),
            None => ctx,
        };
        let hyper = Hyper::default().with_steps(2).with_lr(0.005);
        let shape = Shape::new(2, 9, 7);
        let (model, x, labels) = setup("5C3p1-P2-7C5p2-6-3", shape, 3, hyper, 8, 4);
        let mut cpu = CpuBackend::new(&model).unwrap();
        let mut gpu = GpuBackend::new(Arc::new(ctx), &model).unwrap();
        let (after_cpu, after_gpu) = train_in_lockstep(&mut cpu, &mut gpu, &model, &x, &labels, 4);
        for i in 0..model.weights().len() {
            assert_close(
                &format!("{chunks:?} chunks: Δw{i}"),
                &weight_step(&model, &after_gpu, i),
                &weight_step(&model, &after_cpu, i),
                CHAIN,
            );
        }
        assert_eq!(
            gpu.infer(&x[..3 * shape.len()], true).unwrap(),
            cpu.infer(&x[..3 * shape.len()], true).unwrap()
        );
    }
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        _ => panic!("not numeric: {v}"),
    }
}

fn flat32(v: &Value) -> Vec<f32> {
    flat(v).into_iter().map(|x| x as f32).collect()
}

/// The reference CNN case (`tests/data/reference-v1.json`, kind "cnn", float64) on the GPU
/// backend, with `reference.rs`'s tolerance: |x − y| ≤ 1e-4·max(|y|, 1); spikes exact.
#[test]
fn reference_cnn_case_on_the_gpu_backend() {
    let Some(ctx) = gpu_context("reference_cnn_case_on_the_gpu_backend") else {
        return;
    };
    let r: Value = serde_json::from_str(include_str!("../data/reference-v1.json")).unwrap();
    let case = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "cnn")
        .expect("a CNN case");
    let p = &case["params"];
    let f = |k: &str| p[k].as_f64().unwrap() as f32;
    let hyper = Hyper::default()
        .with_tau_m(f("tau"))
        .with_v_th(f("vth"))
        .with_s_max(p["smax"].as_u64().unwrap() as u32)
        .with_alpha_h(f("aH"))
        .with_alpha_w(f("aW"))
        .with_surrogate(case["surrogate"].as_str().unwrap().parse().unwrap())
        .with_steps(p["T"].as_u64().unwrap() as usize)
        .with_target_count(f("target"));
    let x = flat32(&case["x"]);
    let labels: Vec<u32> = flat(&case["labels"]).iter().map(|&l| l as u32).collect();
    let weights: Vec<Vec<f32>> = case["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(flat32)
        .collect();
    let spec = NetSpec::parse("3C3p1-P2-5", Shape::new(1, 8, 8), 5).unwrap();
    let model = Model::from_weights(spec, hyper, weights);
    let mut gpu = GpuBackend::new(Arc::new(ctx), &model).unwrap();
    let close = |what: &str, got: &[f32], want: &[f64]| {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= 1e-4 * w.abs().max(1.0),
                "{what}[{i}]: got {g}, want {w}"
            );
        }
    };
    let inf = gpu.infer(&x, true).unwrap();
    assert_eq!(
        inf.layers[0],
        flat32(&case["layers"][0]["s"]),
        "conv spikes"
    );
    assert_eq!(inf.output, flat32(&case["layers"][1]["s"]), "output spikes");
    let (loss, grads) = gpu.gradients(&x, &labels).unwrap();
    close("loss", &[loss], &[case["loss"].as_f64().unwrap()]);
    for (li, g) in grads.iter().enumerate() {
        close(&format!("grad {li}"), g, &flat(&case["grads"][li]));
    }
}

/// 1×8×8 images of four classes: a bright 3×3 blob in one of the four quadrants, at a random
/// place inside it, over uniform noise.
fn blobs(rng: &mut Rng, n: usize) -> (Vec<f32>, Vec<u32>) {
    let mut x = Vec::with_capacity(n * 64);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let class = rng.below(4);
        let (y0, x0) = (
            4 * (class / 2) + rng.below(2),
            4 * (class % 2) + rng.below(2),
        );
        let mut img: Vec<f32> = (0..64).map(|_| rng.uniform() as f32).collect();
        for dy in 0..3 {
            for dx in 0..3 {
                img[(y0 + dy) * 8 + x0 + dx] += 3.0;
            }
        }
        x.extend(img);
        labels.push(class as u32);
    }
    (x, labels)
}

#[test]
fn short_cnn_training_on_the_gpu_beats_chance() {
    let Some(ctx) = gpu_context("short_cnn_training_on_the_gpu_beats_chance") else {
        return;
    };
    // The fan-in init: with the pre-layer one this tiny net (3×3 filters on 8×8 inputs) is still
    // at 19 % after these four epochs.
    let hyper = Hyper::default()
        .with_steps(2)
        .with_lr(0.005)
        .with_init(InitMean::FanIn);
    let spec = NetSpec::parse("4C3p1-P2-4", Shape::new(1, 8, 8), 4).unwrap();
    let model = Model::init(spec, hyper, 3).unwrap();
    let mut gpu = GpuBackend::new(Arc::new(ctx), &model).unwrap();
    let mut rng = Rng::new(8);
    let (x, labels) = blobs(&mut rng, 320);
    let (test_x, test_labels) = blobs(&mut rng, 200);
    for _epoch in 0..4 {
        for (xb, lb) in x.chunks(32 * 64).zip(labels.chunks(32)) {
            gpu.train_batch(xb, lb).unwrap();
        }
    }
    let predictions = gpu.infer(&test_x, false).unwrap().predictions();
    let correct = predictions
        .iter()
        .zip(&test_labels)
        .filter(|(p, l)| **p == **l as usize)
        .count();
    let accuracy = correct as f32 / test_labels.len() as f32;
    println!("accuracy after 4 epochs of 320 samples: {accuracy}");
    assert!(accuracy > 0.5, "accuracy {accuracy} (chance 0.25)");
}

/// The paper's CIFAR-10 net at batch 128, T = 2 needs 256·32·32·2 potentials per sample in its
/// second layer alone: more than one storage binding holds on devices such as lavapipe (128 MiB).
/// A too-large batch is refused before anything is allocated, with an error naming the largest
/// batch that fits; that batch size itself is accepted by the check.
#[test]
fn cifar_net_at_too_large_a_batch_is_a_clear_error() {
    let Some(ctx) = gpu_context("cifar_net_at_too_large_a_batch_is_a_clear_error") else {
        return;
    };
    let hyper = Hyper::default().with_steps(2);
    let spec = NetSpec::parse(
        "96C3-256C3-P2-384C3-P2-384C3-256C3-1024-1024",
        Shape::new(3, 32, 32),
        10,
    )
    .unwrap();
    let model = Model::init(spec, hyper, 1).unwrap();
    let ctx: Arc<GpuContext> = Arc::new(ctx);
    let mut gpu = GpuBackend::new(Arc::clone(&ctx), &model).unwrap();
    let max = gpu.max_batch(Mode::Training);
    let widest = 2 * 256 * 32 * 32;
    assert_eq!(
        max,
        ctx.max_tensor_values() / widest,
        "the widest buffer limits the batch"
    );
    let batch = 128;
    if max >= batch {
        println!("{} binds a batch of {batch}; nothing to refuse", ctx.name());
        return;
    }
    let x = vec![0.0; batch * 3 * 32 * 32];
    let labels = vec![0; batch];
    let err = gpu.train_batch(&x, &labels).unwrap_err();
    let msg = err.to_string();
    println!("{msg}");
    assert!(matches!(err, Error::Gpu(_)), "{err:?}");
    assert!(
        msg.contains(&format!("the largest batch that fits is {max}")),
        "{msg}"
    );
    assert!(matches!(
        gpu.infer(&x[..(max + 1) * 3 * 32 * 32], false),
        Err(Error::Gpu(_))
    ));
}
