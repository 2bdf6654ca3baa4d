//! Running schedules: the [`Executor`] interface that the CPU ([`crate::cpu::CpuExecutor`]) and
//! the GPU ([`crate::gpu::GpuExecutor`]) implement, and [`Runner`], the one [`Backend`] built on
//! any executor. The runner chooses the schedule of each call, loads the batch, and turns what
//! the executor read back into losses, predictions and gradients; executors only run steps.

use std::ops::Range;
use std::sync::Arc;

use crate::backend::{Backend, BatchStats, EpochStats, Inference, SetId, Task, check_batch};
use crate::dataset::{ImageSet, Order};
use crate::error::{Error, Result};
use crate::kernel_params::AdamStep;
use crate::model::{AdamState, Model};
use crate::pass::{Counters, Record, Totals};
use crate::schedule::{Buf, Mode, NetSchedule, Params, Schedule};
use crate::spec::NetSpec;

/// One run of a prepared schedule.
#[derive(Debug)]
pub struct Job<'a> {
    /// The steps to run, `schedule.steps[steps]`.
    pub steps: Range<usize>,
    /// Values written into buffers first; each fills its buffer exactly.
    pub loads: Vec<(Buf, &'a [f32])>,
    /// The constants of the [`crate::schedule::Step::Adam`] steps, if any run.
    pub adam: Option<AdamStep>,
    /// Buffers read back afterwards, whole.
    pub reads: Vec<Buf>,
}

impl Job<'_> {
    /// The constants of the Adam steps, which a job that runs any must give.
    pub fn adam_step(&self) -> Result<&AdamStep> {
        self.adam.as_ref().ok_or_else(|| Error::InvalidParam {
            name: "adam",
            reason: "a schedule with Adam steps ran without their constants".into(),
        })
    }
}

/// What a run returns.
#[derive(Debug)]
pub struct Ran {
    /// The batch loss of eq 6, when an output-error step ran.
    pub loss: Option<f32>,
    /// The values of [`Job::reads`], in order.
    pub values: Vec<Vec<f32>>,
}

/// A pass over an image set that an executor keeps ([`Executor::load_set`]): training batches
/// (an epoch) or evaluation batches, each gathered from the set by the executor, with no
/// result read back until [`Executor::finish_pass`].
#[derive(Clone, Debug)]
pub struct Pass {
    /// The set, as numbered by [`Executor::load_set`].
    pub set: usize,
    /// `[sample, augmentation]` per position, in pass order ([`Order::words`]).
    pub order: Vec<u32>,
    /// The crop's padding ([`Order::pad`]).
    pub pad: usize,
    /// What each sample leaves in the pass's records.
    pub record: Record,
    /// Output neurons.
    pub classes: usize,
    /// Time steps T.
    pub steps: usize,
    /// Per batch, in order: its first position in `order` and its size.
    pub batches: Vec<(usize, usize)>,
    /// Per batch, the constants of its Adam steps (training; empty otherwise).
    pub adam: Vec<AdamStep>,
}

impl Pass {
    /// Positions (samples) in the pass.
    pub fn positions(&self) -> usize {
        self.order.len() / 2
    }

    /// Samples in the first `batches` batches.
    pub fn samples(&self, batches: usize) -> usize {
        batches
            .checked_sub(1)
            .and_then(|k| self.batches.get(k))
            .map_or(0, |&(first, size)| first + size)
    }

    /// Values of the records of the whole pass.
    pub fn records_len(&self) -> usize {
        self.positions() * self.record.len(self.classes)
    }
}

/// One batch of a [`Pass`]: its number in the pass, the steps it runs, and the buffers that the
/// gather fills and the records are taken from.
#[derive(Clone, Debug, PartialEq)]
pub struct PassBatch {
    /// Its number in [`Pass::batches`].
    pub index: usize,
    /// The steps to run.
    pub steps: Range<usize>,
    /// Receives the gathered inputs.
    pub input: Buf,
    /// Receives the labels (training).
    pub labels: Buf,
    /// The output layer's spikes.
    pub output: Buf,
    /// The per-sample losses (training).
    pub loss: Buf,
}

impl PassBatch {
    /// Batch `index` of a pass run in `mode` on schedule `s`.
    pub fn of(s: &NetSchedule, index: usize, mode: Mode) -> Result<Self> {
        Ok(Self {
            index,
            steps: s.steps(mode),
            input: s.input,
            labels: s.labels,
            output: *s
                .spikes
                .last()
                .ok_or_else(|| Error::Shape("a network without layers".into()))?,
            loss: s.loss,
        })
    }
}

/// What a pass leaves: the records of every position, `[positions][record]`
/// ([`Record::len`] values each), for training each batch's loss (eq 6, averaged over
/// the batch, as [`Backend::train_batch`] reports it on the same executor), and the model
/// buffers asked for when it finished.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassResult {
    /// The records, in pass order.
    pub records: Vec<f32>,
    /// Per batch, its loss (training passes).
    pub losses: Vec<f32>,
    /// The values of the buffers given to [`Executor::finish_pass`], after the pass.
    pub params: Vec<Vec<f32>>,
}

/// Something that runs schedules with its own kernels.
///
/// An executor is made holding the model's tensors (the [`crate::schedule::Buffer::param`]
/// buffers, numbered as [`Params::of`] says); every other buffer belongs to one schedule.
pub trait Executor {
    /// What the executor keeps per schedule between runs: the GPU's buffers and recorded launches.
    type Prepared;

    /// A human-readable name, e.g. `cpu (2 threads, avx512)`.
    fn name(&self) -> String;

    /// The most values one buffer may hold.
    fn max_values(&self) -> usize;

    /// Makes ready to run `schedule` any number of times.
    fn prepare<'a>(&'a mut self, schedule: &'a Schedule) -> Task<'a, Self::Prepared>;

    /// Loads, runs the steps and reads back, as `job` says.
    fn run<'a>(
        &'a mut self,
        schedule: &'a Schedule,
        prepared: &'a Self::Prepared,
        job: Job<'a>,
    ) -> Task<'a, Ran>;

    /// The values of the model's buffers `params`.
    fn read<'a>(&'a mut self, params: &'a [Buf]) -> Task<'a, Vec<Vec<f32>>>;

    /// Keeps `set` for passes over it; returns its number and, in words, where it is kept.
    fn load_set<'a>(&'a mut self, set: Arc<ImageSet>) -> Task<'a, (usize, String)>;

    /// Starts a pass: takes its order, batch positions and Adam constants (on a GPU, uploads
    /// them, the only upload of the pass). A pass left unfinished is dropped.
    fn begin_pass(&mut self, pass: Pass) -> Task<'_, ()>;

    /// Runs (or queues) one batch of the current pass: gathers it from the set, runs the steps
    /// of `schedule`, and records each sample as the pass says. Reads nothing back.
    fn enqueue<'a>(
        &'a mut self,
        schedule: &'a Schedule,
        prepared: &'a Self::Prepared,
        batch: PassBatch,
    ) -> Task<'a, ()>;

    /// Samples of the current pass known to be done, without waiting.
    fn progress(&mut self) -> usize;

    /// Waits for the current pass, telling `progress` the samples done as it goes, and reads
    /// its records back, with the model's buffers `params` as they are after the pass (on a
    /// GPU in the same wait).
    fn finish_pass<'a>(
        &'a mut self,
        progress: &'a mut dyn FnMut(usize),
        params: &'a [Buf],
    ) -> Task<'a, PassResult>;

    /// What the device has been asked to do so far, where the executor counts it (GPUs).
    fn counters(&self) -> Option<Counters> {
        None
    }

    /// Runs `job` as [`Self::run`] does (reading nothing back) and returns each launch's device
    /// time in nanoseconds with what it computes (its step's [`crate::schedule::Step::label`]; a step of several
    /// launches names each), where the executor can time them (GPUs with timestamp queries).
    fn run_timed<'a>(
        &'a mut self,
        schedule: &'a Schedule,
        prepared: &'a Self::Prepared,
        job: Job<'a>,
    ) -> Task<'a, Option<Vec<(String, f64)>>> {
        let _ = (schedule, prepared, job);
        Box::pin(async { Ok(None) })
    }
}

/// The model's buffers with their names and contents, in buffer order: per weighted layer its
/// weights, a zero gradient and Adam's two moments.
pub fn model_buffers(model: &Model) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    for (i, w) in model.weights.iter().enumerate() {
        let values = [
            w.clone(),
            vec![0.0; w.len()],
            model.adam.m[i].clone(),
            model.adam.v[i].clone(),
        ];
        out.extend(Params::names(i).into_iter().zip(values));
    }
    out
}

/// Schedules kept (training, the last short batch of an epoch, evaluation).
const KEPT_PLANS: usize = 3;

/// A network on an executor: the [`Backend`] of every executor.
pub struct Runner<E: Executor> {
    executor: E,
    /// Spec, hyper-parameters and Adam's step count; the tensors live in the executor, and these
    /// vectors are left empty.
    model: Model,
    /// Per mode: the largest batch, and the widest buffer with its values per sample.
    limits: Vec<(usize, String, usize)>,
    /// Prepared schedules, most recently used last; at most one per batch size.
    plans: Vec<(NetSchedule, E::Prepared)>,
    /// Samples of each set loaded ([`Backend::load_set`]), by number.
    sets: Vec<usize>,
}

impl<E: Executor> Runner<E> {
    /// Runs `model` on `executor`, which holds its tensors ([`model_buffers`]).
    pub(crate) fn on(executor: E, model: &Model) -> Result<Self> {
        let max_values = executor.max_values();
        let limits = [Mode::Inference, Mode::Gradients, Mode::Training]
            .into_iter()
            .map(|mode| NetSchedule::max_batch(&model.spec, &model.hyper, mode, max_values))
            .collect::<Result<_>>()?;
        let model = Model {
            weights: Vec::new(),
            adam: AdamState {
                step: model.adam.step,
                m: Vec::new(),
                v: Vec::new(),
            },
            ..model.clone()
        };
        Ok(Self {
            executor,
            model,
            limits,
            plans: Vec::new(),
            sets: Vec::new(),
        })
    }

    /// The executor.
    pub fn executor(&self) -> &E {
        &self.executor
    }

    /// Fails with [`Error::Gpu`] naming the largest batch that fits when one of `batch`'s buffers
    /// would exceed what the executor holds in one buffer (checked before anything is allocated).
    fn check_fits(&self, batch: usize, mode: Mode) -> Result<()> {
        let (max, name, per_sample) = &self.limits[mode as usize];
        if batch <= *max {
            return Ok(());
        }
        let mib = |values: usize| values as f64 * 4.0 / (1u64 << 20) as f64;
        Err(Error::Gpu(format!(
            "a batch of {batch} does not fit {}: {name} ({} at T={}) needs {:.1} MiB in one buffer, \
             and the device binds at most {:.1} MiB; the largest batch that fits is {max} \
             (split larger batches)",
            self.executor.name(),
            self.model.spec.text(),
            self.model.hyper.steps,
            mib(batch * per_sample),
            mib(self.executor.max_values()),
        )))
    }

    /// Index in `self.plans` of a prepared schedule for `batch` that runs `mode` (built if
    /// needed, replacing one of a lower mode), moved to the most-recent end.
    async fn plan(&mut self, batch: usize, mode: Mode) -> Result<usize> {
        self.check_fits(batch, mode)?;
        let found = self.plans.iter().position(|(s, _)| s.batch == batch);
        let plan = match found {
            Some(i) if self.plans[i].0.mode >= mode => self.plans.remove(i),
            _ => {
                // A plan of a lower mode goes first, so that its buffers are freed.
                if let Some(i) = found {
                    self.plans.remove(i);
                }
                let s = NetSchedule::new(&self.model.spec, &self.model.hyper, batch, mode)?;
                let prepared = self.executor.prepare(&s.schedule).await?;
                (s, prepared)
            }
        };
        self.plans.push(plan);
        if self.plans.len() > KEPT_PLANS {
            self.plans.remove(0);
        }
        Ok(self.plans.len() - 1)
    }

    /// Runs `mode` on a batch and reads back what `reads` picks; returns the batch size too.
    async fn run(
        &mut self,
        x: &[f32],
        labels: Option<&[u32]>,
        mode: Mode,
        adam: Option<AdamStep>,
        reads: impl Fn(&NetSchedule) -> Vec<Buf>,
    ) -> Result<(usize, Ran)> {
        let batch = check_batch(&self.model, x, labels)?;
        let i = self.plan(batch, mode).await?;
        let (s, prepared) = &self.plans[i];
        let mut loads = vec![(s.input, x)];
        if let Some(labels) = labels {
            loads.push((s.labels, bytemuck::cast_slice(labels)));
        }
        let job = Job {
            steps: s.steps(mode),
            loads,
            adam,
            reads: reads(s),
        };
        Ok((batch, self.executor.run(&s.schedule, prepared, job).await?))
    }

    /// The batches of a pass over `order` in batches of `batch` (the last one shorter when
    /// `batch` does not divide it), after checking the set, the order and that both sizes fit.
    fn pass_batches(
        &self,
        set: SetId,
        order: &Order,
        batch: usize,
        mode: Mode,
    ) -> Result<Vec<(usize, usize)>> {
        let Some(&len) = self.sets.get(set.0) else {
            return Err(Error::Shape(format!("no image set {} was loaded", set.0)));
        };
        if batch == 0 || order.is_empty() || order.augment.len() != order.len() {
            return Err(Error::Shape(format!(
                "a pass of {} positions ({} augmentations) in batches of {batch}",
                order.len(),
                order.augment.len()
            )));
        }
        if let Some(&bad) = order.samples.iter().find(|&&i| i as usize >= len) {
            return Err(Error::Shape(format!(
                "sample {bad} of an image set of {len}"
            )));
        }
        if order.pad > 64 {
            return Err(Error::Shape(format!(
                "a crop padding of {} (at most 64)",
                order.pad
            )));
        }
        let batches: Vec<(usize, usize)> = (0..order.len())
            .step_by(batch)
            .map(|first| (first, batch.min(order.len() - first)))
            .collect();
        self.check_fits(batch.min(order.len()), mode)?;
        Ok(batches)
    }

    /// Runs a pass of `mode` (training or inference) over `batches` and returns its result.
    async fn run_pass(
        &mut self,
        set: SetId,
        order: &Order,
        batches: &[(usize, usize)],
        mode: Mode,
        progress: &mut dyn FnMut(usize),
        params: &[Buf],
    ) -> Result<PassResult> {
        let training = mode == Mode::Training;
        let adam: Vec<AdamStep> = if training {
            (1..=batches.len() as u64)
                .map(|k| AdamStep::of(&self.model.hyper, self.model.adam.step + k))
                .collect()
        } else {
            Vec::new()
        };
        let pass = Pass {
            set: set.0,
            order: order.words(),
            pad: order.pad,
            record: if training {
                Record::Training
            } else {
                Record::Totals
            },
            classes: self.model.spec.classes(),
            steps: self.model.hyper.steps,
            batches: batches.to_vec(),
            adam,
        };
        self.executor.begin_pass(pass).await?;
        for (k, &(_, size)) in batches.iter().enumerate() {
            let i = self.plan(size, mode).await?;
            let (s, prepared) = &self.plans[i];
            let batch = PassBatch::of(s, k, mode)?;
            self.executor.enqueue(&s.schedule, prepared, batch).await?;
            progress(self.executor.progress());
        }
        let result = self.executor.finish_pass(progress, params).await?;
        if training {
            self.model.adam.step += batches.len() as u64;
        }
        Ok(result)
    }

    /// The buffers of the weights and Adam's moments, per weighted layer `[w, m, v]`.
    fn state_buffers(&self) -> Vec<Buf> {
        (0..self.model.spec.weighted_layers().count())
            .flat_map(|i| {
                let p = Params::of(i);
                [p.w, p.m, p.v]
            })
            .collect()
    }

    /// Puts the values of [`Self::state_buffers`] and the Adam step count into `model`.
    fn fill_state(&self, model: &mut Model, values: Vec<Vec<f32>>) {
        let mut values = values.into_iter();
        let (mut w, mut m, mut v) = (Vec::new(), Vec::new(), Vec::new());
        while let (Some(a), Some(b), Some(c)) = (values.next(), values.next(), values.next()) {
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
    }

    /// The output spikes, and with `record_layers` every weighted layer's.
    fn spike_reads(s: &NetSchedule, record_layers: bool) -> Vec<Buf> {
        let mut reads: Vec<Buf> = if record_layers {
            s.spikes
                .iter()
                .zip(&s.potentials)
                .filter(|(_, v)| v.is_some())
                .map(|(s, _)| *s)
                .collect()
        } else {
            Vec::new()
        };
        reads.extend(s.spikes.last());
        reads
    }

    /// The [`Inference`] of a batch from the values of [`Self::spike_reads`].
    fn inference(&self, batch: usize, mut values: Vec<Vec<f32>>) -> Result<Inference> {
        let output = values
            .pop()
            .ok_or_else(|| Error::Shape("no output spikes were read".into()))?;
        Ok(Inference {
            steps: self.model.hyper.steps,
            batch,
            classes: self.model.spec.classes(),
            output,
            layers: values,
        })
    }
}

fn loss_of(ran: &Ran) -> Result<f32> {
    ran.loss
        .ok_or_else(|| Error::Shape("the schedule computed no loss".into()))
}

impl<E: Executor> Backend for Runner<E> {
    fn name(&self) -> String {
        self.executor.name()
    }

    fn spec(&self) -> &NetSpec {
        &self.model.spec
    }

    fn max_batch(&self, mode: Mode) -> usize {
        self.limits[mode as usize].0
    }

    fn train_batch_async<'a>(
        &'a mut self,
        x: &'a [f32],
        labels: &'a [u32],
    ) -> Task<'a, BatchStats> {
        Box::pin(async move {
            let step = AdamStep::of(&self.model.hyper, self.model.adam.step + 1);
            let (batch, ran) = self
                .run(x, Some(labels), Mode::Training, Some(step), |s| {
                    Self::spike_reads(s, false)
                })
                .await?;
            self.model.adam.step += 1;
            let loss = loss_of(&ran)?;
            let correct = self.inference(batch, ran.values)?.correct(labels);
            Ok(BatchStats { loss, correct })
        })
    }

    fn gradients_async<'a>(
        &'a mut self,
        x: &'a [f32],
        labels: &'a [u32],
    ) -> Task<'a, (f32, Vec<Vec<f32>>)> {
        Box::pin(async move {
            let (_, ran) = self
                .run(x, Some(labels), Mode::Gradients, None, |s| {
                    s.params.iter().map(|p| p.grad).collect()
                })
                .await?;
            Ok((loss_of(&ran)?, ran.values))
        })
    }

    fn infer_async<'a>(&'a mut self, x: &'a [f32], record_layers: bool) -> Task<'a, Inference> {
        Box::pin(async move {
            let (batch, ran) = self
                .run(x, None, Mode::Inference, None, |s| {
                    Self::spike_reads(s, record_layers)
                })
                .await?;
            self.inference(batch, ran.values)
        })
    }

    fn load_set_async<'a>(&'a mut self, set: Arc<ImageSet>) -> Task<'a, (SetId, String)> {
        Box::pin(async move {
            let (spec, len) = (&self.model.spec, set.len());
            if set.shape != spec.input() {
                return Err(Error::Shape(format!(
                    "the network {} takes {} inputs but the image set's samples are {}",
                    spec.text(),
                    spec.input(),
                    set.shape
                )));
            }
            if let Some(&bad) = set.labels.iter().find(|&&l| l as usize >= spec.classes()) {
                return Err(Error::Shape(format!(
                    "label {bad} but the network has {} classes",
                    spec.classes()
                )));
            }
            let (id, note) = self.executor.load_set(set).await?;
            if id != self.sets.len() {
                return Err(Error::Shape(format!(
                    "the executor numbered a new set {id}, not {}",
                    self.sets.len()
                )));
            }
            self.sets.push(len);
            Ok((SetId(id), note))
        })
    }

    fn train_epoch_async<'a>(
        &'a mut self,
        set: SetId,
        order: &'a Order,
        batch: usize,
        progress: &'a mut dyn FnMut(usize),
        state: Option<&'a mut Model>,
    ) -> Task<'a, EpochStats> {
        Box::pin(async move {
            let batches = self.pass_batches(set, order, batch, Mode::Training)?;
            let reads = if state.is_some() {
                self.state_buffers()
            } else {
                Vec::new()
            };
            let mut result = self
                .run_pass(set, order, &batches, Mode::Training, progress, &reads)
                .await?;
            if let Some(model) = state {
                self.fill_state(model, std::mem::take(&mut result.params));
            }
            let hits = |first: usize, size: usize| {
                result.records[2 * first..2 * (first + size)]
                    .chunks_exact(2)
                    .filter(|r| r[1] == 1.0)
                    .count()
            };
            let batches = batches
                .iter()
                .zip(&result.losses)
                .map(|(&(first, size), &loss)| BatchStats {
                    loss,
                    correct: hits(first, size),
                })
                .collect();
            Ok(EpochStats { batches })
        })
    }

    fn evaluate_set_async<'a>(
        &'a mut self,
        set: SetId,
        batch: usize,
        progress: &'a mut dyn FnMut(usize),
    ) -> Task<'a, Totals> {
        Box::pin(async move {
            let len = self.sets.get(set.0).copied().unwrap_or(0);
            let order = Order::identity(len);
            let batch = batch.min(self.max_batch(Mode::Inference)).max(1);
            let batches = self.pass_batches(set, &order, batch, Mode::Inference)?;
            let result = self
                .run_pass(set, &order, &batches, Mode::Inference, progress, &[])
                .await?;
            Ok(Totals {
                classes: self.model.spec.classes(),
                values: result.records,
            })
        })
    }

    fn counters(&self) -> Option<Counters> {
        self.executor.counters()
    }

    fn profile_train_batch_async<'a>(
        &'a mut self,
        x: &'a [f32],
        labels: &'a [u32],
    ) -> Task<'a, Option<Vec<(String, f64)>>> {
        Box::pin(async move {
            let batch = check_batch(&self.model, x, Some(labels))?;
            let step = AdamStep::of(&self.model.hyper, self.model.adam.step + 1);
            let i = self.plan(batch, Mode::Training).await?;
            let (s, prepared) = &self.plans[i];
            let job = Job {
                steps: s.steps(Mode::Training),
                loads: vec![(s.input, x), (s.labels, bytemuck::cast_slice(labels))],
                adam: Some(step),
                reads: Vec::new(),
            };
            let times = self.executor.run_timed(&s.schedule, prepared, job).await?;
            self.model.adam.step += 1;
            Ok(times)
        })
    }

    fn read_state_async<'a>(&'a mut self, model: &'a mut Model) -> Task<'a, ()> {
        Box::pin(async move {
            let values = self.executor.read(&self.state_buffers()).await?;
            self.fill_state(model, values);
            Ok(())
        })
    }
}
