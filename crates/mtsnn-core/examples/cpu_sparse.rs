//! Times the spike-driven products (`cpu/sparse.rs`) against the dense GEMMs they replace, at the
//! shapes of the paper MLPs' spiking layers (batch 128, T = 2) and a range of spike densities:
//! the forward product s·Wᵀ and the weight gradient Gᵀ·s, milliseconds per call (median of 21),
//! including the transposes the spike-driven path needs.
//!
//! `cargo run --release -p mtsnn-core --example cpu_sparse`

use std::time::Instant;

use mtsnn_core::cpu::kernels::matmul;
use mtsnn_core::cpu::sparse::{spikes_times_weights, transpose, weight_grad};
use mtsnn_core::rng::Rng;

fn ms(mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..21)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[10]
}

fn main() {
    let mut rng = Rng::new(1);
    println!("ms per call, median of 21; forward s·Wᵀ and weight gradient Gᵀ·s");
    println!(
        "{:>16} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "rows×k→n", "density", "fwd dense", "fwd spike", "grad dense", "grad spike"
    );
    for (rows, k, n) in [(256, 400, 400), (256, 800, 10), (256, 1024, 1024)] {
        let w: Vec<f32> = (0..n * k).map(|_| rng.normal() as f32).collect();
        let g: Vec<f32> = (0..rows * n).map(|_| rng.normal() as f32).collect();
        for density in [0.05, 0.1, 0.2, 0.3, 0.4, 0.6] {
            let s: Vec<f32> = (0..rows * k)
                .map(|_| {
                    if rng.uniform() < density {
                        1.0 + rng.below(4) as f32
                    } else {
                        0.0
                    }
                })
                .collect();
            let mut c = vec![0.0f32; rows * n];
            let mut wt = vec![0.0f32; n * k];
            let (mut grad, mut gt) = (vec![0.0f32; n * k], vec![0.0f32; n * k]);
            let fd = ms(|| matmul(&s, &w, &mut c, rows, n, k, false, true));
            let fs = ms(|| {
                transpose(&w, n, k, &mut wt);
                spikes_times_weights(&s, &wt, &mut c, rows, k, n)
            });
            let gd = ms(|| matmul(&g, &s, &mut grad, n, k, rows, true, false));
            let gs = ms(|| weight_grad(&g, &s, &mut grad, &mut gt, rows, k, n));
            println!(
                "{:>16} {density:>8.2} {fd:>9.3} {fs:>9.3} {gd:>9.3} {gs:>9.3}",
                format!("{rows}×{k}→{n}")
            );
        }
    }
}
