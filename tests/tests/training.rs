//! A short training on generated data clearly beats chance on both backends: 3,000 samples of 10
//! classes, each a class-specific pattern of 64 inputs plus noise, a `64-48-10` spiking MLP with
//! Table I parameters at T = 2, three epochs, then accuracy on 1,000 held-out samples. Chance is 10 %.

use std::sync::Arc;

use mtsnn_core::rng::Rng;
use mtsnn_core::{Backend, CpuBackend, GpuBackend, Hyper, Model, NetSpec, Shape};
use mtsnn_tests::gpu::gpu_context;

const INPUTS: usize = 64;
const CLASSES: usize = 10;

/// `n` samples: class c lights inputs c·6 … c·6+5 (plus a class-specific second bump), on noise.
fn data(n: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = Rng::new(seed);
    let mut x = Vec::with_capacity(n * INPUTS);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % CLASSES;
        for j in 0..INPUTS {
            let on = (c * 6..c * 6 + 6).contains(&j) || j == 60 + c % 4;
            x.push((rng.normal() * 0.5 + if on { 2.0 } else { 0.0 }) as f32);
        }
        y.push(c as u32);
    }
    (x, y)
}

/// Trains three epochs in batches of 64 and returns the held-out accuracy.
fn train_and_test(backend: &mut dyn Backend) -> f64 {
    let (x, y) = data(3000, 1);
    for _ in 0..3 {
        for (xb, yb) in x.chunks(64 * INPUTS).zip(y.chunks(64)) {
            backend.train_batch(xb, yb).unwrap();
        }
    }
    let (xt, yt) = data(1000, 2);
    let pred = backend.infer(&xt, false).unwrap().predictions();
    pred.iter()
        .zip(&yt)
        .filter(|(p, l)| **p == **l as usize)
        .count() as f64
        / yt.len() as f64
}

fn model() -> Model {
    let spec = NetSpec::parse("64-48-10", Shape::flat(INPUTS), CLASSES).unwrap();
    Model::init(spec, Hyper::default(), 7).unwrap()
}

#[test]
fn short_training_beats_chance_on_the_cpu() {
    let acc = train_and_test(&mut CpuBackend::new(&model()).unwrap());
    assert!(acc >= 0.6, "CPU held-out accuracy {acc}");
}

#[test]
fn short_training_beats_chance_on_the_gpu() {
    let Some(ctx) = gpu_context("short_training_beats_chance_on_the_gpu") else {
        return;
    };
    let mut gpu = GpuBackend::new(Arc::new(ctx), &model()).unwrap();
    let acc = train_and_test(&mut gpu);
    assert!(acc >= 0.6, "GPU held-out accuracy {acc}");
}
