//! The CPU backend: plain Rust on all cores, GEMMs by the `gemm` crate. It is the reference the GPU
//! backend is tested against and the fast path on machines without a GPU.
//!
//! Where the time goes and what was chosen (2-core machines, batch 128, T = 2):
//! - GEMMs run on the `gemm` crate with its AVX-512 kernels enabled (chosen at run time by the
//!   crate); ≈ 250 GFLOP/s on `784-400-400-10`'s 256×400×400 product on an AVX-512 Xeon.
//! - The elementwise work (the LIF step, the surrogate fused into the backward scan, Adam) is
//!   vector code chosen at run time (`simd.rs`, `elementwise.rs`), bit-identical to the scalar
//!   definitions on every instruction set.
//! - Spike-driven products (skipping the zero counts of a hidden layer's input in I = W s_in and in
//!   Gᵀ s_in) were measured against the dense GEMMs and are not used: they break even only below
//!   ≈ 10–20 % nonzero counts (forward) and ≈ 5–10 % (weight gradient), while trained networks'
//!   hidden layers have ≈ 25 % (`784-400-400-10` on FashionMNIST, first hidden layer). The
//!   measurement and the commit holding the code are in `results/bench/sparse-vs-dense.txt`.

pub mod conv;
pub mod elementwise;
pub mod kernels;
pub mod simd;

use crate::backend::{Backend, BatchStats, Inference, check_batch};
use crate::error::Result;
use crate::kernel_params::{AdamStep, ScanParams};
use crate::model::Model;
use crate::plan::{Op, layer_ops};
use conv::{
    avg_pool_backward, avg_pool_forward, conv_forward, conv_input_grad, conv_weight_grad,
    max_pool_backward, max_pool_forward,
};
use kernels::{adam_update, lif_forward, matmul, output_error, sum_steps, surrogate_g_scan};

/// One layer and its per-batch buffers, `[steps][batch][values]` (`[batch][values]` when constant).
struct LayerState {
    op: Op,
    out_len: usize,
    constant: bool,
    /// Pre-reset membrane potentials (the backward pass needs f′(v)); empty for pooling.
    v: Vec<f32>,
    /// Spike counts (pooled averages for pooling).
    s: Vec<f32>,
}

/// The network on the CPU.
pub struct CpuBackend {
    model: Model,
    layers: Vec<LayerState>,
    /// Scratch: input currents, upstream gradients ∂L/∂s, δ, G and Σ_t G.
    current: Vec<f32>,
    upstream: Vec<f32>,
    upstream_below: Vec<f32>,
    delta: Vec<f32>,
    g: Vec<f32>,
    gsum: Vec<f32>,
    grads: Vec<Vec<f32>>,
}

impl CpuBackend {
    /// Takes the model (weights and optimiser state) onto the CPU.
    pub fn new(model: &Model) -> Result<Self> {
        model.check_shapes()?;
        let layers = layer_ops(&model.spec)
            .into_iter()
            .map(|l| LayerState {
                op: l.op,
                out_len: l.out_len,
                constant: l.constant,
                v: Vec::new(),
                s: Vec::new(),
            })
            .collect();
        let grads = model.weights.iter().map(|w| vec![0.0; w.len()]).collect();
        Ok(Self {
            model: model.clone(),
            layers,
            current: Vec::new(),
            upstream: Vec::new(),
            upstream_below: Vec::new(),
            delta: Vec::new(),
            g: Vec::new(),
            gsum: Vec::new(),
            grads,
        })
    }

    /// Forward pass (eq 3–5) of a batch, leaving v and s of every layer in `self.layers`.
    ///
    /// A layer whose input is the same at every step (layer 1 under direct encoding) computes its
    /// current once; otherwise all T steps run as one GEMM/convolution over `T·B` rows.
    fn forward(&mut self, x: &[f32], batch: usize) {
        let h = &self.model.hyper;
        let (steps, lambda, sp) = (h.steps, h.lambda(), h.surrogate_params());
        for li in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(li);
            let layer = &mut rest[0];
            let (input, in_constant) = match before.last() {
                Some(prev) => (&prev.s[..], prev.constant),
                None => (x, true),
            };
            let rows = if in_constant { batch } else { steps * batch };
            let out = layer.out_len;
            match layer.op {
                Op::Pool {
                    channels,
                    height,
                    width,
                    kernel,
                    max,
                } => {
                    layer.s.resize(rows * out, 0.0);
                    let pool = if max {
                        max_pool_forward
                    } else {
                        avg_pool_forward
                    };
                    pool(input, &mut layer.s, rows * channels, height, width, kernel);
                    continue;
                }
                Op::Dense {
                    inputs,
                    outputs,
                    weight,
                } => {
                    self.current.resize(rows * out, 0.0);
                    matmul(
                        input,
                        &self.model.weights[weight],
                        &mut self.current,
                        rows,
                        outputs,
                        inputs,
                        false,
                        true,
                    );
                }
                Op::Conv { geom, weight } => {
                    self.current.resize(rows * out, 0.0);
                    conv_forward(
                        input,
                        &self.model.weights[weight],
                        &mut self.current,
                        rows,
                        &geom,
                    );
                }
            }
            layer.v.resize(steps * batch * out, 0.0);
            layer.s.resize(steps * batch * out, 0.0);
            lif_forward(
                &self.current,
                in_constant,
                steps,
                batch * out,
                lambda,
                &sp,
                &mut layer.v,
                &mut layer.s,
            );
        }
    }

    /// Backward pass (eq 6, 9–13) after [`Self::forward`]; fills `self.grads`, returns the loss.
    fn backward(&mut self, x: &[f32], labels: &[u32]) -> f32 {
        let h = &self.model.hyper;
        let steps = h.steps;
        let scan = ScanParams::of(h);
        let batch = labels.len();
        let last = self.layers.len() - 1;
        let classes = self.layers[last].out_len;
        self.upstream.resize(steps * batch * classes, 0.0);
        let loss = output_error(
            &self.layers[last].s,
            labels,
            steps,
            classes,
            h.target_count,
            &mut self.upstream,
        );
        for li in (0..self.layers.len()).rev() {
            let (before, rest) = self.layers.split_at(li);
            let layer = &rest[0];
            let (input, in_constant) = match before.last() {
                Some(prev) => (&prev.s[..], prev.constant),
                None => (x, true),
            };
            // Only layers that feed a weighted layer need ∂L/∂s passed down.
            let pass_down = !in_constant;
            let m = batch * layer.out_len;
            let rows = steps * batch;
            let weight = match layer.op {
                Op::Pool {
                    channels,
                    height,
                    width,
                    kernel,
                    max,
                } => {
                    if pass_down {
                        self.upstream_below
                            .resize(rows * channels * height * width, 0.0);
                        if max {
                            // The pool's input is the layer below's spikes, [steps][batch][…].
                            max_pool_backward(
                                input,
                                &self.upstream,
                                &mut self.upstream_below,
                                rows * channels,
                                height,
                                width,
                                kernel,
                            );
                        } else {
                            avg_pool_backward(
                                &self.upstream,
                                &mut self.upstream_below,
                                rows * channels,
                                height,
                                width,
                                kernel,
                            );
                        }
                        std::mem::swap(&mut self.upstream, &mut self.upstream_below);
                    }
                    continue;
                }
                Op::Dense { weight, .. } | Op::Conv { weight, .. } => weight,
            };
            self.delta.resize(steps * m, 0.0);
            self.g.resize(steps * m, 0.0);
            surrogate_g_scan(
                &self.upstream,
                &layer.v,
                steps,
                m,
                &scan,
                &mut self.delta,
                &mut self.g,
            );
            // What the layer below receives: Wᵀ δ (eq 9) or, in BPTT, Wᵀ G.
            let down = if scan.pass_down_g() {
                &self.g
            } else {
                &self.delta
            };
            // ∂L/∂W = Σ_t G[t]ᵀ s_in[t]: one GEMM over the stacked (t, b) rows, or (Σ_t G[t])ᵀ s_in
            // when the input is the same at every step.
            let (g, grad_rows) = if in_constant {
                self.gsum.resize(m, 0.0);
                sum_steps(&self.g, steps, m, &mut self.gsum);
                (&self.gsum, batch)
            } else {
                (&self.g, rows)
            };
            let w = &self.model.weights[weight];
            let grad = &mut self.grads[weight];
            match layer.op {
                Op::Dense {
                    inputs, outputs, ..
                } => {
                    matmul(g, input, grad, outputs, inputs, grad_rows, true, false);
                    if pass_down {
                        // Eq 9: the layer below receives (W^l)ᵀ δ^l[t].
                        self.upstream_below.resize(rows * inputs, 0.0);
                        matmul(
                            down,
                            w,
                            &mut self.upstream_below,
                            rows,
                            inputs,
                            outputs,
                            false,
                            false,
                        );
                    }
                }
                Op::Conv { geom, .. } => {
                    conv_weight_grad(input, g, grad, grad_rows, &geom);
                    if pass_down {
                        self.upstream_below.resize(rows * geom.in_len(), 0.0);
                        conv_input_grad(down, w, &mut self.upstream_below, rows, &geom);
                    }
                }
                Op::Pool { .. } => unreachable!("pooling has no weights"),
            }
            std::mem::swap(&mut self.upstream, &mut self.upstream_below);
        }
        loss
    }

    /// Forward and backward pass of a labelled batch: the loss, with `self.grads` filled.
    fn forward_backward(&mut self, x: &[f32], labels: &[u32]) -> Result<f32> {
        let batch = check_batch(&self.model, x, Some(labels))?;
        self.forward(x, batch);
        Ok(self.backward(x, labels))
    }

    fn output(&self, batch: usize, record_layers: bool) -> Inference {
        let last = self.layers.last().expect("a network has an output layer");
        let layers = if record_layers {
            self.layers
                .iter()
                .filter(|l| !matches!(l.op, Op::Pool { .. }))
                .map(|l| l.s.clone())
                .collect()
        } else {
            Vec::new()
        };
        Inference {
            steps: self.model.hyper.steps,
            batch,
            classes: last.out_len,
            output: last.s.clone(),
            layers,
        }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        format!(
            "cpu ({} threads, {})",
            rayon::current_num_threads(),
            simd::active()
        )
    }

    fn train_batch(&mut self, x: &[f32], labels: &[u32]) -> Result<BatchStats> {
        let loss = self.forward_backward(x, labels)?;
        let predictions = self.output(labels.len(), false).predictions();
        let correct = predictions
            .iter()
            .zip(labels)
            .filter(|(p, l)| **p == **l as usize)
            .count();
        let h = &self.model.hyper;
        self.model.adam.step += 1;
        let step = AdamStep::of(h, self.model.adam.step);
        let adam = &mut self.model.adam;
        for (li, w) in self.model.weights.iter_mut().enumerate() {
            adam_update(w, &self.grads[li], &mut adam.m[li], &mut adam.v[li], &step);
        }
        Ok(BatchStats { loss, correct })
    }

    fn gradients(&mut self, x: &[f32], labels: &[u32]) -> Result<(f32, Vec<Vec<f32>>)> {
        let loss = self.forward_backward(x, labels)?;
        Ok((loss, self.grads.clone()))
    }

    fn infer(&mut self, x: &[f32], record_layers: bool) -> Result<Inference> {
        let batch = check_batch(&self.model, x, None)?;
        self.forward(x, batch);
        Ok(self.output(batch, record_layers))
    }

    fn read_state(&mut self, model: &mut Model) -> Result<()> {
        model.weights.clone_from(&self.model.weights);
        model.adam.clone_from(&self.model.adam);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper::Hyper;
    use crate::rng::Rng;
    use crate::spec::{NetSpec, Shape};
    use crate::surrogate::Surrogate;

    /// The G-recursion gradient equals the paper's per-synapse trace of eq 11–13, computed directly:
    /// e_ji[t] = (λ e_ji[t−1] + s_in_i[t]) / (1 + V_th f′_j[t]),  ∂L/∂W_ji = Σ_b Σ_t δ_j[t] e_ji[t],
    /// with δ from eq 10 (output) and eq 9 (hidden), all in plain loops in f64.
    #[test]
    fn g_recursion_equals_direct_trace_of_eq_11_to_13() {
        for surrogate in [Surrogate::F1, Surrogate::F2, Surrogate::F3] {
            let hyper = Hyper {
                steps: 4,
                surrogate,
                ..Hyper::default()
            };
            let spec = NetSpec::parse("6-7-5-3", Shape::flat(6), 3).unwrap();
            let mut model = Model::init(spec, hyper.clone(), 11).unwrap();
            // Weights spread so that every layer spikes, some neurons near thresholds, none saturated.
            let mut rng = Rng::new(5);
            for w in &mut model.weights {
                w.iter_mut()
                    .for_each(|x| *x = (rng.uniform() * 8.0 - 2.0) as f32);
            }
            let batch = 4;
            let x: Vec<f32> = (0..batch * 6)
                .map(|_| (rng.uniform() * 3.0) as f32)
                .collect();
            let labels: Vec<u32> = (0..batch as u32).map(|b| b % 3).collect();
            let mut cpu = CpuBackend::new(&model).unwrap();
            let (_, grads) = cpu.gradients(&x, &labels).unwrap();

            let (steps, lambda, sp) =
                (hyper.steps, hyper.lambda() as f64, hyper.surrogate_params());
            let sizes: Vec<(usize, usize)> = model
                .spec
                .layers()
                .iter()
                .map(|l| (l.input.len(), l.output.len()))
                .collect();
            let at = |li: usize, t: usize, b: usize, j: usize| {
                t * batch * sizes[li].1 + b * sizes[li].1 + j
            };
            let f = |li: usize, t: usize, b: usize, j: usize| {
                sp.eval(cpu.layers[li].v[at(li, t, b, j)]) as f64
            };
            let s_in = |li: usize, t: usize, b: usize, i: usize| {
                if li == 0 {
                    x[b * 6 + i] as f64
                } else {
                    cpu.layers[li - 1].s[at(li - 1, t, b, i)] as f64
                }
            };
            // δ per layer, [t][b][j].
            let n = sizes.len();
            let mut delta: Vec<Vec<f64>> = sizes
                .iter()
                .map(|&(_, o)| vec![0.0; steps * batch * o])
                .collect();
            for t in 0..steps {
                for b in 0..batch {
                    for j in 0..3 {
                        let y = if j == labels[b] as usize {
                            hyper.target_count as f64
                        } else {
                            0.0
                        };
                        let s = cpu.layers[n - 1].s[at(n - 1, t, b, j)] as f64;
                        delta[n - 1][at(n - 1, t, b, j)] =
                            (s - y) / batch as f64 * f(n - 1, t, b, j);
                    }
                }
            }
            for li in (0..n - 1).rev() {
                let (up_in, up_out) = sizes[li + 1];
                for t in 0..steps {
                    for b in 0..batch {
                        for i in 0..up_in {
                            let back: f64 = (0..up_out)
                                .map(|k| {
                                    model.weights[li + 1][k * up_in + i] as f64
                                        * delta[li + 1][at(li + 1, t, b, k)]
                                })
                                .sum();
                            delta[li][at(li, t, b, i)] = f(li, t, b, i) * back;
                        }
                    }
                }
            }
            for li in 0..n {
                let (n_in, n_out) = sizes[li];
                for j in 0..n_out {
                    for i in 0..n_in {
                        let mut g = 0.0;
                        for b in 0..batch {
                            let mut e = 0.0;
                            for t in 0..steps {
                                e = (lambda * e + s_in(li, t, b, i))
                                    / (1.0 + sp.v_th as f64 * f(li, t, b, j));
                                g += delta[li][at(li, t, b, j)] * e;
                            }
                        }
                        let got = grads[li][j * n_in + i] as f64;
                        assert!(
                            (got - g).abs() <= 1e-4 * g.abs().max(1e-3),
                            "{surrogate} layer {li} w[{j},{i}]: {got} vs {g}"
                        );
                    }
                }
            }
            assert!(
                grads.iter().all(|g| g.iter().any(|&x| x != 0.0)),
                "{surrogate}: a layer got no gradient"
            );
        }
    }
}
