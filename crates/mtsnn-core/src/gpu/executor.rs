//! The GPU executor: a schedule's buffers allocated on the device and its steps recorded as
//! launches once per schedule (that is, per batch size), then replayed for every batch.
//!
//! Single batches ([`Executor::run`]): the loaded buffers (inputs, labels) go up, the launches
//! are submitted, and the buffers read (output spikes, per-sample losses, gradients) come back:
//! one host round trip per batch.
//!
//! Passes ([`Executor::begin_pass`] … [`Executor::finish_pass`]): the image set is on the device
//! ([`Executor::load_set`]), and so are the pass's order, each batch's first position and Adam
//! constants (uploaded once per pass). Each batch is recorded as copies of its position and Adam
//! constants into the launches' uniforms, then `gather.wgsl`, the schedule's launches and
//! `tally.wgsl`, which leaves each sample's loss and hit (or output totals) in the pass's records.
//! [`BATCHES_PER_SUBMISSION`] batches go in one submission and the host never waits between
//! them: progress comes from `on_submitted_work_done` callbacks, fired by non-blocking polls, and
//! the records are read back once, when the pass ends. A set larger than one storage binding
//! stays on the host: each of its batches is gathered there by the kernel's CPU twin
//! ([`crate::pass::gather`]) and uploaded, one submission per batch, still without waiting.
//!
//! Memory: each buffer holds a whole batch, `[steps][batch][values]`, and must fit one storage
//! binding of the device (128 MiB on lavapipe); [`GpuExecutor::max_values`] says how much that is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::adam::{self, AdamUpdate};
use super::context::{Count, GpuContext};
use super::conv::{self, ConvWeightGrad};
use super::pass::{self, SetLayout};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use super::{gemm, neuron, pool};
use crate::backend::Task;
use crate::dataset::ImageSet;
use crate::error::{Error, Result};
use crate::executor::{Executor, Job, Pass, PassBatch, PassResult, Ran, Runner, model_buffers};
use crate::kernel_params::AdamStep;
use crate::model::Model;
use crate::pass::{Counters, Record, gather as gather_on_host};
use crate::schedule::{Bindings, Buf, Role, Schedule, Step};

/// Batches recorded into one submission of a pass: enough that submitting costs little, few
/// enough that progress is seen (and, on lavapipe, that a submission lasts seconds, not minutes).
pub const BATCHES_PER_SUBMISSION: usize = 16;

/// How often the host polls, without blocking, for finished submissions while a pass runs.
#[cfg(not(target_arch = "wasm32"))]
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// The network on a wgpu device, a [`crate::Backend`] built with `GpuBackend::new(ctx, &model)`
/// on a [`GpuContext`]: schedules run by the GPU executor.
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

/// Runs schedules with the WGSL kernels, through the launchers of the family modules.
#[derive(Debug)]
pub struct GpuExecutor {
    ctx: Arc<GpuContext>,
    /// The model's buffers (`Buf(0)`, `Buf(1)`, …), shared by every recorded schedule.
    params: Vec<GpuTensor>,
    /// The image sets loaded, by number.
    sets: Vec<GpuSet>,
    /// The buffers of passes, kept and grown from pass to pass.
    pass_buffers: Option<PassBuffers>,
    /// The pass under way.
    pass: Option<GpuPass>,
}

/// An image set as the GPU executor keeps it.
#[derive(Debug)]
enum GpuSet {
    /// On the device, as [`pass::image_set_words`] lays it out.
    Resident { words: GpuTensor, layout: SetLayout },
    /// Too large for one storage binding: batches are gathered on the host and uploaded.
    Host(Arc<ImageSet>),
}

/// A pass's device buffers; `generation` changes when they are replaced by larger ones.
#[derive(Debug)]
struct PassBuffers {
    /// `[sample, augment]` per position.
    order: GpuTensor,
    /// Per batch, its first position (u32).
    firsts: GpuTensor,
    /// Per batch, Adam's six constants ([`adam::adam_constants`]).
    adam: GpuTensor,
    /// The records of every position.
    records: GpuTensor,
    generation: u64,
}

/// The pass under way.
#[derive(Debug)]
struct GpuPass {
    plan: Pass,
    /// Work recorded and not yet submitted, and how many batches it holds.
    encoder: Option<wgpu::CommandEncoder>,
    in_encoder: usize,
    /// Batches recorded so far.
    enqueued: usize,
    /// Batches whose submission has finished, counted by `on_submitted_work_done` callbacks.
    done: Arc<AtomicUsize>,
}

impl GpuExecutor {
    /// An executor on `ctx` holding the model's buffers `params` (name and values).
    pub fn new(ctx: Arc<GpuContext>, params: &[(String, Vec<f32>)]) -> Result<Self> {
        let params = params
            .iter()
            .map(|(name, values)| ctx.upload(name, values))
            .collect::<Result<_>>()?;
        Ok(Self {
            ctx,
            params,
            sets: Vec::new(),
            pass_buffers: None,
            pass: None,
        })
    }

    /// The model's buffers `params`, whole, as reads for [`GpuContext::execute`].
    fn param_reads(&self, params: &[Buf]) -> Result<Vec<(&GpuTensor, usize)>> {
        params
            .iter()
            .map(|b| {
                let t = self
                    .params
                    .get(b.0)
                    .ok_or_else(|| Error::Shape(format!("the model has no buffer {}", b.0)))?;
                Ok((t, t.len()))
            })
            .collect()
    }

    /// Writes the loads of `job` and the constants of its Adam steps, for the next submission.
    fn load(&self, schedule: &Schedule, rec: &Recorded, job: &Job) -> Result<()> {
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
        for launch in &rec.launches[job.steps.clone()] {
            if let Launch::Adam(update) = launch {
                update.set_step(ctx, job.adam_step()?)?;
            }
        }
        Ok(())
    }

    /// Pass buffers holding at least these many values each, the current ones when they do.
    fn pass_buffers(&mut self, lens: [usize; 4]) -> Result<&PassBuffers> {
        let fits = self.pass_buffers.as_ref().is_some_and(|b| {
            [&b.order, &b.firsts, &b.adam, &b.records]
                .iter()
                .zip(lens)
                .all(|(t, len)| t.len() >= len)
        });
        if !fits {
            let old = self.pass_buffers.take();
            let keep = |i: usize, len: usize| {
                old.as_ref().map_or(len, |b| {
                    len.max([&b.order, &b.firsts, &b.adam, &b.records][i].len())
                })
            };
            let ctx = &self.ctx;
            self.pass_buffers = Some(PassBuffers {
                order: ctx.zeros("pass order", keep(0, lens[0]))?,
                firsts: ctx.zeros("pass batch positions", keep(1, lens[1]))?,
                adam: ctx.zeros("pass Adam constants", keep(2, lens[2]))?,
                records: ctx.zeros("pass records", keep(3, lens[3]))?,
                generation: old.map_or(0, |b| b.generation + 1),
            });
        }
        Ok(self.pass_buffers.as_ref().expect("set above"))
    }

    /// Submits the work recorded for the pass, counting its batches done when it finishes.
    fn submit(ctx: &GpuContext, pass: &mut GpuPass) {
        if let Some(encoder) = pass.encoder.take() {
            let batches = std::mem::take(&mut pass.in_encoder);
            ctx.queue.submit([encoder.finish()]);
            ctx.count(Count::Submissions, 1);
            let done = Arc::clone(&pass.done);
            ctx.queue.on_submitted_work_done(move || {
                done.fetch_add(batches, Ordering::Relaxed);
            });
        }
    }
}

/// A schedule on the device: a tensor per buffer and a launch per step.
#[derive(Debug)]
pub struct Recorded {
    tensors: Vec<GpuTensor>,
    launches: Vec<Launch>,
    /// The gather and tally launches of passes on this schedule, built on first use.
    pass_launches: Mutex<Vec<(PassKey, Arc<PassLaunches>)>>,
}

/// What a schedule's pass launches are bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PassKey {
    set: usize,
    generation: u64,
    record: Record,
    pad: usize,
}

/// The launches a pass adds to a schedule's.
#[derive(Debug)]
struct PassLaunches {
    /// `gather.wgsl` from a resident set (none for sets kept on the host).
    gather: Option<Dispatch>,
    /// `tally.wgsl` into the pass's records.
    tally: Dispatch,
}

/// The launches of one step.
#[derive(Debug)]
enum Launch {
    Kernel(Dispatch),
    /// Adam's launch, whose step constants are set before each run.
    Adam(AdamUpdate),
    /// A conv weight gradient: one launch, or two when split into chunks across workgroups.
    WeightGrad(ConvWeightGrad),
}

impl Launch {
    /// Its dispatches, in the order they run.
    fn dispatches(&self) -> impl Iterator<Item = &Dispatch> {
        let (first, rest) = match self {
            Launch::Kernel(d) => (Some(d), None),
            Launch::Adam(a) => (Some(a.dispatch()), None),
            Launch::WeightGrad(w) => (None, Some(w.dispatches())),
        };
        first.into_iter().chain(rest.into_iter().flatten())
    }

    /// What each of its dispatches computes, for profiles: the step's label, and for a weight
    /// gradient in chunks, `conv_weight_grad:chunks …` (the partial sums) and
    /// `conv_weight_grad:sum …` (`sum_steps.wgsl` adding them).
    fn labels(&self, step: &Step) -> Vec<String> {
        let label = step.label();
        match self {
            Launch::WeightGrad(w) if w.chunks() > 1 => {
                let rest = label.strip_prefix("conv_weight_grad").unwrap_or(&label);
                let c = w.chunks();
                vec![
                    format!("conv_weight_grad:chunks{rest}, {c} chunks"),
                    format!("conv_weight_grad:sum{rest}, Σ of {c} chunks (sum_steps.wgsl)"),
                ]
            }
            _ => vec![label],
        }
    }
}

/// The batch loss of eq 6 from the per-sample losses `output_error.wgsl` writes, summed in f64.
fn batch_loss(per_sample: &[f32]) -> f32 {
    let sum: f64 = per_sample.iter().map(|&l| l as f64).sum();
    (sum / per_sample.len().max(1) as f64) as f32
}

/// The launch of `step` on `tensors` (one per buffer of its schedule), its buffers taken by
/// name from its [`Step::bindings`], which check their sizes.
async fn record(ctx: &GpuContext, step: &Step, tensors: &[GpuTensor]) -> Result<Launch> {
    use Role::*;
    let bindings = step.bindings()?;
    let d = match *step {
        Step::Matmul {
            m, n, k, a_t, b_t, ..
        } => {
            let [a, b, c] = bind(&bindings, [A, B, C], tensors)?;
            gemm::matmul(ctx, a, b, c, m, n, k, a_t, b_t).await?
        }
        Step::LifForward {
            constant,
            steps,
            m,
            lambda,
            sp,
            ..
        } => {
            let [current, v, s] = bind(&bindings, [Current, V, S], tensors)?;
            neuron::lif_forward(ctx, current, constant, steps, m, lambda, &sp, v, s).await?
        }
        Step::OutputError {
            steps,
            batch,
            classes,
            target,
            ..
        } => {
            let [s, labels, upstream, loss] =
                bind(&bindings, [S, Labels, Upstream, Loss], tensors)?;
            neuron::output_error(
                ctx, s, labels, steps, batch, classes, target, upstream, loss,
            )
            .await?
        }
        Step::SurrogateGScan { steps, m, scan, .. } => {
            let [upstream, v, delta, g] = bind(&bindings, [Upstream, V, Delta, G], tensors)?;
            neuron::surrogate_g_scan(ctx, upstream, v, steps, m, &scan, delta, g).await?
        }
        Step::SumSteps { steps, m, .. } => {
            let [x, out] = bind(&bindings, [X, Out], tensors)?;
            neuron::sum_steps(ctx, x, steps, m, out).await?
        }
        Step::Adam { len, .. } => {
            let [w, grad, m, v] = bind(&bindings, [W, Grad, M, V], tensors)?;
            // Placeholder constants: each run sets its own ([`AdamUpdate::set_step`]).
            let unset = AdamStep {
                lr: 0.0,
                beta1: 0.0,
                beta2: 0.0,
                eps: 0.0,
                step: 1,
            };
            let update = adam::adam_update(ctx, w, grad, m, v, len, &unset).await?;
            return Ok(Launch::Adam(update));
        }
        Step::ConvForward { images, geom, .. } => {
            let [input, w, out] = bind(&bindings, [Input, W, Out], tensors)?;
            conv::conv_forward(ctx, input, w, out, images, &geom).await?
        }
        Step::ConvInputGrad { images, geom, .. } => {
            let [grad_out, w, grad_in] = bind(&bindings, [GradOut, W, GradIn], tensors)?;
            conv::conv_input_grad(ctx, grad_out, w, grad_in, images, &geom).await?
        }
        Step::ConvWeightGrad { images, geom, .. } => {
            let [input, grad_out, grad_w] = bind(&bindings, [Input, GradOut, GradW], tensors)?;
            let launch =
                conv::conv_weight_grad(ctx, input, grad_out, grad_w, images, &geom).await?;
            return Ok(Launch::WeightGrad(launch));
        }
        Step::AvgPoolForward { pool: p, .. } => {
            let [input, out] = bind(&bindings, [Input, Out], tensors)?;
            pool::avg_pool_forward(ctx, input, out, p.maps, p.height, p.width, p.kernel).await?
        }
        Step::AvgPoolBackward { pool: p, .. } => {
            let [grad_out, grad_in] = bind(&bindings, [GradOut, GradIn], tensors)?;
            let (maps, h, w, k) = (p.maps, p.height, p.width, p.kernel);
            pool::avg_pool_backward(ctx, grad_out, grad_in, maps, h, w, k).await?
        }
        Step::MaxPoolForward { pool: p, .. } => {
            let [input, out] = bind(&bindings, [Input, Out], tensors)?;
            pool::max_pool_forward(ctx, input, out, p.maps, p.height, p.width, p.kernel).await?
        }
        Step::MaxPoolBackward { pool: p, .. } => {
            let [input, grad_out, grad_in] = bind(&bindings, [Input, GradOut, GradIn], tensors)?;
            let (maps, h, w, k) = (p.maps, p.height, p.width, p.kernel);
            pool::max_pool_backward(ctx, input, grad_out, grad_in, maps, h, w, k).await?
        }
    };
    Ok(Launch::Kernel(d))
}

/// The tensor of `buf` in a recorded schedule.
fn tensor_of(rec: &Recorded, buf: Buf) -> Result<&GpuTensor> {
    rec.tensors
        .get(buf.0)
        .ok_or_else(|| Error::Shape(format!("the schedule has no buffer {}", buf.0)))
}

/// The gather and tally launches of batch `b` of a pass (`plan`) on the recorded schedule
/// `rec`: from the schedule's cache, or built and cached for its pass buffers' generation.
async fn pass_launches(
    ctx: &GpuContext,
    rec: &Recorded,
    b: &PassBatch,
    plan: &Pass,
    bufs: &PassBuffers,
    set: &GpuSet,
    size: usize,
) -> Result<Arc<PassLaunches>> {
    let key = PassKey {
        set: plan.set,
        generation: bufs.generation,
        record: plan.record,
        pad: plan.pad,
    };
    let cached = rec
        .pass_launches
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| Arc::clone(l));
    if let Some(l) = cached {
        return Ok(l);
    }
    let (input, labels) = (tensor_of(rec, b.input)?, tensor_of(rec, b.labels)?);
    let training = plan.record == Record::Training;
    let gather = match set {
        GpuSet::Resident { words, layout } => Some(
            pass::gather(
                ctx,
                words,
                layout,
                &bufs.order,
                plan.pad,
                0,
                size,
                input,
                labels,
                training,
            )
            .await?,
        ),
        GpuSet::Host(_) => None,
    };
    let tally = pass::tally(
        ctx,
        tensor_of(rec, b.output)?,
        labels,
        tensor_of(rec, b.loss)?,
        plan.steps,
        size,
        plan.classes,
        plan.record,
        0,
        &bufs.records,
    )
    .await?;
    let l = Arc::new(PassLaunches { gather, tally });
    let mut all = rec
        .pass_launches
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    all.retain(|(k, _)| k.generation == key.generation);
    all.push((key, Arc::clone(&l)));
    Ok(l)
}

/// Batch `b` of a pass over a set kept on the host: gathered there by the CPU twin of
/// `gather.wgsl` and written to the schedule's input and label buffers.
fn upload_host_batch(
    ctx: &GpuContext,
    rec: &Recorded,
    b: &PassBatch,
    plan: &Pass,
    set: &ImageSet,
    first: usize,
    size: usize,
) -> Result<()> {
    let mut x = vec![0.0f32; size * set.shape.len()];
    let training = plan.record == Record::Training;
    let mut labels = vec![0u32; if training { size } else { 0 }];
    gather_on_host(set, &plan.order, plan.pad, first, &mut x, &mut labels);
    ctx.write(tensor_of(rec, b.input)?, &x)?;
    ctx.write(tensor_of(rec, b.labels)?, &labels)
}

/// Records batch `index` of a pass into `encoder`: copies of its first position into the gather
/// and tally uniforms and of its Adam constants into each Adam launch's, then one compute pass of
/// gather, the schedule's `launches` and tally.
fn record_batch(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    bufs: &PassBuffers,
    pass_launches: &PassLaunches,
    launches: &[Launch],
    adams: &[&AdamUpdate],
    index: usize,
) {
    let k = index as u64;
    let firsts = &bufs.firsts.buffer;
    if let Some(g) = &pass_launches.gather {
        encoder.copy_buffer_to_buffer(firsts, 4 * k, &g.params, pass::GATHER_FIRST_AT, 4);
    }
    let tally = &pass_launches.tally;
    encoder.copy_buffer_to_buffer(firsts, 4 * k, &tally.params, pass::TALLY_FIRST_AT, 4);
    for update in adams {
        encoder.copy_buffer_to_buffer(
            &bufs.adam.buffer,
            24 * k,
            update.params(),
            adam::ADAM_CONSTANTS_AT,
            24,
        );
    }
    let mut cp = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: None,
        timestamp_writes: None,
    });
    let work = pass_launches
        .gather
        .iter()
        .chain(launches.iter().flat_map(Launch::dispatches))
        .chain([tally]);
    let mut n = 0;
    for d in work {
        d.record(&mut cp);
        n += 1;
    }
    ctx.count(Count::Dispatches, n);
}

/// The tensors of `roles` in `bindings`, checked by [`Bindings::take`].
fn bind<'t, const N: usize>(
    bindings: &Bindings,
    roles: [Role; N],
    tensors: &'t [GpuTensor],
) -> Result<[&'t GpuTensor; N]> {
    let taken = bindings.take(roles, |b| tensors.get(b.0).map(GpuTensor::len))?;
    Ok(taken.map(|b| &tensors[b.buf.0]))
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
            Ok(Recorded {
                tensors,
                launches,
                pass_launches: Mutex::new(Vec::new()),
            })
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
            self.load(schedule, rec, &job)?;
            let launches = &rec.launches[job.steps.clone()];
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
            let work: Vec<&Dispatch> = launches.iter().flat_map(Launch::dispatches).collect();
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
            let reads = self.param_reads(params)?;
            self.ctx.execute(&[], &reads).await
        })
    }

    fn load_set<'a>(&'a mut self, set: Arc<ImageSet>) -> Task<'a, (usize, String)> {
        Box::pin(async move {
            let ctx = &self.ctx;
            let mib = |bytes: usize| bytes as f64 / (1u64 << 20) as f64;
            let words = set.tables.len() * 256 + set.labels.len() + set.pixels.len().div_ceil(4);
            let laid_out = (words <= ctx.max_tensor_values())
                .then(|| pass::image_set_words(&set).ok())
                .flatten();
            let (kept, note) = match laid_out {
                Some((words, layout)) => {
                    let note = format!(
                        "on the device ({:.1} MiB, 1 byte per pixel; batches gathered there)",
                        mib(4 * words.len())
                    );
                    let words = ctx.upload("image set", &words)?;
                    (GpuSet::Resident { words, layout }, note)
                }
                None => {
                    let note = format!(
                        "on the host: its {:.1} MiB exceed the {:.1} MiB that {} binds in one \
                         storage buffer, so each batch is gathered on the host and uploaded",
                        mib(set.pixels.len() + 4 * set.labels.len()),
                        mib(4 * ctx.max_tensor_values()),
                        ctx.name()
                    );
                    (GpuSet::Host(set), note)
                }
            };
            self.sets.push(kept);
            Ok((self.sets.len() - 1, note))
        })
    }

    fn begin_pass(&mut self, pass: Pass) -> Task<'_, ()> {
        Box::pin(async move {
            self.pass = None;
            if pass.set >= self.sets.len() {
                return Err(Error::Shape(format!("no image set {}", pass.set)));
            }
            let firsts: Vec<u32> = pass.batches.iter().map(|&(f, _)| f as u32).collect();
            let adam: Vec<f32> = pass.adam.iter().flat_map(adam::adam_constants).collect();
            let ctx = Arc::clone(&self.ctx);
            let lens = [
                pass.order.len(),
                firsts.len(),
                adam.len(),
                pass.records_len(),
            ];
            let b = self.pass_buffers(lens)?;
            ctx.write(&b.order, &pass.order)?;
            ctx.write(&b.firsts, &firsts)?;
            ctx.write(&b.adam, &adam)?;
            self.pass = Some(GpuPass {
                plan: pass,
                encoder: None,
                in_encoder: 0,
                enqueued: 0,
                done: Arc::new(AtomicUsize::new(0)),
            });
            Ok(())
        })
    }

    fn enqueue<'a>(
        &'a mut self,
        _schedule: &'a Schedule,
        rec: &'a Recorded,
        b: PassBatch,
    ) -> Task<'a, ()> {
        Box::pin(async move {
            let ctx = &*self.ctx;
            let (Some(pass), Some(bufs)) = (self.pass.as_mut(), self.pass_buffers.as_ref()) else {
                return Err(Error::Shape("a batch enqueued outside a pass".into()));
            };
            let &(first, size) = pass
                .plan
                .batches
                .get(b.index)
                .ok_or_else(|| Error::Shape(format!("the pass has no batch {}", b.index)))?;
            let per = pass.plan.record.len(pass.plan.classes);
            if 2 * (first + size) > bufs.order.len() || (first + size) * per > bufs.records.len() {
                return Err(Error::Shape(format!(
                    "batch {} of the pass ({size} samples from {first}) past its buffers",
                    b.index
                )));
            }
            let launches = &rec.launches[b.steps.clone()];
            let adams = launches
                .iter()
                .filter_map(|l| match l {
                    Launch::Adam(update) => Some(update),
                    Launch::Kernel(_) | Launch::WeightGrad(_) => None,
                })
                .collect::<Vec<_>>();
            if !adams.is_empty() && b.index >= pass.plan.adam.len() {
                return Err(Error::InvalidParam {
                    name: "adam",
                    reason: format!("batch {} of the pass has no Adam constants", b.index),
                });
            }
            let scope = ctx.scope();
            let set = &self.sets[pass.plan.set];
            let pass_launches = pass_launches(ctx, rec, &b, &pass.plan, bufs, set, size).await?;
            if let GpuSet::Host(set) = set {
                // Written before the next submission: submit what came before it first.
                Self::submit(ctx, pass);
                upload_host_batch(ctx, rec, &b, &pass.plan, set, first, size)?;
            }
            let encoder = pass.encoder.get_or_insert_with(|| {
                ctx.device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("mtsnn pass"),
                    })
            });
            record_batch(
                ctx,
                encoder,
                bufs,
                &pass_launches,
                launches,
                &adams,
                b.index,
            );
            pass.in_encoder += 1;
            pass.enqueued += 1;
            if pass.in_encoder >= BATCHES_PER_SUBMISSION || matches!(set, GpuSet::Host(_)) {
                Self::submit(ctx, pass);
            }
            scope
                .finish(&format!("recording batch {} of a pass", b.index + 1))
                .await?;
            Ok(())
        })
    }

    fn progress(&mut self) -> usize {
        let Some(pass) = &self.pass else { return 0 };
        // Fires the callbacks of finished submissions; never waits.
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        pass.plan.samples(pass.done.load(Ordering::Relaxed))
    }

    fn finish_pass<'a>(
        &'a mut self,
        progress: &'a mut dyn FnMut(usize),
        params: &'a [Buf],
    ) -> Task<'a, PassResult> {
        Box::pin(async move {
            let ctx = Arc::clone(&self.ctx);
            let mut pass = self
                .pass
                .take()
                .ok_or_else(|| Error::Shape("no pass to finish".into()))?;
            Self::submit(&ctx, &mut pass);
            // Progress while the queue drains, from non-blocking polls (browsers poll for us).
            #[cfg(not(target_arch = "wasm32"))]
            loop {
                ctx.device
                    .poll(wgpu::PollType::Poll)
                    .map_err(|e| Error::Gpu(format!("polling the GPU: {e}")))?;
                let done = pass.done.load(Ordering::Relaxed);
                progress(pass.plan.samples(done));
                if done >= pass.enqueued {
                    break;
                }
                std::thread::sleep(POLL_INTERVAL);
            }
            let bufs = self
                .pass_buffers
                .as_ref()
                .ok_or_else(|| Error::Shape("a pass without buffers".into()))?;
            let len = pass.plan.records_len();
            // The records and the model buffers asked for, in one wait.
            let mut reads = vec![(&bufs.records, len)];
            reads.extend(self.param_reads(params)?);
            let mut values = ctx.execute(&[], &reads).await?.into_iter();
            let records = values.next().unwrap_or_default();
            progress(pass.plan.samples(pass.enqueued));
            let losses = if pass.plan.record == Record::Training {
                pass.plan
                    .batches
                    .iter()
                    .map(|&(first, size)| {
                        let per_sample: Vec<f32> = records[2 * first..2 * (first + size)]
                            .iter()
                            .step_by(2)
                            .copied()
                            .collect();
                        batch_loss(&per_sample)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok(PassResult {
                records,
                losses,
                params: values.collect(),
            })
        })
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.ctx.counters())
    }

    fn run_timed<'a>(
        &'a mut self,
        schedule: &'a Schedule,
        rec: &'a Recorded,
        job: Job<'a>,
    ) -> Task<'a, Option<Vec<(String, f64)>>> {
        Box::pin(async move {
            let ctx = &*self.ctx;
            if !ctx.has_timestamps() {
                return Ok(None);
            }
            self.load(schedule, rec, &job)?;
            let launches = &rec.launches[job.steps.clone()];
            let work: Vec<&Dispatch> = launches.iter().flat_map(Launch::dispatches).collect();
            let labels = launches
                .iter()
                .zip(&schedule.steps[job.steps])
                .flat_map(|(launch, step)| launch.labels(step));
            let times = ctx.execute_timed(&work).await?;
            Ok(times.map(|t| labels.zip(t).collect()))
        })
    }
}
