//! The GPU executor: a schedule's buffers allocated on the device and its steps recorded as
//! launches once per schedule (that is, per batch size), then replayed for every batch. Per batch
//! only the loaded buffers (inputs, labels) go up, and only the buffers read (output spikes,
//! per-sample losses, gradients) come back.
//!
//! Memory: each buffer holds a whole batch, `[steps][batch][values]`, and must fit one storage
//! binding of the device (128 MiB on lavapipe); [`GpuExecutor::max_values`] says how much that is.

use std::sync::Arc;

use super::context::GpuContext;
use super::kernels::{self, AdamUpdate};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::backend::Task;
use crate::error::{Error, Result};
use crate::executor::{Executor, Job, Ran, Runner, model_buffers};
use crate::kernel_params::AdamStep;
use crate::model::Model;
use crate::schedule::{Buf, Schedule, Step};

/// The network on a wgpu device: schedules run by [`GpuExecutor`].
pub type GpuBackend = Runner<GpuExecutor>;

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
        Runner::on(GpuExecutor::new(ctx, &model_buffers(model))?, model)
    }

    /// The context this backend runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.executor().ctx
    }
}

/// Runs schedules with the WGSL kernels of [`super::kernels`].
#[derive(Debug)]
pub struct GpuExecutor {
    ctx: Arc<GpuContext>,
    /// The model's buffers (`Buf(0)`, `Buf(1)`, …), shared by every recorded schedule.
    params: Vec<GpuTensor>,
}

impl GpuExecutor {
    /// An executor on `ctx` holding the model's buffers `params` (name and values).
    pub fn new(ctx: Arc<GpuContext>, params: &[(String, Vec<f32>)]) -> Result<Self> {
        let params = params
            .iter()
            .map(|(name, values)| ctx.upload(name, values))
            .collect::<Result<_>>()?;
        Ok(Self { ctx, params })
    }
}

/// A schedule on the device: a tensor per buffer and a launch per step.
#[derive(Debug)]
pub struct Recorded {
    tensors: Vec<GpuTensor>,
    launches: Vec<Launch>,
}

#[derive(Debug)]
enum Launch {
    Kernel(Dispatch),
    /// Adam's launch, whose step constants are set before each run.
    Adam(AdamUpdate),
}

impl Launch {
    fn dispatch(&self) -> &Dispatch {
        match self {
            Launch::Kernel(d) => d,
            Launch::Adam(a) => a.dispatch(),
        }
    }
}

/// The batch loss of eq 6 from the per-sample losses `output_error.wgsl` writes, summed in f64.
fn batch_loss(per_sample: &[f32]) -> f32 {
    let sum: f64 = per_sample.iter().map(|&l| l as f64).sum();
    (sum / per_sample.len().max(1) as f64) as f32
}

/// The launch of `step` on `tensors` (one per buffer of its schedule).
async fn record(ctx: &GpuContext, step: &Step, tensors: &[GpuTensor]) -> Result<Launch> {
    let t = |b: Buf| &tensors[b.0];
    let d = match *step {
        Step::Matmul {
            a,
            b,
            c,
            m,
            n,
            k,
            a_t,
            b_t,
        } => kernels::matmul(ctx, t(a), t(b), t(c), m, n, k, a_t, b_t).await?,
        Step::LifForward {
            current,
            constant,
            steps,
            m,
            lambda,
            sp,
            v,
            s,
        } => {
            kernels::lif_forward(ctx, t(current), constant, steps, m, lambda, &sp, t(v), t(s))
                .await?
        }
        Step::OutputError {
            s,
            labels,
            steps,
            batch,
            classes,
            target,
            upstream,
            loss,
        } => {
            kernels::output_error(
                ctx,
                t(s),
                t(labels),
                steps,
                batch,
                classes,
                target,
                t(upstream),
                t(loss),
            )
            .await?
        }
        Step::SurrogateGScan {
            upstream,
            v,
            steps,
            m,
            scan,
            delta,
            g,
        } => {
            kernels::surrogate_g_scan(ctx, t(upstream), t(v), steps, m, &scan, t(delta), t(g))
                .await?
        }
        Step::SumSteps { x, steps, m, out } => {
            kernels::sum_steps(ctx, t(x), steps, m, t(out)).await?
        }
        Step::Adam { w, grad, m, v, .. } => {
            // Placeholder constants: each run sets its own ([`AdamUpdate::set_step`]).
            let unset = AdamStep {
                lr: 0.0,
                beta1: 0.0,
                beta2: 0.0,
                eps: 0.0,
                step: 1,
            };
            let update = kernels::adam_update(ctx, t(w), t(grad), t(m), t(v), &unset).await?;
            return Ok(Launch::Adam(update));
        }
        Step::ConvForward {
            input,
            w,
            out,
            images,
            geom,
        } => kernels::conv_forward(ctx, t(input), t(w), t(out), images, &geom).await?,
        Step::ConvInputGrad {
            grad_out,
            w,
            grad_in,
            images,
            geom,
        } => kernels::conv_input_grad(ctx, t(grad_out), t(w), t(grad_in), images, &geom).await?,
        Step::ConvWeightGrad {
            input,
            grad_out,
            grad_w,
            images,
            geom,
        } => {
            kernels::conv_weight_grad(ctx, t(input), t(grad_out), t(grad_w), images, &geom).await?
        }
        Step::AvgPoolForward { input, out, pool } => {
            let (maps, h, w, k) = (pool.maps, pool.height, pool.width, pool.kernel);
            kernels::avg_pool_forward(ctx, t(input), t(out), maps, h, w, k).await?
        }
        Step::AvgPoolBackward {
            grad_out,
            grad_in,
            pool,
        } => {
            let (maps, h, w, k) = (pool.maps, pool.height, pool.width, pool.kernel);
            kernels::avg_pool_backward(ctx, t(grad_out), t(grad_in), maps, h, w, k).await?
        }
        Step::MaxPoolForward { input, out, pool } => {
            let (maps, h, w, k) = (pool.maps, pool.height, pool.width, pool.kernel);
            kernels::max_pool_forward(ctx, t(input), t(out), maps, h, w, k).await?
        }
        Step::MaxPoolBackward {
            input,
            grad_out,
            grad_in,
            pool,
        } => {
            let (maps, h, w, k) = (pool.maps, pool.height, pool.width, pool.kernel);
            kernels::max_pool_backward(ctx, t(input), t(grad_out), t(grad_in), maps, h, w, k)
                .await?
        }
    };
    Ok(Launch::Kernel(d))
}

impl Executor for GpuExecutor {
    type Prepared = Recorded;

    fn name(&self) -> String {
        format!("gpu: {}", self.ctx.name())
    }

    fn max_values(&self) -> usize {
        self.ctx.max_tensor_values()
    }

    fn prepare<'a>(&'a mut self, schedule: &'a Schedule) -> Task<'a, Recorded> {
        Box::pin(async move {
            let ctx = &*self.ctx;
            let tensors = schedule
                .buffers
                .iter()
                .enumerate()
                .map(|(i, b)| match (b.param, self.params.get(i)) {
                    (false, _) => ctx.zeros(&b.name, b.len),
                    (true, Some(t)) => Ok(t.clone()),
                    (true, None) => Err(Error::Shape(format!(
                        "{}: the executor holds {} of the model's buffers",
                        b.name,
                        self.params.len()
                    ))),
                })
                .collect::<Result<Vec<_>>>()?;
            let mut launches = Vec::with_capacity(schedule.steps.len());
            for step in &schedule.steps {
                launches.push(record(ctx, step, &tensors).await?);
            }
            Ok(Recorded { tensors, launches })
        })
    }

    fn run<'a>(
        &'a mut self,
        schedule: &'a Schedule,
        rec: &'a Recorded,
        job: Job<'a>,
    ) -> Task<'a, Ran> {
        Box::pin(async move {
            let ctx = &*self.ctx;
            for &(b, data) in &job.loads {
                match rec.tensors.get(b.0) {
                    Some(t) if t.len() == data.len() => ctx.write(t, data)?,
                    _ => {
                        return Err(Error::Shape(format!(
                            "{} values loaded into buffer {} of {}",
                            data.len(),
                            b.0,
                            schedule.len_of(b)
                        )));
                    }
                }
            }
            let launches = &rec.launches[job.steps.clone()];
            for launch in launches {
                if let Launch::Adam(update) = launch {
                    update.set_step(ctx, job.adam_step()?)?;
                }
            }
            // The per-sample losses, read last and summed here.
            let loss = schedule.steps[job.steps].iter().find_map(|s| match s {
                Step::OutputError { loss, .. } => Some(*loss),
                _ => None,
            });
            let reads = job
                .reads
                .iter()
                .chain(&loss)
                .map(|&b| match rec.tensors.get(b.0) {
                    Some(t) => Ok((t, schedule.len_of(b))),
                    None => Err(Error::Shape(format!("the schedule has no buffer {}", b.0))),
                })
                .collect::<Result<Vec<_>>>()?;
            let work: Vec<&Dispatch> = launches.iter().map(Launch::dispatch).collect();
            let mut values = ctx.execute(&work, &reads).await?;
            let loss = match loss {
                Some(_) => values.pop().map(|l| batch_loss(&l)),
                None => None,
            };
            Ok(Ran { loss, values })
        })
    }

    fn read<'a>(&'a mut self, params: &'a [Buf]) -> Task<'a, Vec<Vec<f32>>> {
        Box::pin(async move {
            let reads = params
                .iter()
                .map(|b| {
                    let t = self
                        .params
                        .get(b.0)
                        .ok_or_else(|| Error::Shape(format!("the model has no buffer {}", b.0)))?;
                    Ok((t, t.len()))
                })
                .collect::<Result<Vec<_>>>()?;
            self.ctx.execute(&[], &reads).await
        })
    }
}
