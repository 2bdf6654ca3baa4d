//! Wall time of the CPU convolution and pooling kernels (`cpu::conv`, `cpu::pool`) at the conv layers of the
//! paper's CNNs, batch 128, T = 2, as a training step calls them: the first conv on the constant
//! input (128 images, forward and weight gradient), the second on 256 maps of pooled spike counts
//! (integers 0..15, 85 % zeros before pooling), all three kernels. Medians of 7 runs.
//!
//! `cargo run --release -p mtsnn-core --features internals --example cpu_conv [mnist|fashion]` (both by default).

mod timing;

use timing::median;

use mtsnn_core::cpu::conv::{conv_forward, conv_input_grad, conv_weight_grad};
use mtsnn_core::cpu::pool::{
    avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward,
};
use mtsnn_core::plan::ConvGeom;
use mtsnn_core::rng::Rng;

const BATCH: usize = 128;
const STEPS: usize = 2;

/// Spike counts: 0 with probability 0.85, else uniform in 1..=15.
fn spikes(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| {
            if rng.uniform() < 0.85 {
                0.0
            } else {
                (1 + rng.below(15)) as f32
            }
        })
        .collect()
}

fn normal(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

fn report(what: &str, macs: f64, s: f64) {
    if macs > 0.0 {
        println!(
            "  {what:<28} {:>8.3} ms {:>7.1} GFLOP/s",
            s * 1e3,
            2.0 * macs / s / 1e9
        );
    } else {
        println!("  {what:<28} {:>8.3} ms", s * 1e3);
    }
}

/// One conv layer: forward and weight gradient always, the input gradient when `input_grad`.
fn conv(what: &str, g: &ConvGeom, images: usize, input: &[f32], input_grad: bool) -> f64 {
    let mut rng = Rng::new(2);
    let w = normal(
        &mut rng,
        g.out_channels * g.in_channels * g.kernel * g.kernel,
    );
    let grad_out = normal(&mut rng, images * g.out_len());
    let mut out = vec![0.0; images * g.out_len()];
    let mut grad_w = vec![0.0; w.len()];
    let mut grad_in = vec![0.0; images * g.in_len()];
    let macs = (images * g.out_len() * g.in_channels * g.kernel * g.kernel) as f64;
    println!(
        "{what}: {}→{} channels, {k}×{k}, padding {}, {}×{} maps, {images} images, {:.0} % zero inputs",
        g.in_channels,
        g.out_channels,
        g.padding,
        g.height,
        g.width,
        100.0 * input.iter().filter(|&&x| x == 0.0).count() as f64 / input.len() as f64,
        k = g.kernel
    );
    let mut total = 0.0;
    let t = median(7, || conv_forward(input, &w, &mut out, images, g));
    report("conv_forward", macs, t);
    total += t;
    let t = median(7, || {
        conv_weight_grad(input, &grad_out, &mut grad_w, images, g)
    });
    report("conv_weight_grad", macs, t);
    total += t;
    if input_grad {
        let t = median(7, || {
            conv_input_grad(&grad_out, &w, &mut grad_in, images, g)
        });
        report("conv_input_grad", macs, t);
        total += t;
    }
    total
}

/// k = 2 pooling of `maps` maps of `h×w` spike counts, forward and backward, average and max.
fn pool(maps: usize, h: usize, w: usize) -> (Vec<f32>, f64) {
    let mut rng = Rng::new(3);
    let s = spikes(&mut rng, maps * h * w);
    let grad_out = normal(&mut rng, maps * (h / 2) * (w / 2));
    let mut out = vec![0.0; grad_out.len()];
    let mut grad_in = vec![0.0; s.len()];
    println!("pooling 2×2 of {maps} maps of {h}×{w}:");
    let mut total = 0.0;
    let t = median(7, || avg_pool_forward(&s, &mut out, maps, h, w, 2));
    report("avg_pool_forward", 0.0, t);
    total += t;
    let t = median(7, || {
        avg_pool_backward(&grad_out, &mut grad_in, maps, h, w, 2)
    });
    report("avg_pool_backward", 0.0, t);
    total += t;
    report(
        "max_pool_forward",
        0.0,
        median(7, || max_pool_forward(&s, &mut out, maps, h, w, 2)),
    );
    report(
        "max_pool_backward",
        0.0,
        median(7, || {
            max_pool_backward(&s, &grad_out, &mut grad_in, maps, h, w, 2)
        }),
    );
    avg_pool_forward(&s, &mut out, maps, h, w, 2);
    (out, total)
}

/// The conv and avg-pool layers of `c1 C5 - P2 - c2 C5 - P2` on 28×28 images with `padding`.
fn net(name: &str, c1: usize, c2: usize, padding: usize) {
    let geom = |in_channels, out_channels, size| ConvGeom {
        in_channels,
        out_channels,
        kernel: 5,
        padding,
        height: size,
        width: size,
    };
    let g1 = geom(1, c1, 28);
    let mut rng = Rng::new(1);
    let x = normal(&mut rng, BATCH * g1.in_len());
    let mut total = conv(&format!("{name} conv1"), &g1, BATCH, &x, false);
    let rows = STEPS * BATCH;
    let (pooled, t) = pool(rows * c1, g1.out_height(), g1.out_width());
    total += t;
    let g2 = geom(c1, c2, g1.out_height() / 2);
    total += conv(&format!("{name} conv2"), &g2, rows, &pooled, true);
    total += pool(rows * c2, g2.out_height(), g2.out_width()).1;
    println!(
        "{name}: {:.2} ms in its convs and average pools per batch of {BATCH}\n",
        total * 1e3
    );
}

fn main() {
    let which = std::env::args().nth(1);
    let run = |name: &str| which.as_deref().is_none_or(|w| w == name);
    if run("mnist") {
        net("15C5-P2-40C5-P2-300", 15, 40, 0);
    }
    if run("fashion") {
        net("32C5-P2-64C5-P2-1024", 32, 64, 2);
    }
}
