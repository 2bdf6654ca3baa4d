//! The GPU backend against the CPU backend on the same small random MLPs: spike counts, loss and
//! gradients of one batch (all surrogates, both gradient modes), and the weights and Adam state
//! after several `train_batch` steps. Needs a GPU adapter (lavapipe will do); see
//! `mtsnn_tests::gpu`.
//!
//! Tolerance: `mtsnn_tests::compare` (|x−y| ≤ max(r·|x+y|, r·RMS(cpu)), r = 1e-5), widened by
//! the factor `CHAIN` for gradients, which pass through up to three GEMMs and two scans whose
//! f32 rounding differs between the backends (reordered sums, WGSL's exp and division).
//! Spike counts must be equal.

use std::sync::Arc;

use mtsnn_core::gpu::{Loads, MatmulPath};
use mtsnn_core::hyper::GradMode;
use mtsnn_core::lr_schedule::{LrSchedule, ScheduleKind};
use mtsnn_core::rng::Rng;
use mtsnn_core::{
    Backend, BackendKind, CpuBackend, Error, GpuBackend, Hyper, Model, NetSpec, Shape, Surrogate,
    choose_backend, create_backend,
};
use mtsnn_tests::compare::{assert_close, worst_relative};
use mtsnn_tests::gpu::gpu_context;
use mtsnn_tests::lockstep::{train_in_lockstep, weight_step};

/// Gradients: r = 10 · 1e-5.
const CHAIN: f32 = 10.0;

/// A random MLP by eq 17's initialisation, and a batch that makes every layer spike.
fn setup(
    net: &str,
    inputs: usize,
    classes: usize,
    hyper: Hyper,
    batch: usize,
    seed: u64,
) -> (Model, Vec<f32>, Vec<u32>) {
    let spec = NetSpec::parse(net, Shape::flat(inputs), classes).unwrap();
    let model = Model::init(spec, hyper, seed).unwrap();
    let mut rng = Rng::new(seed + 100);
    let x: Vec<f32> = (0..batch * inputs)
        .map(|_| (rng.uniform() * 3.0) as f32)
        .collect();
    let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
    (model, x, labels)
}

fn gpu_backend(test: &str, model: &Model) -> Option<GpuBackend> {
    let ctx = gpu_context(test)?;
    Some(GpuBackend::new(Arc::new(ctx), model).unwrap())
}

#[test]
fn spikes_loss_and_gradients_match_cpu_for_every_surrogate_and_mode() {
    let Some(ctx) = gpu_context("spikes_loss_and_gradients_match_cpu_for_every_surrogate_and_mode")
    else {
        return;
    };
    let ctx = Arc::new(ctx);
    let modes = [
        (GradMode::Paper, false),
        (GradMode::Paper, true),
        (GradMode::Bptt, true),
        (GradMode::Bptt, false),
    ];
    let nets = [
        ("12-8-4", 12, 4, 2, 6),
        ("20-33-17-5", 20, 5, 3, 9),
        ("70-65-10", 70, 10, 1, 13),
    ];
    for (seed, (net, inputs, classes, steps, batch)) in nets.into_iter().enumerate() {
        for surrogate in [Surrogate::F1, Surrogate::F2, Surrogate::F3] {
            for (grad, detach_reset) in modes {
                let hyper = Hyper::default()
                    .with_steps(steps)
                    .with_surrogate(surrogate)
                    .with_grad(grad)
                    .with_detach_reset(detach_reset);
                let what =
                    format!("{net} T={steps} {surrogate} {grad:?} detach_reset={detach_reset}");
                let (model, x, labels) = setup(net, inputs, classes, hyper, batch, seed as u64);
                let mut cpu = CpuBackend::new(&model).unwrap();
                let mut gpu = GpuBackend::new(Arc::clone(&ctx), &model).unwrap();

                let (want, got) = (cpu.infer(&x, true).unwrap(), gpu.infer(&x, true).unwrap());
                assert_eq!(got, want, "{what}: spike counts of every layer");
                assert!(
                    want.layers.iter().all(|s| s.iter().any(|&c| c > 0.0)),
                    "{what}: a layer never spikes"
                );

                let (loss_cpu, grads_cpu) = cpu.gradients(&x, &labels).unwrap();
                let (loss_gpu, grads_gpu) = gpu.gradients(&x, &labels).unwrap();
                assert_close(&format!("{what}: loss"), &[loss_gpu], &[loss_cpu], 1.0);
                for (i, (g, c)) in grads_gpu.iter().zip(&grads_cpu).enumerate() {
                    assert_close(&format!("{what}: ∂L/∂W{i}"), g, c, CHAIN);
                    assert!(
                        c.iter().any(|&v| v != 0.0),
                        "{what}: layer {i} got no gradient"
                    );
                }
                let worst = grads_gpu
                    .iter()
                    .zip(&grads_cpu)
                    .map(|(g, c)| worst_relative(g, c))
                    .fold(0.0, f32::max);
                println!(
                    "{what}: loss {loss_gpu} vs {loss_cpu}, worst relative gradient difference {worst:e}"
                );
            }
        }
    }
}

/// Five Adam steps on the same batches: the same losses and hit counts, and weights and moments
/// that agree. Adam's first steps move each weight by about ±η whatever the size of its
/// gradient, so the step taken, w − w₀, is what is compared (|w| ≫ |Δw| would hide errors).
/// Twice: with the adapter's own GEMMs, and with those a discrete GPU gets (the tiled GEMMs,
/// 16-byte loads wherever the rows allow: every GEMM of this net but the backward ones of its
/// 6-class output layer, which load δ by scalars).
#[test]
fn weights_and_adam_state_match_cpu_after_several_train_steps() {
    let hyper = Hyper::default().with_steps(2).with_lr(0.005);
    let (model, x, labels) = setup("40-24-16-6", 40, 6, hyper, 16, 7);
    let test = "weights_and_adam_state_match_cpu_after_several_train_steps";
    let Some(ctx) = gpu_context(test) else {
        return;
    };
    let discrete = wgpu::AdapterInfo::new(wgpu::DeviceType::DiscreteGpu, wgpu::Backend::Vulkan);
    let hardware = MatmulPath::for_adapter(&discrete, ctx.limits());
    assert!(
        matches!(
            hardware,
            MatmulPath::Tiled {
                loads: Loads::Vec4,
                ..
            }
        ),
        "{hardware}"
    );
    let own = ctx.matmul_path().clone();
    for path in [own, hardware] {
        let what = path.to_string();
        let ctx = gpu_context(test).expect("an adapter, as above");
        let mut gpu = GpuBackend::new(Arc::new(ctx.with_matmul_path(path)), &model).unwrap();
        let mut cpu = CpuBackend::new(&model).unwrap();
        // Alternate a batch of 16 with one of 8 (the GPU keeps one plan per batch size).
        let (after_cpu, after_gpu) = train_in_lockstep(&mut cpu, &mut gpu, &model, &x, &labels, 5);
        assert_eq!(after_gpu.adam().step, 5);
        for i in 0..model.weights().len() {
            let (step_gpu, step_cpu) = (
                weight_step(&model, &after_gpu, i),
                weight_step(&model, &after_cpu, i),
            );
            assert_close(&format!("{what}: Δw{i}"), &step_gpu, &step_cpu, CHAIN);
            assert_close(
                &format!("{what}: adam.m{i}"),
                &after_gpu.adam().m[i],
                &after_cpu.adam().m[i],
                CHAIN,
            );
            assert_close(
                &format!("{what}: adam.v{i}"),
                &after_gpu.adam().v[i],
                &after_cpu.adam().v[i],
                CHAIN,
            );
            println!(
                "{what}, layer {i}: worst relative Δw {:e}, m {:e}, v {:e}",
                worst_relative(&step_gpu, &step_cpu),
                worst_relative(&after_gpu.adam().m[i], &after_cpu.adam().m[i]),
                worst_relative(&after_gpu.adam().v[i], &after_cpu.adam().v[i])
            );
        }
        // Predictions after training agree too, on a batch size not seen before (a fourth plan).
        assert_eq!(
            gpu.infer(&x[..3 * 40], false).unwrap(),
            cpu.infer(&x[..3 * 40], false).unwrap(),
            "{what}"
        );
    }
}

/// A learning-rate schedule reaches the GPU's Adam uniform: under ×0.1 after half of 4 one-update
/// epochs, both backends take the same (smaller) steps, unlike a constant rate's.
#[test]
fn the_gpu_follows_the_learning_rate_schedule() {
    let hyper = Hyper::default().with_lr_schedule(LrSchedule {
        kind: ScheduleKind::Step,
        decay_at: vec![0.5],
        epochs: 4,
        updates_per_epoch: 1,
        warmup: 0.0,
    });
    let (model, x, labels) = setup("40-24-6", 40, 6, hyper, 16, 9);
    let Some(mut gpu) = gpu_backend("the_gpu_follows_the_learning_rate_schedule", &model) else {
        return;
    };
    let mut cpu = CpuBackend::new(&model).unwrap();
    let (after_cpu, after_gpu) = train_in_lockstep(&mut cpu, &mut gpu, &model, &x, &labels, 4);
    let constant = Model::from_weights(
        model.spec().clone(),
        Hyper::default(),
        model.weights().to_vec(),
    );
    let mut plain = CpuBackend::new(&constant).unwrap();
    for step in 0..4 {
        let n = if step % 2 == 0 { 16 } else { 8 };
        plain.train_batch(&x[..n * 40], &labels[..n]).unwrap();
    }
    let mut after_plain = constant.clone();
    plain.read_state(&mut after_plain).unwrap();
    for i in 0..model.weights().len() {
        let (step_gpu, step_cpu) = (
            weight_step(&model, &after_gpu, i),
            weight_step(&model, &after_cpu, i),
        );
        assert_close(&format!("Δw{i}"), &step_gpu, &step_cpu, CHAIN);
        assert_ne!(
            after_cpu.weights()[i],
            after_plain.weights()[i],
            "layer {i}"
        );
    }
}

#[test]
fn bad_batches_and_bad_models_are_errors() {
    let (model, x, labels) = setup("12-8-4", 12, 4, Hyper::default(), 4, 1);
    let Some(mut gpu) = gpu_backend("bad_batches_and_bad_models_are_errors", &model) else {
        return;
    };
    assert!(matches!(
        gpu.train_batch(&x[..11], &labels),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        gpu.train_batch(&x, &labels[..3]),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        gpu.gradients(&x, &[0, 1, 2, 9]),
        Err(Error::Shape(_))
    ));
    assert!(matches!(gpu.infer(&[], false), Err(Error::Shape(_))));
    // The backend still works after refusing those.
    gpu.train_batch(&x, &labels).unwrap();

    // A model whose weights do not fit its spec is refused too.
    let spec = NetSpec::parse("4C3-P2-10", Shape::new(1, 8, 8), 10).unwrap();
    let mut weights = Model::init(spec.clone(), Hyper::default(), 1)
        .unwrap()
        .weights()
        .to_vec();
    weights[0].pop();
    let cnn = Model::from_weights(spec, Hyper::default(), weights);
    assert!(matches!(
        GpuBackend::new(Arc::clone(gpu.context()), &cnn),
        Err(Error::Shape(_))
    ));
}

/// `Gpu` opens any adapter, software included; `Auto` wants hardware and falls back to the CPU
/// (on a machine whose only adapter is software, it picks the CPU).
#[test]
fn create_backend_picks_the_gpu_or_falls_back() {
    let (model, _, _) = setup("12-8-4", 12, 4, Hyper::default(), 4, 1);
    let Some(ctx) = gpu_context("create_backend_picks_the_gpu_or_falls_back") else {
        return;
    };
    let gpu = choose_backend(BackendKind::Gpu, &model).unwrap();
    assert!(
        gpu.backend.name().starts_with("gpu: "),
        "{}",
        gpu.backend.name()
    );
    assert_eq!(gpu.kind, BackendKind::Gpu);
    assert_eq!(gpu.why, format!("asked for: {}", ctx.describe()));
    let auto = choose_backend(BackendKind::Auto, &model).unwrap();
    if ctx.is_software()
        && mtsnn_core::GpuContext::new(mtsnn_core::AdapterPolicy::Hardware).is_err()
    {
        // Only software adapters here (lavapipe): auto takes the CPU and names them.
        assert!(
            auto.backend.name().starts_with("cpu"),
            "{}",
            auto.backend.name()
        );
        assert_eq!(auto.kind, BackendKind::Cpu);
        let name = ctx.adapter_info().name.trim();
        let one = format!("auto: the only GPU adapter is {name} on ");
        let one_end = ", a software rasteriser; backend gpu uses it anyway";
        let several = "auto: the GPU adapters are all software rasterisers (";
        assert!(
            (auto.why.starts_with(&one) && auto.why.ends_with(one_end))
                || (auto.why.starts_with(several) && auto.why.contains(name)),
            "{}",
            auto.why
        );
        assert!(auto.to_string().starts_with("cpu (auto: "), "{auto}");
    } else {
        assert_eq!(auto.kind, BackendKind::Gpu, "{}", auto.why);
        assert!(auto.why.starts_with("auto: "), "{}", auto.why);
    }
    // A CNN runs on the GPU backend too.
    let spec = NetSpec::parse("4C3-P2-10", Shape::new(1, 8, 8), 10).unwrap();
    let cnn = Model::init(spec, Hyper::default(), 1).unwrap();
    let gpu_cnn = create_backend(BackendKind::Gpu, &cnn).unwrap();
    assert!(gpu_cnn.name().starts_with("gpu: "), "{}", gpu_cnn.name());
}
