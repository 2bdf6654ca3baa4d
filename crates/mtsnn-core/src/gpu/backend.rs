//! The GPU backend: the CPU backend's sequence of kernels (`cpu/mod.rs`) for dense, conv and
//! pooling stacks, in both gradient modes, with every tensor on the device. Per batch only the
//! inputs and labels go up, and only the output spikes and the per-sample losses come back.
//!
//! Memory: each activation buffer holds a whole batch, `[steps][batch][values]`, and must fit one
//! storage binding of the device (128 MiB on lavapipe). A batch too large for that is refused with
//! [`Error::Gpu`] naming the largest batch that fits ([`GpuBackend::max_batch`]); callers split
//! their batches accordingly.

use std::sync::Arc;

use super::context::GpuContext;
use super::host::batch_loss;
use super::kernels::{self, AdamUpdate};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::backend::{Backend, BatchStats, Inference, check_batch};
use crate::error::{Error, Result};
use crate::kernel_params::{AdamStep, ScanParams};
use crate::model::{AdamState, Model};
use crate::plan::{LayerOp, Op, layer_ops};

/// Batch sizes whose buffers are kept (training, the last short batch of an epoch, evaluation).
const KEPT_PLANS: usize = 3;

/// One weighted layer's parameters on the device.
struct LayerParams {
    w: GpuTensor,
    m: GpuTensor,
    v: GpuTensor,
    grad: GpuTensor,
}

/// The buffers and recorded launches of the forward pass for one batch size.
struct BatchPlan {
    batch: usize,
    x: GpuTensor,
    /// Per layer, `[steps][batch][out_len]` (`[batch][out_len]` when constant): pre-reset
    /// potentials (`None` for pooling) and spike counts (pooled averages for pooling).
    v: Vec<Option<GpuTensor>>,
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
    /// ∂L/∂s of the layer being visited (two, as pooling reads one and writes the other), δ and G
    /// of its neurons, and Σ_t G of the first weighted layer.
    _scratch: [GpuTensor; 5],
    dispatches: Vec<Dispatch>,
}

/// The network on a wgpu device.
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    /// Spec, hyper-parameters and Adam's step count; the weights and moments live on the
    /// device (`params`), and these vectors are left empty.
    model: Model,
    ops: Vec<LayerOp>,
    params: Vec<LayerParams>,
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
        let ops = layer_ops(&model.spec);
        let mut params = Vec::new();
        for (i, w) in model.weights.iter().enumerate() {
            params.push(LayerParams {
                w: ctx.upload(&format!("w{i}"), w)?,
                m: ctx.upload(&format!("adam.m{i}"), &model.adam.m[i])?,
                v: ctx.upload(&format!("adam.v{i}"), &model.adam.v[i])?,
                grad: ctx.zeros(&format!("grad{i}"), w.len())?,
            });
        }
        let mut adam = Vec::new();
        let step = AdamStep::of(&model.hyper, model.adam.step + 1);
        for l in &params {
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
            ops,
            params,
            adam,
            plans: Vec::new(),
        })
    }

    /// The context this backend runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The input of layer `li` and whether it is the same at every step.
    fn input_of<'a>(
        &self,
        li: usize,
        x: &'a GpuTensor,
        s: &'a [GpuTensor],
    ) -> (&'a GpuTensor, bool) {
        match li.checked_sub(1) {
            Some(below) => (&s[below], self.ops[below].constant),
            None => (x, true),
        }
    }

    /// The values per sample of each buffer a batch needs, with its name: the forward pass's,
    /// and with `backward` also the backward pass's.
    fn per_sample_buffers(&self, backward: bool) -> Vec<(String, usize)> {
        let steps = self.model.hyper.steps;
        let mut out = vec![("input".to_string(), self.model.spec.input().len())];
        let mut current = 0;
        let mut widest_out = 0;
        let mut widest_down = self.classes();
        for (li, l) in self.ops.iter().enumerate() {
            let in_constant = li == 0 || self.ops[li - 1].constant;
            let in_steps = if in_constant { 1 } else { steps };
            let in_len = match li {
                0 => self.model.spec.input().len(),
                _ => self.ops[li - 1].out_len,
            };
            if !in_constant {
                widest_down = widest_down.max(in_len);
            }
            if l.weight().is_some() {
                out.push((format!("layer {} potentials", li + 1), steps * l.out_len));
                current = current.max(in_steps * l.out_len);
                widest_out = widest_out.max(l.out_len);
            }
            let s_steps = if l.constant { 1 } else { steps };
            out.push((format!("layer {} spikes", li + 1), s_steps * l.out_len));
        }
        out.push(("input currents".into(), current));
        if backward {
            out.push(("∂L/∂s".into(), steps * widest_down));
            out.push(("δ and G".into(), steps * widest_out));
        }
        out
    }

    /// The largest batch whose buffers (forward and backward) each fit one storage binding of
    /// the device: `GpuContext::max_tensor_values` over the widest buffer's values per sample.
    pub fn max_batch(&self) -> usize {
        self.max_batch_for(true).0
    }

    /// [`Self::max_batch`] with or without the backward pass, and the buffer that limits it.
    fn max_batch_for(&self, backward: bool) -> (usize, String, usize) {
        let (name, per_sample) = self
            .per_sample_buffers(backward)
            .into_iter()
            // The first of the widest buffers, in the order the passes allocate them.
            .rev()
            .max_by_key(|(_, n)| *n)
            .unwrap_or_default();
        (
            self.ctx.max_tensor_values() / per_sample.max(1),
            name,
            per_sample,
        )
    }

    /// Fails with [`Error::Gpu`] naming the largest batch that fits when one of `batch`'s buffers
    /// would exceed a storage binding (checked before anything is allocated).
    fn check_fits(&self, batch: usize, backward: bool) -> Result<()> {
        let (max, name, per_sample) = self.max_batch_for(backward);
        if batch <= max {
            return Ok(());
        }
        let mib = |values: usize| values as f64 * 4.0 / (1u64 << 20) as f64;
        Err(Error::Gpu(format!(
            "a batch of {batch} does not fit {}: {} ({} at T={}) needs {:.1} MiB in one buffer, \
             and the device binds at most {:.1} MiB; the largest batch that fits is {max} \
             (split larger batches)",
            self.ctx.name(),
            name,
            self.model.spec.text(),
            self.model.hyper.steps,
            mib(batch * per_sample),
            mib(self.ctx.max_tensor_values()),
        )))
    }

    /// Index in `self.plans` of the plan for `batch` (built if needed, with its backward pass when
    /// `backward`), moved to the most-recent end.
    async fn plan(&mut self, batch: usize, backward: bool) -> Result<usize> {
        self.check_fits(batch, backward)?;
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

    /// Eq 3–5 for every layer, as `CpuBackend::forward`: a layer whose input is the same at every
    /// step (layer 1 under direct encoding) computes its current once; otherwise all T steps run
    /// as one GEMM/convolution over `T·B` rows.
    async fn forward_plan(&self, batch: usize) -> Result<BatchPlan> {
        let ctx = &*self.ctx;
        let h = &self.model.hyper;
        let (steps, lambda, sp) = (h.steps, h.lambda(), h.surrogate_params());
        let x = ctx.zeros("x", batch * self.model.spec.input().len())?;
        let mut v = Vec::new();
        let mut s = Vec::new();
        let mut current_len = 0;
        for (li, l) in self.ops.iter().enumerate() {
            let s_steps = if l.constant { 1 } else { steps };
            s.push(ctx.zeros(&format!("s{li}"), s_steps * batch * l.out_len)?);
            v.push(match l.weight() {
                Some(_) => Some(ctx.zeros(&format!("v{li}"), steps * batch * l.out_len)?),
                None => None,
            });
            if l.weight().is_some() {
                let in_constant = li == 0 || self.ops[li - 1].constant;
                let rows = if in_constant { batch } else { steps * batch };
                current_len = current_len.max(rows * l.out_len);
            }
        }
        let current = ctx.zeros("current", current_len)?;
        let mut forward = Vec::new();
        for (li, l) in self.ops.iter().enumerate() {
            let (input, in_constant) = self.input_of(li, &x, &s);
            let rows = if in_constant { batch } else { steps * batch };
            match l.op {
                Op::Pool {
                    channels,
                    height,
                    width,
                    kernel,
                    max,
                } => {
                    let maps = rows * channels;
                    forward.push(if max {
                        kernels::max_pool_forward(ctx, input, &s[li], maps, height, width, kernel)
                            .await?
                    } else {
                        kernels::avg_pool_forward(ctx, input, &s[li], maps, height, width, kernel)
                            .await?
                    });
                    continue;
                }
                // Eq 3 with all steps in one GEMM: [rows, n_in] × Wᵀ.
                Op::Dense {
                    inputs,
                    outputs,
                    weight,
                } => forward.push(
                    kernels::matmul(
                        ctx,
                        input,
                        &self.params[weight].w,
                        &current,
                        rows,
                        outputs,
                        inputs,
                        false,
                        true,
                    )
                    .await?,
                ),
                // Eq 3 for a conv layer: I = W ∗ s_in over `rows` images.
                Op::Conv { geom, weight } => forward.push(
                    kernels::conv_forward(
                        ctx,
                        input,
                        &self.params[weight].w,
                        &current,
                        rows,
                        &geom,
                    )
                    .await?,
                ),
            }
            let Some(v_li) = &v[li] else {
                return Err(Error::Gpu(format!(
                    "layer {li} has neurons but no potentials"
                )));
            };
            // Eq 4–5; with a constant input the one current drives every step.
            forward.push(
                kernels::lif_forward(
                    ctx,
                    &current,
                    in_constant,
                    steps,
                    batch * l.out_len,
                    lambda,
                    &sp,
                    v_li,
                    &s[li],
                )
                .await?,
            );
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
        let scan = ScanParams::of(h);
        let batch = plan.batch;
        let rows = steps * batch;
        let last = self.ops.len() - 1;
        let classes = self.classes();
        let sized = |name: &str| {
            self.per_sample_buffers(true)
                .into_iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, per_sample)| per_sample * batch)
        };
        let labels = ctx.zeros("labels", batch)?;
        let loss = ctx.zeros("loss", batch)?;
        let upstream = [
            ctx.zeros("upstream", sized("∂L/∂s"))?,
            ctx.zeros("upstream below", sized("∂L/∂s"))?,
        ];
        let delta = ctx.zeros("delta", sized("δ and G"))?;
        let g = ctx.zeros("g", sized("δ and G"))?;
        let first_out = self
            .ops
            .iter()
            .find(|l| l.weight().is_some())
            .map_or(0, |l| l.out_len);
        let gsum = ctx.zeros("gsum", batch * first_out)?;
        // Which of `upstream` holds ∂L/∂s of the layer being visited.
        let mut up = 0;
        let mut dispatches = vec![
            kernels::output_error(
                ctx,
                &plan.s[last],
                &labels,
                steps,
                batch,
                classes,
                h.target_count,
                &upstream[up],
                &loss,
            )
            .await?,
        ];
        // What the layer below receives: Wᵀ δ (eq 9) or, in BPTT, Wᵀ G.
        let down = if scan.pass_down_g() { &g } else { &delta };
        for (li, l) in self.ops.iter().enumerate().rev() {
            let (input, in_constant) = self.input_of(li, &plan.x, &plan.s);
            // Only layers that feed a weighted layer need ∂L/∂s passed down.
            let pass_down = !in_constant;
            let m = batch * l.out_len;
            let (weight, v_li) = match (l.op, l.weight(), &plan.v[li]) {
                (
                    Op::Pool {
                        channels,
                        height,
                        width,
                        kernel,
                        max,
                    },
                    _,
                    _,
                ) => {
                    if pass_down {
                        let maps = rows * channels;
                        dispatches.push(if max {
                            // The argmax is recomputed from the pool's input, the layer below's
                            // spikes, [steps][batch][…].
                            kernels::max_pool_backward(
                                ctx,
                                input,
                                &upstream[up],
                                &upstream[1 - up],
                                maps,
                                height,
                                width,
                                kernel,
                            )
                            .await?
                        } else {
                            kernels::avg_pool_backward(
                                ctx,
                                &upstream[up],
                                &upstream[1 - up],
                                maps,
                                height,
                                width,
                                kernel,
                            )
                            .await?
                        });
                        up = 1 - up;
                    }
                    continue;
                }
                (_, Some(weight), Some(v_li)) => (weight, v_li),
                _ => {
                    return Err(Error::Gpu(format!(
                        "layer {li} has no weights or potentials"
                    )));
                }
            };
            let p = &self.params[weight];
            dispatches.push(
                kernels::surrogate_g_scan(ctx, &upstream[up], v_li, steps, m, &scan, &delta, &g)
                    .await?,
            );
            // ∂L/∂W = Σ_t G[t]ᵀ s_in[t] over the stacked (t, b) rows, or (Σ_t G[t])ᵀ s_in when the
            // input is the same at every step (eq 13).
            let (g_in, grad_rows) = if in_constant {
                dispatches.push(kernels::sum_steps(ctx, &g, steps, m, &gsum).await?);
                (&gsum, batch)
            } else {
                (&g, rows)
            };
            // Eq 9: the layer below receives (W^l)ᵀ δ^l[t]; it overwrites `upstream[up]`, already
            // consumed by the scan.
            match l.op {
                Op::Dense {
                    inputs, outputs, ..
                } => {
                    dispatches.push(
                        kernels::matmul(
                            ctx, g_in, input, &p.grad, outputs, inputs, grad_rows, true, false,
                        )
                        .await?,
                    );
                    if pass_down {
                        dispatches.push(
                            kernels::matmul(
                                ctx,
                                down,
                                &p.w,
                                &upstream[up],
                                rows,
                                inputs,
                                outputs,
                                false,
                                false,
                            )
                            .await?,
                        );
                    }
                }
                Op::Conv { geom, .. } => {
                    dispatches.push(
                        kernels::conv_weight_grad(ctx, input, g_in, &p.grad, grad_rows, &geom)
                            .await?,
                    );
                    if pass_down {
                        dispatches.push(
                            kernels::conv_input_grad(ctx, down, &p.w, &upstream[up], rows, &geom)
                                .await?,
                        );
                    }
                }
                Op::Pool { .. } => unreachable!("pooling returned above"),
            }
        }
        let [up0, up1] = upstream;
        Ok(BackwardPlan {
            labels,
            loss,
            _scratch: [up0, up1, delta, g, gsum],
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
        self.model.spec.classes()
    }

    /// [`Backend::train_batch`] for async callers (browsers, where nothing may block).
    pub async fn train_batch_async(&mut self, x: &[f32], labels: &[u32]) -> Result<BatchStats> {
        let i = self.load_labelled(x, labels).await?;
        let step = AdamStep::of(&self.model.hyper, self.model.adam.step + 1);
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
        reads.extend(self.params.iter().map(|l| (&l.grad, l.grad.len())));
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
        // Recorded layers: those with neurons, as `CpuBackend` reports them.
        let reads: Vec<(&GpuTensor, usize)> = if record_layers {
            plan.s
                .iter()
                .zip(&self.ops)
                .filter(|(_, l)| l.weight().is_some())
                .map(|(s, _)| (s, s.len()))
                .collect()
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
            .params
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
