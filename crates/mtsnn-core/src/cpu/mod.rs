//! The CPU backend: plain Rust on all cores, GEMMs by the `gemm` crate. It is the reference the GPU
//! backend is tested against and the fast path on machines without a GPU.

pub mod kernels;

use crate::backend::{Backend, BatchStats, Inference, check_batch};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::spec::LayerKind;
use kernels::{AdamStep, adam_update, lif_forward, matmul, output_error, sum_steps, surrogate_g_scan};

/// One weighted layer's sizes and its per-batch buffers, `[steps][batch][outputs]`.
struct LayerState {
    inputs: usize,
    outputs: usize,
    /// Pre-reset membrane potentials (the backward pass needs f′(v)).
    v: Vec<f32>,
    /// Spike counts.
    s: Vec<f32>,
}

/// The network on the CPU.
pub struct CpuBackend {
    model: Model,
    layers: Vec<LayerState>,
    /// Scratch: input currents, then upstream gradients.
    current: Vec<f32>,
    upstream: Vec<f32>,
    delta: Vec<f32>,
    g: Vec<f32>,
    gsum: Vec<f32>,
    grads: Vec<Vec<f32>>,
}

impl CpuBackend {
    /// Takes the model (weights and optimiser state) onto the CPU.
    pub fn new(model: &Model) -> Result<Self> {
        model.check_shapes()?;
        let mut layers = Vec::new();
        for l in model.spec.layers() {
            match l.kind {
                LayerKind::Dense { inputs, outputs } => {
                    layers.push(LayerState { inputs, outputs, v: Vec::new(), s: Vec::new() })
                }
                _ => {
                    return Err(Error::Unsupported(format!(
                        "convolution and pooling layers ({}); the engine runs MLPs such as 784-800-10 for now",
                        model.spec.text()
                    )));
                }
            }
        }
        let grads = model.weights.iter().map(|w| vec![0.0; w.len()]).collect();
        Ok(Self {
            model: model.clone(),
            layers,
            current: Vec::new(),
            upstream: Vec::new(),
            delta: Vec::new(),
            g: Vec::new(),
            gsum: Vec::new(),
            grads,
        })
    }

    /// Forward pass (eq 3–5) of a batch, leaving v and s of every layer in `self.layers`.
    fn forward(&mut self, x: &[f32], batch: usize) {
        let h = &self.model.hyper;
        let (steps, lambda, sp) = (h.steps, h.lambda(), h.surrogate_params());
        for li in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(li);
            let layer = &mut rest[0];
            let (n_in, n_out) = (layer.inputs, layer.outputs);
            let w = &self.model.weights[li];
            layer.v.resize(steps * batch * n_out, 0.0);
            layer.s.resize(steps * batch * n_out, 0.0);
            if li == 0 {
                // Direct encoding: the image is the same current at every step, so W·x is computed once.
                self.current.resize(batch * n_out, 0.0);
                matmul(x, w, &mut self.current, batch, n_out, n_in, false, true);
                lif_forward(&self.current, true, steps, batch * n_out, lambda, &sp, &mut layer.v, &mut layer.s);
            } else {
                // All steps in one GEMM: [T·B, n_in] × Wᵀ.
                let s_in = &before[li - 1].s;
                self.current.resize(steps * batch * n_out, 0.0);
                matmul(s_in, w, &mut self.current, steps * batch, n_out, n_in, false, true);
                lif_forward(&self.current, false, steps, batch * n_out, lambda, &sp, &mut layer.v, &mut layer.s);
            }
        }
    }

    /// Backward pass (eq 6, 9–13) after [`Self::forward`]; fills `self.grads`, returns the loss.
    fn backward(&mut self, x: &[f32], labels: &[u32]) -> f32 {
        let h = &self.model.hyper;
        let (steps, lambda, sp) = (h.steps, h.lambda(), h.surrogate_params());
        let batch = labels.len();
        let last = self.layers.len() - 1;
        let classes = self.layers[last].outputs;
        self.upstream.resize(steps * batch * classes, 0.0);
        let loss = output_error(&self.layers[last].s, labels, steps, classes, h.target_count, &mut self.upstream);
        for li in (0..self.layers.len()).rev() {
            let layer = &self.layers[li];
            let (n_in, n_out) = (layer.inputs, layer.outputs);
            let m = batch * n_out;
            self.delta.resize(steps * m, 0.0);
            self.g.resize(steps * m, 0.0);
            surrogate_g_scan(&self.upstream, &layer.v, steps, m, lambda, &sp, &mut self.delta, &mut self.g);
            let grad = &mut self.grads[li];
            if li == 0 {
                // ∂L/∂W = (Σ_t G[t])ᵀ x: the input is the same at every step.
                self.gsum.resize(m, 0.0);
                sum_steps(&self.g, steps, m, &mut self.gsum);
                matmul(&self.gsum, x, grad, n_out, n_in, batch, true, false);
            } else {
                // ∂L/∂W = Σ_t G[t]ᵀ s_in[t] = Gᵀ S_in over the stacked (t, b) rows.
                let s_in = &self.layers[li - 1].s;
                matmul(&self.g, s_in, grad, n_out, n_in, steps * batch, true, false);
                // Eq 9: the layer below receives (W^l)ᵀ δ^l[t] (the spatial term).
                self.upstream.resize(steps * batch * n_in, 0.0);
                matmul(&self.delta, &self.model.weights[li], &mut self.upstream, steps * batch, n_in, n_out, false, false);
            }
        }
        loss
    }

    /// Forward and backward pass of a labelled batch: the loss, with `self.grads` filled.
    fn forward_backward(&mut self, x: &[f32], labels: &[u32]) -> Result<f32> {
        let batch = check_batch(&self.model, x, Some(labels))?;
        self.forward(x, batch);
        Ok(self.backward(x, labels))
    }

    fn correct(&self, labels: &[u32]) -> usize {
        let out = self.output(labels.len(), false);
        out.predictions().iter().zip(labels).filter(|(p, l)| **p == **l as usize).count()
    }

    fn output(&self, batch: usize, record_layers: bool) -> Inference {
        let last = self.layers.last().expect("a network has an output layer");
        Inference {
            steps: self.model.hyper.steps,
            batch,
            classes: last.outputs,
            output: last.s.clone(),
            layers: if record_layers { self.layers.iter().map(|l| l.s.clone()).collect() } else { Vec::new() },
        }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn train_batch(&mut self, x: &[f32], labels: &[u32]) -> Result<BatchStats> {
        let loss = self.forward_backward(x, labels)?;
        let correct = self.correct(labels);
        let h = &self.model.hyper;
        self.model.adam.step += 1;
        let step = AdamStep { lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, step: self.model.adam.step };
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
            let hyper = Hyper { steps: 4, surrogate, ..Hyper::default() };
            let spec = NetSpec::parse("6-7-5-3", Shape::flat(6), 3).unwrap();
            let mut model = Model::init(spec, hyper.clone(), 11).unwrap();
            // Weights spread so that every layer spikes, some neurons near thresholds, none saturated.
            let mut rng = Rng::new(5);
            for w in &mut model.weights {
                w.iter_mut().for_each(|x| *x = (rng.uniform() * 8.0 - 2.0) as f32);
            }
            let batch = 4;
            let x: Vec<f32> = (0..batch * 6).map(|_| (rng.uniform() * 3.0) as f32).collect();
            let labels: Vec<u32> = (0..batch as u32).map(|b| b % 3).collect();
            let mut cpu = CpuBackend::new(&model).unwrap();
            let (_, grads) = cpu.gradients(&x, &labels).unwrap();

            let (steps, lambda, sp) = (hyper.steps, hyper.lambda() as f64, hyper.surrogate_params());
            let sizes: Vec<(usize, usize)> = cpu.layers.iter().map(|l| (l.inputs, l.outputs)).collect();
            let at = |li: usize, t: usize, b: usize, j: usize| t * batch * sizes[li].1 + b * sizes[li].1 + j;
            let f = |li: usize, t: usize, b: usize, j: usize| sp.eval(cpu.layers[li].v[at(li, t, b, j)]) as f64;
            let s_in = |li: usize, t: usize, b: usize, i: usize| {
                if li == 0 { x[b * 6 + i] as f64 } else { cpu.layers[li - 1].s[at(li - 1, t, b, i)] as f64 }
            };
            // δ per layer, [t][b][j].
            let n = sizes.len();
            let mut delta: Vec<Vec<f64>> = sizes.iter().map(|&(_, o)| vec![0.0; steps * batch * o]).collect();
            for t in 0..steps {
                for b in 0..batch {
                    for j in 0..3 {
                        let y = if j == labels[b] as usize { hyper.target_count as f64 } else { 0.0 };
                        let s = cpu.layers[n - 1].s[at(n - 1, t, b, j)] as f64;
                        delta[n - 1][at(n - 1, t, b, j)] = (s - y) / batch as f64 * f(n - 1, t, b, j);
                    }
                }
            }
            for li in (0..n - 1).rev() {
                let (up_in, up_out) = sizes[li + 1];
                for t in 0..steps {
                    for b in 0..batch {
                        for i in 0..up_in {
                            let back: f64 = (0..up_out)
                                .map(|k| model.weights[li + 1][k * up_in + i] as f64 * delta[li + 1][at(li + 1, t, b, k)])
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
                                e = (lambda * e + s_in(li, t, b, i)) / (1.0 + sp.v_th as f64 * f(li, t, b, j));
                                g += delta[li][at(li, t, b, j)] * e;
                            }
                        }
                        let got = grads[li][j * n_in + i] as f64;
                        assert!((got - g).abs() <= 1e-4 * g.abs().max(1e-3), "{surrogate} layer {li} w[{j},{i}]: {got} vs {g}");
                    }
                }
            }
            assert!(grads.iter().all(|g| g.iter().any(|&x| x != 0.0)), "{surrogate}: a layer got no gradient");
        }
    }
}
