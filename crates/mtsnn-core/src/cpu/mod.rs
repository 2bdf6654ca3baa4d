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
