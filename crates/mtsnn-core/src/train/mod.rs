//! Training as a library: a [`Trainer`] trains a [`Model`] on an [`ImageSet`], tests it on
//! another after every epoch, and keeps a run folder ([`run_dir`]) from which the run can be
//! resumed at any batch. `mtsnn train` is this with a command line; any Rust program can do the
//! same (`examples/train.rs`).
//!
//! Every epoch `e` shuffles (and crops, and flips) with a generator seeded from `(seed, e)`
//! ([`epoch_order`]), and a learning-rate schedule counts Adam's updates (the checkpoint keeps
//! them), so a resumed run trains exactly as the uninterrupted one would have.
//!
//! An epoch is handed to the backend in chunks of whole batches ([`crate::Backend::train_epoch`]
//! on a part of the epoch's order), each about a second long; between chunks the trainer looks at
//! its stop flag ([`Trainer::stop_flag`], set e.g. by a signal handler). When it is set, the
//! trainer reads the weights and Adam state back, writes a mid-epoch checkpoint (with the
//! position in the epoch and the epoch's statistics so far, [`EpochProgress`]) and returns
//! [`Finish::Interrupted`]. Resumed from that checkpoint, the run redraws the epoch's order and
//! goes on at the next batch: on the same backend (and, on the CPU, the same threads), the result
//! is bit for bit that of an uninterrupted run (tested in `tests/tests/trainer.rs`).

mod dead;
pub mod guard;
mod metrics;
mod outcome;
mod progress;
pub mod run_dir;
pub mod run_info;
mod warnings;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub use dead::{DeadClass, dead_class_potentials};
pub use metrics::EpochMetrics;
use outcome::describe_classes;
pub use outcome::{EVAL_BATCH, TestOutcome, evaluate_loaded, full_output};
pub use progress::{EpochProgress, META_PROGRESS, load_checkpoint};
pub use run_info::{Invocation, RunInfo, TrainConfig};
pub use warnings::{diverging, silent_at_init};

use run_dir::{CHECKPOINT, FINAL_MODEL, METRICS, Phase, RunDir};
use run_info::Resumption;

use crate::backend::{Backend, SetId};
use crate::dataset::{ImageSet, Order};
use crate::error::{Error, Result};
use crate::factory::{BackendKind, choose_backend, create_backend};
use crate::kernel_params::AdamStep;
use crate::lr_schedule::ScheduleKind;
use crate::model::Model;
use crate::pass::gather;
use crate::rng::Rng;

/// How long one chunk of an epoch should take: the longest a stop request waits for.
const CHUNK_SECONDS: f64 = 1.0;

/// What a training tells its caller while it runs ([`Trainer::run`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A line worth showing: what is trained where, where the data are kept, what is resumed.
    Note(&'a str),
    /// An epoch begins (`done` of its `samples` are already trained when it resumes mid-epoch).
    EpochStarted {
        /// The epoch (1-based).
        epoch: usize,
        /// The epochs the run trains to.
        epochs: usize,
        /// Training samples per epoch.
        samples: usize,
        /// Samples of this epoch already trained.
        done: usize,
    },
    /// Training samples of the current epoch done so far, as far as the backend knows without
    /// waiting, and the throughput of this sitting.
    Progress {
        /// Samples of the epoch done.
        done: usize,
        /// Samples per second.
        samples_per_sec: f64,
    },
    /// The epoch's training is done; the test set is being evaluated.
    Testing,
    /// An epoch is finished and recorded (checkpoint and metrics line written).
    EpochDone(&'a EpochMetrics),
    /// Training goes on, but something looks wrong ([`silent_at_init`], [`diverging`]).
    Warning(&'a str),
}

/// How [`Trainer::run`] ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Finish {
    /// Every epoch trained; the final model is written.
    Complete {
        /// `model.safetensors` in the run folder.
        model: PathBuf,
    },
    /// Stopped after the epoch [`Trainer::stop_after`] named; resume from the checkpoint.
    Paused {
        /// The last epoch trained.
        epoch: usize,
        /// The checkpoint to resume from.
        checkpoint: PathBuf,
    },
    /// Stopped by the stop flag; the checkpoint holds the position (mid-epoch, or an epoch's end).
    Interrupted {
        /// The epoch in progress.
        epoch: usize,
        /// Its batches done.
        batch: usize,
        /// Its batches.
        batches: usize,
        /// The checkpoint to resume from.
        checkpoint: PathBuf,
    },
}

/// A training run: a model, the run's settings, a training and a test set, a run folder.
pub struct Trainer {
    model: Model,
    config: TrainConfig,
    train: Arc<ImageSet>,
    test: Arc<ImageSet>,
    dir: PathBuf,
    /// The checkpoint a resumed run continues and, mid-epoch, where in the epoch.
    resumed: Option<(PathBuf, Option<EpochProgress>)>,
    backend: BackendKind,
    stop_after: Option<usize>,
    replace: bool,
    stop: Arc<AtomicBool>,
    /// Batches per chunk; `None`: about [`CHUNK_SECONDS`] worth.
    chunk: Option<usize>,
}

/// The sets a backend holds for a run: training, test and (with the dead-class guard) the probe.
struct LoadedSets {
    train: SetId,
    test: SetId,
    probe: Option<(SetId, Arc<ImageSet>)>,
    /// Where the training and test sets are kept, in words.
    kept: (String, String),
}

impl Trainer {
    /// A new run of `model` (e.g. [`Model::init`]) trained as `config` says on `train`, tested on
    /// `test` after every epoch, written into `dir`. The learning-rate schedule's horizon is set
    /// here: `config.epochs` epochs of ⌈|train| / batch⌉ updates. Runs on [`BackendKind::Auto`]
    /// unless [`Self::backend`] says otherwise.
    pub fn new(
        mut model: Model,
        config: TrainConfig,
        train: Arc<ImageSet>,
        test: Arc<ImageSet>,
        dir: impl Into<PathBuf>,
    ) -> Self {
        set_horizon(&mut model.hyper, &config, train.len());
        Self {
            model,
            config,
            train,
            test,
            dir: dir.into(),
            resumed: None,
            backend: BackendKind::Auto,
            stop_after: None,
            replace: false,
            stop: Arc::new(AtomicBool::new(false)),
            chunk: None,
        }
    }

    /// Continues the run whose checkpoint is `checkpoint` (at an epoch's end or mid-epoch), with
    /// its network, hyper-parameters and optimiser state, as `config` says, into `dir` (usually
    /// the checkpoint's folder). `config` must keep the run's training set and batch when a
    /// learning-rate schedule counts its updates, and its epochs when the schedule spans them.
    pub fn resume(
        checkpoint: &Path,
        config: TrainConfig,
        train: Arc<ImageSet>,
        test: Arc<ImageSet>,
        dir: impl Into<PathBuf>,
    ) -> Result<Self> {
        let (model, progress) = load_checkpoint(checkpoint)?;
        Ok(Self {
            model,
            config,
            train,
            test,
            dir: dir.into(),
            resumed: Some((checkpoint.to_path_buf(), progress)),
            backend: BackendKind::Auto,
            stop_after: None,
            replace: false,
            stop: Arc::new(AtomicBool::new(false)),
            chunk: None,
        })
    }

    /// Where to compute (default [`BackendKind::Auto`]: a hardware GPU when there is one).
    pub fn backend(mut self, kind: BackendKind) -> Self {
        self.backend = kind;
        self
    }

    /// For a new run: replace a run already in the folder (its files are replaced once the new
    /// run has its first checkpoint) instead of refusing to start.
    pub fn replace_existing(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    /// Stop after this epoch as an interruption would: the checkpoint stays for resuming, no
    /// final model is written, and the run (with its schedule) still spans `config.epochs`.
    pub fn stop_after(mut self, epoch: Option<usize>) -> Self {
        self.stop_after = epoch;
        self
    }

    /// Look at the stop flag every `batches` batches instead of about every second (each chunk
    /// is one pass of the backend: on a GPU, one wait for the device).
    pub fn chunk_batches(mut self, batches: Option<usize>) -> Self {
        self.chunk = batches.map(|n| n.max(1));
        self
    }

    /// The flag that stops the run at the next chunk's end with a mid-epoch checkpoint: set it
    /// from another thread or a signal handler.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The model: as given or resumed before [`Self::run`], as trained after it.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Trains until the last epoch, [`Self::stop_after`] or the stop flag, telling `on` what
    /// happens. An error is also recorded in the folder's `state.json` (as `failed`).
    pub fn run(&mut self, on: &mut dyn FnMut(Event)) -> Result<Finish> {
        self.check()?;
        let fresh = self.resumed.is_none();
        if fresh && !self.replace {
            run_dir::refuse_existing_run(&self.dir)?;
        }
        let chosen = choose_backend(self.backend, &self.model)?;
        if self.backend != BackendKind::Cpu {
            on(Event::Note(&format!("backend: {chosen}")));
        }
        let (kind, mut backend) = (chosen.kind, chosen.backend);
        let info = self.run_info(backend.name())?;
        let mut dir = RunDir::new(self.dir.clone(), info, fresh)?;
        let result = self.train(&mut backend, kind, &mut dir, on);
        if let Err(e) = &result {
            let epochs = self.config.epochs;
            let mut state = RunDir::state(Phase::Failed, self.model.epoch + 1, epochs, 0, 0);
            state.error = Some(e.to_string());
            // Best effort: the error itself is what the caller must see.
            let _ = dir.set_state(state);
        }
        result
    }

    /// The checks that need no data read and no backend.
    fn check(&self) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::Run {
                path: self.dir.clone(),
                reason,
            })
        };
        let (cfg, model) = (&self.config, &self.model);
        if self.train.is_empty() || self.test.is_empty() {
            return bad("the training set or the test set is empty".into());
        }
        if cfg.batch == 0 || cfg.epochs == 0 {
            return bad("the batch size and the number of epochs must be at least 1".into());
        }
        for (name, set) in [("training", &self.train), ("test", &self.test)] {
            if set.shape != model.spec.input() {
                return bad(format!(
                    "the network {} takes {} inputs but the {name} set's images are {}",
                    model.spec.text(),
                    model.spec.input(),
                    set.shape
                ));
            }
        }
        let schedule = &model.hyper.lr_schedule;
        let updates = self.train.len().div_ceil(cfg.batch) as u64;
        if schedule.counts_updates()
            && (schedule.updates_per_epoch != updates
                || model.adam.step != model.epoch as u64 * updates + self.resumed_batches() as u64)
        {
            return bad(format!(
                "the model was trained with a learning rate ({}) that follows the updates, at {} updates per epoch ({} updates in {} epochs), but this run makes {updates} per epoch: resume with the run's training set and --batch",
                schedule.describe(),
                schedule.updates_per_epoch,
                model.adam.step,
                model.epoch
            ));
        }
        if schedule.kind != ScheduleKind::Constant && schedule.epochs as usize != cfg.epochs {
            return bad(format!(
                "the model follows a learning-rate schedule over {} epochs ({}); it cannot be resumed with --epochs {}: start a new run for another length",
                schedule.epochs,
                schedule.describe(),
                cfg.epochs
            ));
        }
        if self.resumed.is_some() && model.epoch >= cfg.epochs {
            return bad(format!(
                "the checkpoint has already trained {} epochs and the run is set to {}; pass a larger --epochs to train further",
                model.epoch, cfg.epochs
            ));
        }
        if let Some(n) = self.stop_after
            && n <= model.epoch
        {
            return bad(format!(
                "the checkpoint has already trained {} epochs; stopping after epoch {n} leaves nothing to do",
                model.epoch
            ));
        }
        Ok(())
    }

    /// Batches of the resumed epoch already trained (0 unless resumed mid-epoch).
    fn resumed_batches(&self) -> usize {
        match &self.resumed {
            Some((_, Some(p))) => p.batches,
            _ => 0,
        }
    }

    /// What run.json will say: a new description, or the run's own with this sitting appended.
    fn run_info(&self, backend: String) -> Result<RunInfo> {
        let invocation = Invocation::now(backend);
        let new_info = || RunInfo {
            invocation: invocation.clone(),
            net: self.model.spec.text().to_string(),
            parameters: self.model.parameter_count(),
            hyper: self.model.hyper.clone(),
            config: self.config.clone(),
            resumed: Vec::new(),
        };
        let Some((ckpt, _)) = &self.resumed else {
            return Ok(new_info());
        };
        let mut info = match RunInfo::read(&self.dir)? {
            Some(info) => info,
            None => RunInfo::beside(ckpt)?.unwrap_or_else(new_info),
        };
        info.resumed.push(Resumption {
            invocation,
            checkpoint: ckpt.clone(),
            from_epoch: self.model.epoch,
            config: self.config.clone(),
        });
        Ok(info)
    }

    /// The epochs, once the backend (of `kind`) and the folder are ready. The dead-class guard
    /// replaces the backend in `slot` when it restarts a neuron.
    fn train(
        &mut self,
        slot: &mut Box<dyn Backend>,
        kind: BackendKind,
        dir: &mut RunDir,
        on: &mut dyn FnMut(Event),
    ) -> Result<Finish> {
        let cfg = self.config.clone();
        let (train, test) = (Arc::clone(&self.train), Arc::clone(&self.test));
        on(Event::Note(&describe(
            &self.model,
            &cfg,
            train.len(),
            test.len(),
            slot.as_ref(),
            &self.dir,
        )));
        let mut sets = self.load_sets(slot.as_mut())?;
        on(Event::Note(&format!(
            "data: the training set is kept {}; the test set {}",
            sets.kept.0, sets.kept.1
        )));
        let mut progress = self.starting_progress(slot.as_mut(), on)?;
        let elapsed_before = run_dir::last_elapsed(&dir.path(METRICS))
            + progress.as_ref().map_or(0.0, |p| p.train_seconds);
        let last_epoch = self.stop_after.map_or(cfg.epochs, |n| cfg.epochs.min(n));
        let batches = train.len().div_ceil(cfg.batch);
        let names = cfg.dataset.class_names();
        let run_start = Instant::now();
        let mut lowest_loss = f64::INFINITY;
        for epoch in self.model.epoch + 1..=last_epoch {
            let epoch_start = Instant::now();
            let mut done = progress.take().unwrap_or(EpochProgress {
                epoch,
                ..EpochProgress::default()
            });
            // The rate of the epoch's first update (earlier than this sitting's when resumed inside it).
            let first_update = self.model.adam.step + 1 - done.batches as u64;
            let lr = AdamStep::of(&self.model.hyper, first_update).lr;
            let counters_before = slot.counters();
            on(Event::EpochStarted {
                epoch,
                epochs: cfg.epochs,
                samples: train.len(),
                done: (done.batches * cfg.batch).min(train.len()),
            });
            let order = epoch_order(train.len(), &cfg, epoch);
            if !self.train_chunks(slot.as_mut(), dir, sets.train, &order, &mut done, on)? {
                return Ok(Finish::Interrupted {
                    epoch,
                    batch: done.batches,
                    batches,
                    checkpoint: dir.path(CHECKPOINT),
                });
            }
            let device_train = since(slot.counters(), counters_before);
            let restarted = self.guard(slot, kind, &mut sets, epoch, on)?;
            on(Event::Testing);
            let eval_start = Instant::now();
            let backend = slot.as_mut();
            let outcome = evaluate_loaded(backend, &self.model, sets.test, &test.labels)?;
            let dead = dead_class_potentials(backend, &self.model, &test, &outcome.dead_classes())?;
            let eval_seconds = eval_start.elapsed().as_secs_f64();
            // Once per epoch, before the checkpoint: the loss is checked per batch, but weights or
            // Adam's moments can overflow while the loss stays finite.
            let kept_now = kept(&dir.path(CHECKPOINT), self.model.epoch);
            self.model.check_finite().map_err(|e| Error::Run {
                path: self.dir.clone(),
                reason: format!(
                    "training stopped in epoch {epoch} (after its last batch, {batches}): {e}; try a smaller --lr. {kept_now}"
                ),
            })?;
            self.model.epoch = epoch;
            let m = EpochMetrics {
                epoch,
                lr,
                train_loss: done.loss_sum / train.len() as f64,
                train_accuracy: done.correct as f64 / train.len() as f64,
                test_accuracy: outcome.accuracy(),
                test_correct: outcome.correct,
                test_total: outcome.total,
                output_firing: outcome.firing_shares(),
                dead_classes: dead,
                restarted_classes: restarted,
                samples_per_sec: train.len() as f64 / done.train_seconds,
                train_seconds: done.train_seconds,
                eval_seconds,
                epoch_seconds: epoch_start.elapsed().as_secs_f64(),
                elapsed_seconds: elapsed_before + run_start.elapsed().as_secs_f64(),
                device_train,
                device_epoch: since(backend.counters(), counters_before),
            };
            dir.epoch_done(&self.model, &m).map_err(|e| Error::Run {
                path: self.dir.clone(),
                reason: format!(
                    "cannot record epoch {epoch} ({e}): is the disk full, or the folder not writable? {kept_now}"
                ),
            })?;
            on(Event::EpochDone(&m));
            if let Some(w) = diverging(&self.model, &m, &outcome, lowest_loss, &names) {
                on(Event::Warning(&w));
            }
            lowest_loss = lowest_loss.min(m.train_loss);
            if self.stop.load(Ordering::SeqCst) && epoch < last_epoch {
                return self.stopped(dir, Phase::Interrupted, epoch + 1, batches);
            }
        }
        if last_epoch < cfg.epochs {
            return self.stopped(dir, Phase::Paused, last_epoch + 1, batches);
        }
        let model_path = dir.path(FINAL_MODEL);
        self.model.save(&model_path)?;
        dir.set_state(RunDir::state(
            Phase::Complete,
            cfg.epochs,
            cfg.epochs,
            batches,
            batches,
        ))?;
        Ok(Finish::Complete { model: model_path })
    }

    /// Hands the training and test sets (and the guard's probe) to `backend`.
    fn load_sets(&self, backend: &mut dyn Backend) -> Result<LoadedSets> {
        let (train, kept_train) = backend.load_set(Arc::clone(&self.train))?;
        let (test, kept_test) = backend.load_set(Arc::clone(&self.test))?;
        let probe = match self.model.hyper.guard_dead_classes {
            true => {
                let set = Arc::new(guard::probe_set(&self.train)?);
                Some((backend.load_set(Arc::clone(&set))?.0, set))
            }
            false => None,
        };
        Ok(LoadedSets {
            train,
            test,
            probe,
            kept: (kept_train, kept_test),
        })
    }

    /// Where the first epoch of this sitting starts (inside an epoch when resumed there), after
    /// saying what is resumed, or warning about layers silent at initialisation for a new run.
    fn starting_progress(
        &self,
        backend: &mut dyn Backend,
        on: &mut dyn FnMut(Event),
    ) -> Result<Option<EpochProgress>> {
        let model = &self.model;
        let Some((_, progress)) = &self.resumed else {
            let first = first_batch(backend, &self.train, self.config.batch)?;
            if let Some(w) = silent_at_init(model, &first) {
                on(Event::Warning(&w));
            }
            return Ok(None);
        };
        let at = match progress {
            Some(p) => format!("inside epoch {} after batch {}", p.epoch, p.batches),
            None => format!("after epoch {}", model.epoch),
        };
        on(Event::Note(&format!("resuming {at}")));
        if model.adam.step == 0 {
            on(Event::Warning(
                "the checkpoint holds no optimiser state (an inference checkpoint?); Adam starts afresh",
            ));
        }
        Ok(progress.clone())
    }

    /// The dead-class guard after epoch `epoch`'s training ([`guard`]): restarts the output
    /// neurons silent on the probe, rebuilding the backend in `slot` with the new weights, and
    /// returns their classes (none without the guard).
    fn guard(
        &mut self,
        slot: &mut Box<dyn Backend>,
        kind: BackendKind,
        sets: &mut LoadedSets,
        epoch: usize,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<usize>> {
        let Some((id, probe)) = &sets.probe else {
            return Ok(Vec::new());
        };
        let silent =
            evaluate_loaded(slot.as_mut(), &self.model, *id, &probe.labels)?.dead_classes();
        if silent.is_empty() {
            return Ok(silent);
        }
        guard::restart_output_neurons(&mut self.model, &silent, self.config.seed, epoch)?;
        on(Event::Warning(&format!(
            "epoch {epoch}: the output neuron of {} fired for none of the first {} training images; restarted with new initial weights (eq 17) and fresh Adam moments (--guard-dead-classes)",
            describe_classes(&silent, &self.config.dataset.class_names()),
            probe.len()
        )));
        // The backend takes the new weights with the rest of its state.
        *slot = create_backend(kind, &self.model)?;
        *sets = self.load_sets(slot.as_mut())?;
        Ok(silent)
    }

    /// Records that the run stops before epoch `next` (interrupted at an epoch's end, or paused
    /// by [`Self::stop_after`]) and says where to resume.
    fn stopped(
        &self,
        dir: &mut RunDir,
        phase: Phase,
        next: usize,
        batches: usize,
    ) -> Result<Finish> {
        dir.set_state(RunDir::state(phase, next, self.config.epochs, 0, batches))?;
        let checkpoint = dir.path(CHECKPOINT);
        Ok(match phase {
            Phase::Paused => Finish::Paused {
                epoch: next - 1,
                checkpoint,
            },
            _ => Finish::Interrupted {
                epoch: next,
                batch: 0,
                batches,
                checkpoint,
            },
        })
    }

    /// Trains the rest of an epoch (from batch `done.batches` of `order`) in chunks of about
    /// [`CHUNK_SECONDS`], adding each batch's loss and hits to `done`. Returns `false` when the stop
    /// flag ended it early, after writing the mid-epoch checkpoint; `true` when the epoch is
    /// trained, with the model holding the backend's weights and Adam state.
    fn train_chunks(
        &mut self,
        backend: &mut dyn Backend,
        dir: &mut RunDir,
        set: SetId,
        order: &Order,
        done: &mut EpochProgress,
        on: &mut dyn FnMut(Event),
    ) -> Result<bool> {
        let (batch, epochs, samples) = (self.config.batch, self.config.epochs, order.len());
        let batches = samples.div_ceil(batch);
        let epoch = done.epoch;
        let (sitting, resumed_at) = (Instant::now(), done.batches * batch);
        let mut per_batch = f64::INFINITY;
        while done.batches < batches {
            dir.set_state(RunDir::state(
                Phase::Running,
                epoch,
                epochs,
                done.batches,
                batches,
            ))?;
            let wanted = self.chunk.unwrap_or((CHUNK_SECONDS / per_batch) as usize);
            let n = wanted.clamp(1, batches - done.batches);
            let (from, to) = (
                done.batches * batch,
                ((done.batches + n) * batch).min(samples),
            );
            let part = Order {
                pad: order.pad,
                samples: order.samples[from..to].to_vec(),
                augment: order.augment[from..to].to_vec(),
            };
            let last = done.batches + n == batches;
            let start = Instant::now();
            let base = from;
            let stats = backend.train_epoch(
                set,
                &part,
                batch,
                &mut |d| {
                    let secs = sitting.elapsed().as_secs_f64();
                    on(Event::Progress {
                        done: base + d,
                        samples_per_sec: (base + d - resumed_at) as f64 / secs.max(1e-9),
                    });
                },
                last.then_some(&mut self.model),
            )?;
            let seconds = start.elapsed().as_secs_f64();
            per_batch = seconds / n as f64;
            for (i, (b, size)) in stats
                .batches
                .iter()
                .zip(part.samples.chunks(batch).map(<[u32]>::len))
                .enumerate()
            {
                if !b.loss.is_finite() {
                    let kept = kept(&dir.path(CHECKPOINT), self.model.epoch);
                    return Err(Error::Run {
                        path: self.dir.clone(),
                        reason: format!(
                            "training stopped: the loss became {} in batch {} of epoch {epoch}; try a smaller --lr. {kept}",
                            b.loss,
                            done.batches + i + 1
                        ),
                    });
                }
                done.loss_sum += f64::from(b.loss) * size as f64;
                done.correct += b.correct;
            }
            done.batches += n;
            done.train_seconds += seconds;
            if !last && self.stop.load(Ordering::SeqCst) {
                backend.read_state(&mut self.model)?;
                dir.save_mid_epoch(&self.model, done)?;
                dir.set_state(RunDir::state(
                    Phase::Interrupted,
                    epoch,
                    epochs,
                    done.batches,
                    batches,
                ))?;
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Sets a learning-rate schedule's horizon (no-op for a constant rate without a warm-up): `config.epochs` epochs of
/// ⌈`train_samples` / batch⌉ updates. A schedule is only valid with it ([`Hyper::validate`]), so
/// call this before [`Model::init`] when the hyper-parameters name one.
///
/// [`Hyper::validate`]: crate::Hyper::validate
pub fn set_horizon(hyper: &mut crate::Hyper, config: &TrainConfig, train_samples: usize) {
    let schedule = &mut hyper.lr_schedule;
    if schedule.kind != ScheduleKind::Constant {
        schedule.epochs = config.epochs as u32;
    }
    if schedule.counts_updates() {
        schedule.updates_per_epoch = train_samples.div_ceil(config.batch.max(1)) as u64;
    }
}

/// What is on disk for a run whose model has finished `epoch` epochs, for error messages.
fn kept(checkpoint: &Path, epoch: usize) -> String {
    if epoch == 0 {
        "No checkpoint was written.".to_string()
    } else {
        format!(
            "{} still holds epoch {epoch}, the last good one.",
            checkpoint.display()
        )
    }
}

/// `a − b` of two counter readings, where the backend counts.
fn since(a: Option<crate::Counters>, b: Option<crate::Counters>) -> Option<crate::Counters> {
    a.zip(b).map(|(a, b)| a.since(&b))
}

/// The first batch of `set` (unshuffled), run forward with every layer recorded.
fn first_batch(
    backend: &mut dyn Backend,
    set: &ImageSet,
    batch: usize,
) -> Result<crate::Inference> {
    let n = set.len().min(batch);
    let (mut x, mut labels) = (vec![0.0; n * set.shape.len()], vec![0; n]);
    gather(set, &Order::identity(n).words(), 0, 0, &mut x, &mut labels);
    backend.infer(&x, true)
}

/// The line that says what is trained, where, how and into which folder.
fn describe(
    model: &Model,
    cfg: &TrainConfig,
    train: usize,
    test: usize,
    backend: &dyn Backend,
    dir: &Path,
) -> String {
    let h = &model.hyper;
    let crop = if cfg.crop > 0 {
        format!(", crop {}", cfg.crop)
    } else {
        String::new()
    };
    let schedule = if h.lr_schedule.counts_updates() {
        format!(", lr {} {}", h.lr, h.lr_schedule.describe())
    } else {
        String::new()
    };
    format!(
        "training {} ({} weights) on {} ({train} train, {test} test samples) with {}, T={}, {}, batch {}{crop}{schedule} → {}",
        model.spec.text(),
        model.parameter_count(),
        cfg.dataset,
        backend.name(),
        h.steps,
        h.surrogate,
        cfg.batch,
        dir.display()
    )
}

/// The order of epoch `epoch` (1-based) over `samples` training samples: shuffled, and cropped
/// and flipped as `cfg` says, by the epoch's generator ([`epoch_rng`]).
pub fn epoch_order(samples: usize, cfg: &TrainConfig, epoch: usize) -> Order {
    let mut rng = epoch_rng(cfg.seed, epoch);
    Order::shuffled(samples, cfg.crop, cfg.flip, &mut rng)
}

/// The generator of epoch `epoch` (1-based) of a run seeded with `seed`.
pub fn epoch_rng(seed: u64, epoch: usize) -> Rng {
    Rng::new(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_generators_differ_by_seed_and_epoch_and_repeat() {
        let draw = |s, e| epoch_rng(s, e).next_u64();
        assert_eq!(draw(1, 1), draw(1, 1));
        assert_ne!(draw(1, 1), draw(1, 2));
        assert_ne!(draw(1, 1), draw(2, 1));
    }
}
