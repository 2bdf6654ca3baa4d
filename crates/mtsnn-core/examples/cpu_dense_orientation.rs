//! Wall time of the dense products of a training step (batch 128, T = 2) on the `gemm` crate with C
//! row-major, as the schedule stores it, against C computed column-major and transposed back in
//! 32×32 tiles, and what `cpu::gemm::matmul` does (it takes the column-major route for A·Wᵀ with
//! a weight matrix of 1 MB or more). Also says whether the two routes give the same bits. Both
//! threads, medians of 21 calls of each, the three alternating.
//!
//! `cargo run --release -p mtsnn-core --features internals --example cpu_dense_orientation`

mod timing;

use timing::median;

use mtsnn_core::cpu::gemm::{Gemm, gemm_into, matmul, through_column_major};
use mtsnn_core::rng::Rng;

fn main() {
    let mut rng = Rng::new(5);
    // (m, n, k, a_t, b_t) of the paper networks' products: A·Wᵀ (forward, layer 1 once for both
    // steps), δ·W (to the layer below) and δᵀ·s_in (weight gradient).
    let shapes = [
        (
            "FashionMNIST CNN 3136→1024 forward",
            (256, 1024, 3136, false, true),
        ),
        (
            "FashionMNIST CNN 3136→1024 δ·W",
            (256, 3136, 1024, false, false),
        ),
        (
            "FashionMNIST CNN 3136→1024 δᵀ·s",
            (1024, 3136, 256, true, false),
        ),
        ("MNIST CNN 640→300 forward", (256, 300, 640, false, true)),
        ("MNIST CNN 640→300 δ·W", (256, 640, 300, false, false)),
        ("784-800-10 layer 1 forward", (128, 800, 784, false, true)),
        ("784-800-10 layer 1 δᵀ·x", (800, 784, 128, true, false)),
        (
            "784-400-400-10 layer 1 forward",
            (128, 400, 784, false, true),
        ),
        (
            "784-400-400-10 layer 2 forward",
            (256, 400, 400, false, true),
        ),
        ("784-400-400-10 layer 2 δ·W", (256, 400, 400, false, false)),
        ("output layer 1024→10 forward", (256, 10, 1024, false, true)),
    ];
    println!(
        "{:<40} {:>12} {:>14} {:>8} {:>10}  same bits",
        "product", "row-major", "col-major+T", "ratio", "matmul"
    );
    for (name, (m, n, k, a_t, b_t)) in shapes {
        let a: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.normal() as f32).collect();
        let g = Gemm {
            m,
            n,
            k,
            a_t,
            b_t,
            accumulate: false,
            parallel: true,
        };
        let (mut c1, mut c2, mut c3) = (vec![0.0; m * n], vec![0.0; m * n], vec![0.0; m * n]);
        // The three alternate call by call, so that a slow spell of the machine hits all of them.
        let mut times = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..21 {
            times[0].push(median(1, || gemm_into(g, &a, &b, &mut c1)));
            times[1].push(median(1, || through_column_major(g, &a, &b, &mut c2)));
            times[2].push(median(1, || matmul(&a, &b, &mut c3, m, n, k, a_t, b_t)));
        }
        let [row, col, used] = times.map(|mut t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        });
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let same = bits(&c1) == bits(&c2) && bits(&c1) == bits(&c3);
        println!(
            "{name:<40} {:>9.3} ms {:>11.3} ms {:>7.2}× {:>7.3} ms  {same}",
            row * 1e3,
            col * 1e3,
            row / col,
            used * 1e3
        );
    }
}
