//! The dense bound of a schedule on this CPU (`mtsnn bench`): its products alone — eq 3's
//! I = W·s_in, eq 9's Wᵀδ and eq 13's weight gradients, dense and convolutional — timed here, with
//! the shapes the network has and as the CPU backend runs them ([`matmul`] for a dense layer; one
//! product per image over the rayon threads for a convolution), on random values, with nothing
//! else: no im2col or col2im, no neuron kernels, no Adam. A batch cannot take less than their sum,
//! so a network's training throughput divided by the bound's is the share of this machine's dense
//! rate it reaches, a figure that travels between machines better than samples/s.

use std::time::Instant;

use rayon::prelude::*;

use super::conv::with_columns;
use super::gemm::{Gemm, gemm_into, matmul};
use crate::plan::ConvGeom;
use crate::rng::Rng;
use crate::schedule::Step;

/// What the products of one run of a schedule cost on this CPU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DenseBound {
    /// Floating-point operations of the products (2·m·n·k each).
    pub flops: f64,
    /// Seconds they take, each the median of its timed repetitions.
    pub seconds: f64,
    /// How many of the schedule's steps are products.
    pub products: usize,
}

impl DenseBound {
    /// The products' rate, GFLOP/s.
    pub fn gflops(&self) -> f64 {
        self.flops / self.seconds.max(1e-12) / 1e9
    }
}

/// Times every product of `steps` (one warm-up call, then the median of `reps` calls each).
pub fn dense_bound(steps: &[Step], reps: usize) -> DenseBound {
    let mut rng = Rng::new(7);
    let mut bound = DenseBound {
        flops: 0.0,
        seconds: 0.0,
        products: 0,
    };
    for step in steps {
        let Some((flops, mut run)) = product(step, &mut rng) else {
            continue;
        };
        run();
        let mut times: Vec<f64> = (0..reps.max(1))
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        bound.flops += flops;
        bound.seconds += times[times.len() / 2];
        bound.products += 1;
    }
    bound
}

/// Random values for a buffer of `n`.
fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// A step's products as one call on random buffers, and their FLOPs; `None` for other steps.
fn product(step: &Step, rng: &mut Rng) -> Option<(f64, Box<dyn FnMut()>)> {
    let flops = |g: &Gemm, images: usize| 2.0 * (g.m * g.n * g.k * images) as f64;
    match *step {
        Step::Matmul {
            m, n, k, a_t, b_t, ..
        } => {
            let (a, b, mut c) = (random(rng, m * k), random(rng, k * n), vec![0.0; m * n]);
            let g = Gemm {
                m,
                n,
                k,
                a_t,
                b_t,
                accumulate: false,
                parallel: false,
            };
            Some((
                flops(&g, 1),
                Box::new(move || matmul(&a, &b, &mut c, m, n, k, a_t, b_t)),
            ))
        }
        Step::ConvForward { images, geom, .. } => {
            let g = geom.forward_gemm();
            let (w, cols) = (random(rng, g.m * g.k), random(rng, g.k * g.n));
            let mut out = vec![0.0; images * g.m * g.n];
            Some((
                flops(&g, images),
                Box::new(move || {
                    out.par_chunks_mut(g.m * g.n)
                        .for_each(|o| gemm_into(g, &w, &cols, o));
                }),
            ))
        }
        Step::ConvWeightGrad { images, geom, .. } => {
            let g = geom.weight_grad_gemm();
            let (grads, cols) = (random(rng, images * g.m * g.k), random(rng, g.k * g.n));
            Some((
                flops(&g, images),
                Box::new(move || weight_grads(&geom, &g, &grads, &cols, images)),
            ))
        }
        Step::ConvInputGrad { images, geom, .. } => {
            let g = geom.input_grad_gemm();
            let (w, grads) = (random(rng, g.k * g.m), random(rng, images * g.k * g.n));
            Some((
                flops(&g, images),
                Box::new(move || {
                    grads.par_chunks(g.k * g.n).for_each(|gout| {
                        with_columns(g.m * g.n, |cols| gemm_into(g, &w, gout, cols));
                    });
                }),
            ))
        }
        _ => None,
    }
}

/// The weight gradient's products as `conv_weight_grad` splits them: one accumulator per task.
fn weight_grads(geom: &ConvGeom, g: &Gemm, grads: &[f32], cols: &[f32], images: usize) {
    let per_task = images.div_ceil(rayon::current_num_threads().max(1)).max(1);
    let sums: Vec<Vec<f32>> = grads
        .par_chunks(per_task * geom.out_len())
        .map(|part| {
            let mut acc = vec![0.0f32; g.m * g.n];
            for gr in part.chunks_exact(geom.out_len()) {
                gemm_into(*g, gr, cols, &mut acc);
            }
            acc
        })
        .collect();
    std::hint::black_box(sums);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper::Hyper;
    use crate::schedule::{Mode, NetSchedule};
    use crate::spec::{NetSpec, Shape};

    #[test]
    fn counts_the_flops_of_every_product_of_a_training_step() {
        let h = Hyper::default();
        let t = h.steps as f64;
        let spec = NetSpec::parse("784-100-10", Shape::new(1, 28, 28), 10).unwrap();
        let s = NetSchedule::new(&spec, &h, 8, Mode::Training).unwrap();
        let b = dense_bound(&s.schedule.steps, 1);
        // The pixels are the same at every step, so layer 1's current and weight gradient are one
        // product over the 8 samples each; layer 2's forward, weight and input gradients run over
        // T·8 rows. Each product is 2·m·n·k.
        let want = 2.0 * (2.0 * 8.0 * 784.0 * 100.0) + 3.0 * (2.0 * t * 8.0 * 100.0 * 10.0);
        assert_eq!((b.flops, b.products), (want, 5), "{b:?}");
        assert!(b.seconds > 0.0 && b.gflops() > 0.0, "{b:?}");
        // A conv layer on the pixels: its forward and weight-gradient products run once per image
        // (4 filters of 3×3 over 8×8 outputs); the dense layer behind the pooling as above.
        let conv = NetSpec::parse("4C3-P2-10", Shape::new(1, 8, 8), 10).unwrap();
        let s = NetSchedule::new(&conv, &h, 3, Mode::Training).unwrap();
        let c = dense_bound(&s.schedule.steps, 1);
        let want = 2.0 * (2.0 * 3.0 * 4.0 * 64.0 * 9.0) + 3.0 * (2.0 * t * 3.0 * 64.0 * 10.0);
        assert_eq!((c.flops, c.products), (want, 5), "{c:?}");
    }
}
