//! The GPU backend: the CPU backend's sequence of kernels (`cpu/mod.rs`) for MLPs, in both
//! gradient modes, with every tensor on the device. Per batch only the inputs and labels go up, and only the output spikes and the
//! per-sample losses come back.

use std::sync::Arc;

use super::context::GpuContext;
use super::host::batch_loss;
use super::kernels::{self, AdamUpdate};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::backend::{Backend, BatchStats, Inference, check_batch};
use crate::cpu::kernels::{AdamStep, ScanParams};
use crate::error::{Error, Result};
use crate::model::{AdamState, Model};
use crate::spec::LayerKind;

/// Batch sizes whose buffers are kept (training, the last short batch of an epoch, evaluation).
const KEPT_PLANS: usize = 3;

/// One weighted layer's parameters on the device.
struct LayerParams {
    inputs: usize,
    outputs: usize,
    w: GpuTensor,
    m: GpuTensor,
    v: GpuTensor,
    grad: GpuTensor,
}

/// The buffers and recorded launches of the forward pass for one batch size.
struct BatchPlan {
    batch: usize,
    x: GpuTensor,
    /// Per layer, `[steps][batch][outputs]`: pre-reset potentials and spike counts.
    v: Vec<GpuTensor>,
    s: Vec<GpuTensor>,
    /// Input currents of one layer at a time.
    _current: GpuTensor,
    forward: Vec<Dispatch>,
    /// Built the first time a labelled batch of this size arrives.
    backward: Option<BackwardPlan>,
}

/// The buffers and launches of the backward pass (eq 6, 9–13) for one batch size.
struct BackwardPlan {
    labels: GpuTensor,
    /// Per-sample losses of eq 6.
    loss: GpuTensor,
    /// ∂L/∂s of the layer being visited, then δ and G of its neurons, and Σ_t G of layer 1.
    _scratch: [GpuTensor; 4],
    dispatches: Vec<Dispatch>,
}

/// The network on a wgpu device.
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    /// Spec, hyper-parameters and Adam's step count; the weights and moments live on the
    /// device (`layers`), and these vectors are left empty.
    model: Model,
    layers: Vec<LayerParams>,
    adam: Vec<AdamUpdate>,
    /// Most recently used last.
    plans: Vec<BatchPlan>,
}

impl GpuBackend {
    /// Takes the model (weights and Adam state) onto the device of `ctx`.
    pub fn new(ctx: Arc<GpuContext>, model: &Model) -> Result<Self> {
        pollster::block_on(Self::new_async(ctx, model))
    }

    /// [`Self::new`] for async callers.
    pub async fn new_async(ctx: Arc<GpuContext>, model: &Model) -> Result<Self> {
        model.check_shapes()?;
        model.hyper.validate()?;
        if model.weights.is_empty() {
            return Err(Error::Shape(
                "a network needs at least one weighted layer".into(),
            ));
        }
        let mut layers = Vec::new();
        for (i, l) in model.spec.weighted_layers().enumerate() {
            let LayerKind::Dense { inputs, outputs } = l.kind else {
                return Err(Error::Unsupported(format!(
                    "convolution and pooling layers on the GPU ({}); the GPU backend runs MLPs such as \
                     784-800-10 for now (the CPU backend runs CNNs)",
                    model.spec.text()
                )));
            };
            layers.push(LayerParams {
                inputs,
                outputs,
                w: ctx.upload(&format!("w{i}"), &model.weights[i])?,
                m: ctx.upload(&format!("adam.m{i}"), &model.adam.m[i])?,
                v: ctx.upload(&format!("adam.v{i}"), &model.adam.v[i])?,
                grad: ctx.zeros(&format!("grad{i}"), inputs * outputs)?,
            });
        }
        let mut adam = Vec::new();
        let step = adam_step(model, model.adam.step + 1);
        for l in &layers {
            adam.push(kernels::adam_update(&ctx, &l.w, &l.grad, &l.m, &l.v, &step).await?);
        }
        let shell = Model {
            weights: Vec::new(),
            adam: AdamState {
                step: model.adam.step,
                m: Vec::new(),
                v: Vec::new(),
            },
            ..model.clone()
        };
        Ok(Self {
            ctx,
            model: shell,
            layers,
            adam,
            plans: Vec::new(),
        })
    }

    /// The context this backend runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Index in `self.plans` of the plan for `batch` (built if needed, with its backward pass when
    /// `backward`), moved to the most-recent end.
    async fn plan(&mut self, batch: usize, backward: bool) -> Result<usize> {
        let plan = match self.plans.iter().position(|p| p.batch == batch) {
            Some(i) => self.plans.remove(i),
            None => self.forward_plan(batch).await?,
        };
        self.plans.push(plan);
        if self.plans.len() > KEPT_PLANS {
            self.plans.remove(0);
        }
        let last = self.plans.len() - 1;
        if backward && self.plans[last].backward.is_none() {
            let b = self.backward_plan(&self.plans[last]).await?;
            self.plans[last].backward = Some(b);
        }
        Ok(last)
    }

    /// Eq 3–5 for every layer, as `CpuBackend::forward`.
    async fn forward_plan(&self, batch: usize) -> Result<BatchPlan> {
        let ctx = &*self.ctx;
        let h = &self.model.hyper;
        let (steps, lambda, sp) = (h.steps, h.lambda(), h.surrogate_params());
        let x = ctx.zeros("x", batch * self.layers[0].inputs)?;
        let mut v = Vec::new();
        let mut s = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            v.push(ctx.zeros(&format!("v{i}"), steps * batch * l.outputs)?);
            s.push(ctx.zeros(&format!("s{i}"), steps * batch * l.outputs)?);
        }
        let current_len = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| if i == 0 { 1 } else { steps } * batch * l.outputs)
            .max();
        let current = ctx.zeros("current", current_len.unwrap_or(0))?;
        let mut forward = Vec::new();
        for (li, l) in self.layers.iter().enumerate() {
            let m = batch * l.outputs;
            if li == 0 {
                // Direct encoding: the image is the same current at every step, so W·x is computed once.
                forward.push(
                    kernels::matmul(
                        ctx, &x, &l.w, &current, batch, l.outputs, l.inputs, false, true,
                    )
                    .await?,
                );
                forward.push(
                    kernels::lif_forward(ctx, &current, true, steps, m, lambda, &sp, &v[0], &s[0])
                        .await?,
                );
            } else {
                // All steps in one GEMM: [T·B, n_in] × Wᵀ (eq 3).
                let rows = steps * batch;
                forward.push(
                    kernels::matmul(
                        ctx,
                        &s[li - 1],
                        &l.w,
                        &current,
                        rows,
                        l.outputs,
                        l.inputs,
                        false,
                        true,
                    )
                    .await?,
                );
                forward.push(
                    kernels::lif_forward(
                        ctx, &current, false, steps, m, lambda, &sp, &v[li], &s[li],
                    )
                    .await?,
                );
            }
        }
        Ok(BatchPlan {
            batch,
            x,
            v,
            s,
            _current: current,
            forward,
            backward: None,
        })
    }

    /// Eq 6 and 9–13 (or BPTT) for every layer, as `CpuBackend::backward`; fills each layer's `grad`.
    async fn backward_plan(&self, plan: &BatchPlan) -> Result<BackwardPlan> {
        let ctx = &*self.ctx;
        let h = &self.model.hyper;
        let steps = h.steps;
        let scan = ScanParams {
            lambda: h.lambda(),
            sp: h.surrogate_params(),
            mode: h.grad,
            detach_reset: h.detach_reset,
        };
        let batch = plan.batch;
        let last = self.layers.len() - 1;
        let classes = self.layers[last].outputs;
        let widest_in = self
            .layers
            .iter()
            .skip(1)
            .map(|l| l.inputs)
            .max()
            .unwrap_or(0);
        let widest_out = self.layers.iter().map(|l| l.outputs).max().unwrap_or(0);
        let labels = ctx.zeros("labels", batch)?;
        let loss = ctx.zeros("loss", batch)?;
        let upstream = ctx.zeros("upstream", steps * batch * classes.max(widest_in))?;
        let delta = ctx.zeros("delta", steps * batch * widest_out)?;
        let g = ctx.zeros("g", steps * batch * widest_out)?;
        let gsum = ctx.zeros("gsum", batch * self.layers[0].outputs)?;
        let mut dispatches = vec![
            kernels::output_error(
                ctx,
                &plan.s[last],
                &labels,
                steps,
                batch,
                classes,
                h.target_count,
                &upstream,
                &loss,
            )
            .await?,
        ];
        // What the layer below receives: Wᵀ δ (eq 9) or, in BPTT, Wᵀ G.
        let down = if scan.pass_down_g() { &g } else { &delta };
        for (li, l) in self.layers.iter().enumerate().rev() {
            let (n_in, n_out) = (l.inputs, l.outputs);
            let m = batch * n_out;
            dispatches.push(
                kernels::surrogate_g_scan(ctx, &upstream, &plan.v[li], steps, m, &scan, &delta, &g)
                    .await?,
            );
            if li == 0 {
                // ∂L/∂W = (Σ_t G[t])ᵀ x: the input is the same at every step (eq 13).
                dispatches.push(kernels::sum_steps(ctx, &g, steps, m, &gsum).await?);
                dispatches.push(
                    kernels::matmul(
                        ctx, &gsum, &plan.x, &l.grad, n_out, n_in, batch, true, false,
                    )
                    .await?,
                );
            } else {
                // ∂L/∂W = Σ_t G[t]ᵀ s_in[t] = Gᵀ S_in over the stacked (t, b) rows (eq 13).
                let rows = steps * batch;
                dispatches.push(
                    kernels::matmul(
                        ctx,
                        &g,
                        &plan.s[li - 1],
                        &l.grad,
                        n_out,
                        n_in,
                        rows,
                        true,
                        false,
                    )
                    .await?,
                );
                // Eq 9: the layer below receives (W^l)ᵀ δ^l[t]; it overwrites `upstream`, already used.
                dispatches.push(
                    kernels::matmul(ctx, down, &l.w, &upstream, rows, n_in, n_out, false, false)
                        .await?,
                );
            }
        }
        Ok(BackwardPlan {
            labels,
            loss,
            _scratch: [upstream, delta, g, gsum],
            dispatches,
        })
    }

    /// Uploads a labelled batch and returns the index of its plan, backward pass included.
    async fn load_labelled(&mut self, x: &[f32], labels: &[u32]) -> Result<usize> {
        let batch = check_batch(&self.model, x, Some(labels))?;
        let i = self.plan(batch, true).await?;
        let plan = &self.plans[i];
        self.ctx.write(&plan.x, x)?;
        if let Some(b) = &plan.backward {
            self.ctx.write(&b.labels, labels)?;
        }
        Ok(i)
    }

    fn classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs)
    }

    /// [`Backend::train_batch`] for async callers (browsers, where nothing may block).
    pub async fn train_batch_async(&mut self, x: &[f32], labels: &[u32]) -> Result<BatchStats> {
        let i = self.load_labelled(x, labels).await?;
        let step = adam_step(&self.model, self.model.adam.step + 1);
        for a in &self.adam {
            a.set_step(&self.ctx, &step)?;
        }
        let (plan, classes) = (&self.plans[i], self.classes());
        let Some(back) = &plan.backward else {
            return Err(Error::Gpu("backward pass not built".into()));
        };
        let work: Vec<&Dispatch> = plan
            .forward
            .iter()
            .chain(&back.dispatches)
            .chain(self.adam.iter().map(AdamUpdate::dispatch))
            .collect();
        let (steps, batch) = (self.model.hyper.steps, plan.batch);
        let last = plan.s.len() - 1;
        let mut out = self
            .ctx
            .execute(
                &work,
                &[
                    (&plan.s[last], steps * batch * classes),
                    (&back.loss, batch),
                ],
            )
            .await?
            .into_iter();
        let (Some(output), Some(losses)) = (out.next(), out.next()) else {
            return Err(Error::Gpu("read-back returned too few buffers".into()));
        };
        self.model.adam.step += 1;
        let inference = Inference {
            steps,
            batch,
            classes,
            output,
            layers: Vec::new(),
        };
        let correct = inference
            .predictions()
            .iter()
            .zip(labels)
            .filter(|(p, l)| **p == **l as usize)
            .count();
        Ok(BatchStats {
            loss: batch_loss(&losses),
            correct,
        })
    }

    /// [`Backend::gradients`] for async callers.
    pub async fn gradients_async(
        &mut self,
        x: &[f32],
        labels: &[u32],
    ) -> Result<(f32, Vec<Vec<f32>>)> {
        let i = self.load_labelled(x, labels).await?;
        let plan = &self.plans[i];
        let Some(back) = &plan.backward else {
            return Err(Error::Gpu("backward pass not built".into()));
        };
        let work: Vec<&Dispatch> = plan.forward.iter().chain(&back.dispatches).collect();
        let mut reads = vec![(&back.loss, plan.batch)];
        reads.extend(self.layers.iter().map(|l| (&l.grad, l.grad.len())));
        let mut out = self.ctx.execute(&work, &reads).await?;
        let grads = out.split_off(1);
        Ok((batch_loss(&out[0]), grads))
    }

    /// [`Backend::infer`] for async callers (browsers, where the read-back must be awaited).
    pub async fn infer_async(&mut self, x: &[f32], record_layers: bool) -> Result<Inference> {
        let batch = check_batch(&self.model, x, None)?;
        let i = self.plan(batch, false).await?;
        let plan = &self.plans[i];
        self.ctx.write(&plan.x, x)?;
        let work: Vec<&Dispatch> = plan.forward.iter().collect();
        let last = plan.s.len() - 1;
        let reads: Vec<(&GpuTensor, usize)> = if record_layers {
            plan.s.iter().map(|s| (s, s.len())).collect()
        } else {
            vec![(&plan.s[last], plan.s[last].len())]
        };
        let mut layers = self.ctx.execute(&work, &reads).await?;
        let output = if record_layers {
            layers.last().cloned()
        } else {
            layers.pop()
        };
        let output = output.ok_or_else(|| Error::Gpu("read-back returned no buffer".into()))?;
        Ok(Inference {
            steps: self.model.hyper.steps,
            batch,
            classes: self.classes(),
            output,
            layers,
        })
    }

    /// [`Backend::read_state`] for async callers.
    pub async fn read_state_async(&mut self, model: &mut Model) -> Result<()> {
        let reads: Vec<(&GpuTensor, usize)> = self
            .layers
            .iter()
            .flat_map(|l| [(&l.w, l.w.len()), (&l.m, l.m.len()), (&l.v, l.v.len())])
            .collect();
        let mut out = self.ctx.execute(&[], &reads).await?.into_iter();
        let (mut w, mut m, mut v) = (Vec::new(), Vec::new(), Vec::new());
        while let (Some(a), Some(b), Some(c)) = (out.next(), out.next(), out.next()) {
            w.push(a);
            m.push(b);
            v.push(c);
        }
        model.weights = w;
        model.adam = AdamState {
            step: self.model.adam.step,
            m,
            v,
        };
        Ok(())
    }
}

/// Adam's constants for update number `step` (1-based).
fn adam_step(model: &Model, step: u64) -> AdamStep {
    let h = &model.hyper;
    AdamStep {
        lr: h.lr,
        beta1: h.beta1,
        beta2: h.beta2,
        eps: h.eps,
        step,
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> String {
        format!("gpu: {}", self.ctx.name())
    }

    fn train_batch(&mut self, x: &[f32], labels: &[u32]) -> Result<BatchStats> {
        pollster::block_on(self.train_batch_async(x, labels))
    }

    fn gradients(&mut self, x: &[f32], labels: &[u32]) -> Result<(f32, Vec<Vec<f32>>)> {
        pollster::block_on(self.gradients_async(x, labels))
    }

    fn infer(&mut self, x: &[f32], record_layers: bool) -> Result<Inference> {
        pollster::block_on(self.infer_async(x, record_layers))
    }

    fn read_state(&mut self, model: &mut Model) -> Result<()> {
        pollster::block_on(self.read_state_async(model))
    }
}
