//! Times the CPU's elementwise kernels on every instruction-set level this machine has: the f2
//! surrogate alone, one backward-scan step with it fused in, the LIF step and Adam, in ns per
//! element (median of repeated passes over 102,400 elements spread around the thresholds).
//!
//! `cargo run --release -p mtsnn-core --features internals --example cpu_elementwise`

use std::time::Instant;

use mtsnn_core::Hyper;
use mtsnn_core::cpu::elementwise::{AdamRun, LifStep, Prepared, ScanStep, SurrogateEval, run_on};
use mtsnn_core::cpu::simd::Isa;
use mtsnn_core::kernel_params::{AdamStep, ScanParams};
use mtsnn_core::rng::Rng;

const N: usize = 102_400;

/// Median ns per element of `reps` calls of `f`.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e9 / N as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

fn main() {
    let h = Hyper::default();
    let sp = h.surrogate_params();
    let p = Prepared::new(&sp);
    let scan = ScanParams::of(&h);
    let mut rng = Rng::new(1);
    let v: Vec<f32> = (0..N)
        .map(|_| (rng.uniform() * 180.0 - 20.0) as f32)
        .collect();
    let up: Vec<f32> = (0..N).map(|_| rng.normal() as f32).collect();
    let step = AdamStep::of(&h, 10);
    let (c1, c2) = step.corrections();
    println!("ns per element, median of 41 passes over {N} (f2, Table I)");
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10}",
        "isa", "f2", "scan+f2", "lif", "adam"
    );
    for isa in Isa::all_supported() {
        let mut out = vec![0.0f32; N];
        let f2 = time(41, || {
            run_on(
                isa,
                SurrogateEval {
                    p: &p,
                    v: &v,
                    out: &mut out,
                },
            )
        });
        let (mut next, mut d, mut g) = (vec![0.0f32; N], vec![0.0f32; N], vec![0.0f32; N]);
        let sc = time(41, || {
            run_on(
                isa,
                ScanStep {
                    p: &p,
                    scan: &scan,
                    upstream: &up,
                    v: &v,
                    next: &mut next,
                    delta: &mut d,
                    g: &mut g,
                },
            )
        });
        let (mut u, mut vv, mut s) = (vec![0.0f32; N], vec![0.0f32; N], vec![0.0f32; N]);
        let lif = time(41, || {
            run_on(
                isa,
                LifStep {
                    lambda: 0.9,
                    v_th: 10.0,
                    s_max: 15.0,
                    current: &v,
                    u: &mut u,
                    v: &mut vv,
                    s: &mut s,
                },
            )
        });
        let (mut w, mut m, mut mv) = (up.clone(), vec![0.0f32; N], vec![0.0f32; N]);
        let adam = time(41, || {
            run_on(
                isa,
                AdamRun {
                    step: &step,
                    c1,
                    c2,
                    w: &mut w,
                    grad: &up,
                    m: &mut m,
                    v: &mut mv,
                },
            )
        });
        println!(
            "{:>8} {f2:>10.2} {sc:>10.2} {lif:>10.2} {adam:>10.2}",
            isa.name()
        );
    }
    let mut scalar = vec![0.0f32; N];
    let reference = time(41, || {
        for (o, &x) in scalar.iter_mut().zip(&v) {
            *o = sp.eval(x);
        }
    });
    println!("reference f2 (SurrogateParams::eval, windowed loop): {reference:.2}");
}
