//! `mtsnn train`: trains a network on MNIST or FashionMNIST, evaluating on the test set after every
//! epoch. Writes into the output directory, only once the first epoch has finished (so a run that
//! fails early overwrites nothing):
//! - `metrics.jsonl`, one JSON object per epoch;
//! - `checkpoint.safetensors` after every epoch (atomically), `model.safetensors` at the end;
//! - `run.json`, the command line, version, machine and settings (see [`crate::run_info`]).
//!
//! Epoch `e` shuffles (and crops) with a generator seeded from `(seed, e)`, and a learning-rate
//! schedule counts Adam's updates (saved in the checkpoint), so a run resumed from a checkpoint
//! trains exactly as the uninterrupted run would have.
//!
//! The training and test sets are handed to the backend once (`Backend::load_set`; on a GPU
//! they stay on the device, 1 byte per pixel). Each epoch the host draws the shuffled order and
//! every sample's crop and flip into an [`Order`] and the backend trains on the whole epoch
//! (`Backend::train_epoch`), gathering each batch itself; its losses and hits come back when the
//! epoch is done, and the test set is evaluated with one read back (`Backend::evaluate_set`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use mtsnn_core::hyper::{self, GradMode, InitMean};
use mtsnn_core::kernel_params::AdamStep;
use mtsnn_core::lr_schedule::ScheduleKind;
use mtsnn_core::rng::Rng;
use mtsnn_core::{Backend, BackendKind, Counters, Hyper, Model, NetSpec, Order, SetId};
use serde::Serialize;

use super::{TestOutcome, check_input, evaluate_loaded, load_model, make_backend};
use crate::data::{CLASSES, Dataset, DatasetKind, Part, kind_parser};
use crate::progress::EpochBar;
use crate::run_info::{self, Invocation, Resumption, RunInfo, TrainConfig};

/// File names inside the output directory.
pub const METRICS: &str = "metrics.jsonl";
pub const CHECKPOINT: &str = "checkpoint.safetensors";
pub const FINAL_MODEL: &str = "model.safetensors";

/// Options of `mtsnn train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Network string: `784-800-10` (dense layers; the first number is the input size),
    /// `32C5-P2-64C5-P2-1024` (convolutions aCk, average pooling Pk, max pooling MPk as in
    /// `15C5-MP2-40C5-MP2-300`); the output layer of 10 is implied when the string does not end
    /// with it
    #[arg(long, default_value = "784-400-400-10")]
    net: String,
    /// Data set to train and test on
    #[arg(long, value_parser = kind_parser(), default_value_t = DatasetKind::FashionMnist)]
    dataset: DatasetKind,
    /// Directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
    /// t10k-labels-idx1-ubyte (raw or .gz) [default: /usr/share/datasets/fashion-mnist for
    /// fashion-mnist, data/mnist for mnist]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Total number of epochs; a resumed run counts the epochs its checkpoint already has
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    epochs: u32,
    /// --steps, the first hyper-parameter: --batch has always come after it.
    #[command(flatten)]
    _steps: HyperArgs<0, 1>,
    /// Mini-batch size
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// The other hyper-parameters; holds all of them, as read from the matches.
    #[command(flatten)]
    hyper: HyperArgs<1, { hyper::PARAMS.len() }>,
    /// Random-crop augmentation: pad each training image by PAD black pixels and cut it back at a
    /// random offset (0 = off)
    #[arg(long, value_name = "PAD", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=64))]
    crop: u32,
    /// Random horizontal flips of training images (for CIFAR-10; digits and clothes are not
    /// mirror-symmetric, so leave it off for MNIST and FashionMNIST)
    #[arg(long)]
    flip: bool,
    /// Where to compute: cpu, gpu, or auto (a hardware GPU when there is one, else the CPU)
    #[arg(long, default_value_t = BackendKind::Auto)]
    backend: BackendKind,
    /// Seed of the initial weights and of the shuffling and cropping of every epoch
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory [default: runs/<dataset>-<net>-seed<seed>; with --resume, the checkpoint's
    /// directory]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue training from this checkpoint, with its network and hyper-parameters; the data set,
    /// batch, crop, seed and limits default to those in the run.json beside it
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    /// Start a new run in an output directory that already holds one (its files are replaced once
    /// the first epoch has finished)
    #[arg(long)]
    force: bool,
    /// Stop after this epoch, as an interruption would: the checkpoint stays for --resume and no
    /// final model is written; the run, and its learning-rate schedule, still span --epochs
    #[arg(long, value_name = "EPOCH", value_parser = clap::value_parser!(u32).range(1..))]
    stop_after: Option<u32>,
    /// Train on the first N training samples only
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    limit_train: Option<u32>,
    /// Test on the first N test samples only
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    limit_test: Option<u32>,
}

/// The options of the hyper-parameters `PARAMS[FROM..TO]` (those with a help text, see
/// [`hyper::PARAMS`]): their ids, flags, help, defaults and parsing all come from that declaration.
/// Read from the matches, it holds every hyper-parameter found there, the others at their defaults.
#[derive(Clone, Debug)]
pub struct HyperArgs<const FROM: usize, const TO: usize>(Hyper);

/// Each hyper-parameter's long flag, value name and default, as text clap can keep (`'static`).
fn flag_texts() -> &'static [[String; 3]] {
    static TEXTS: OnceLock<Vec<[String; 3]>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        hyper::PARAMS
            .iter()
            .map(|p| {
                let value_name = p
                    .value_name
                    .map_or_else(|| p.name.to_uppercase(), String::from);
                [p.long(), value_name, p.default_text()]
            })
            .collect()
    })
}

impl<const FROM: usize, const TO: usize> Args for HyperArgs<FROM, TO> {
    fn augment_args(cmd: Command) -> Command {
        hyper::PARAMS[FROM..TO]
            .iter()
            .zip(&flag_texts()[FROM..TO])
            .fold(cmd, |cmd, (&param, [long, value_name, default])| {
                let Some(help) = param.help else { return cmd };
                let arg = Arg::new(param.name).long(long.as_str()).help(help);
                cmd.arg(if param.switch {
                    arg.action(ArgAction::SetTrue)
                } else {
                    arg.value_name(value_name.as_str())
                        .default_value(default.as_str())
                        .value_parser(move |text: &str| {
                            param
                                .set(&mut Hyper::default(), text)
                                .map(|()| text.to_string())
                        })
                })
            })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<const FROM: usize, const TO: usize> FromArgMatches for HyperArgs<FROM, TO> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut hyper = Hyper::default();
        for param in hyper::PARAMS {
            let text = if param.switch {
                matches
                    .try_get_one::<bool>(param.name)
                    .map(|v| v.map(bool::to_string))
            } else {
                matches
                    .try_get_one::<String>(param.name)
                    .map(Option::<&String>::cloned)
            };
            if let Ok(Some(text)) = text {
                param
                    .set(&mut hyper, &text)
                    .map_err(|e| clap::Error::raw(ErrorKind::ValueValidation, e))?;
            }
        }
        Ok(Self(hyper))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Serialize)]
struct EpochMetrics {
    epoch: usize,
    /// Adam's learning rate during the epoch (the schedule's).
    lr: f32,
    /// Mean loss (eq 6) per training sample.
    train_loss: f64,
    /// Fraction of training samples classified correctly during the epoch (as the weights changed).
    train_accuracy: f64,
    /// Fraction of test samples classified correctly after the epoch.
    test_accuracy: f64,
    test_correct: usize,
    test_total: usize,
    /// Training samples per second (training only, evaluation excluded).
    samples_per_sec: f64,
    train_seconds: f64,
    eval_seconds: f64,
    epoch_seconds: f64,
    /// Seconds since the run started, resumed runs included.
    elapsed_seconds: f64,
    /// GPU backends: what the device was asked to do by the training pass (which reads the
    /// checkpoint's weights and Adam state back with its records), and by the whole epoch
    /// (the test set's evaluation included).
    #[serde(skip_serializing_if = "Option::is_none")]
    device_train: Option<Counters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_epoch: Option<Counters>,
}

/// Everything decided before any data is read.
struct Plan {
    config: TrainConfig,
    out: PathBuf,
    /// The checkpoint and its model when resuming; `None` for a new run.
    resume: Option<(PathBuf, Model)>,
    net: String,
    hyper: Hyper,
}

/// Runs `mtsnn train`; `matches` tells which options were given on the command line.
pub fn run(args: &TrainArgs, matches: &ArgMatches) -> Result<()> {
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let plan = plan(args, &given)?;
    let cfg = &plan.config;

    let mut train = Dataset::load(cfg.dataset, cfg.data.as_deref(), Part::Train)?;
    let mut test = Dataset::load(cfg.dataset, cfg.data.as_deref(), Part::Test)?;
    if let Some(n) = cfg.limit_train {
        train.truncate(n);
    }
    if let Some(n) = cfg.limit_test {
        test.truncate(n);
    }
    ensure!(train.len() > 0, "the training set is empty");
    ensure!(test.len() > 0, "the test set is empty");

    let updates_per_epoch = train.len().div_ceil(cfg.batch) as u64;
    let mut model = match &plan.resume {
        Some((ckpt, model)) => {
            check_schedule_on_resume(ckpt, model, updates_per_epoch)?;
            model.clone()
        }
        None => {
            let spec = NetSpec::parse(&plan.net, train.shape(), CLASSES)?;
            let mut hyper = plan.hyper.clone();
            if hyper.lr_schedule.kind != ScheduleKind::Constant {
                hyper.lr_schedule.updates_per_epoch = updates_per_epoch;
            }
            Model::init(spec, hyper, cfg.seed)?
        }
    };
    check_input(&model, &train)?;
    let mut backend = make_backend(args.backend, &model)?;
    let mut outputs = Outputs::new(&plan, &model, backend.name())?;
    std::fs::create_dir_all(&plan.out)
        .with_context(|| format!("cannot create the output directory {}", plan.out.display()))?;

    eprintln!(
        "training {} ({} weights) on {} ({} train, {} test samples) with {}, T={}, {}, batch {}{}{} → {}",
        model.spec.text(),
        model.parameter_count(),
        cfg.dataset,
        train.len(),
        test.len(),
        backend.name(),
        model.hyper.steps,
        model.hyper.surrogate,
        cfg.batch,
        if cfg.crop > 0 {
            format!(", crop {}", cfg.crop)
        } else {
            String::new()
        },
        match model.hyper.lr_schedule.kind {
            ScheduleKind::Constant => String::new(),
            _ => format!(
                ", lr {} {}",
                model.hyper.lr,
                model.hyper.lr_schedule.describe()
            ),
        },
        plan.out.display()
    );
    let (train_set, kept_train) = backend
        .load_set(Arc::new(
            train.image_set(cfg.dataset, model.hyper.input_scale)?,
        ))
        .context("handing the training set to the backend")?;
    let (test_set, kept_test) = backend
        .load_set(Arc::new(
            test.image_set(cfg.dataset, model.hyper.input_scale)?,
        ))
        .context("handing the test set to the backend")?;
    eprintln!("data: the training set is kept {kept_train}; the test set {kept_test}");
    if model.epoch == 0 {
        warn_if_silent(backend.as_mut(), &model, &train, cfg)?;
    }
    if model.epoch > 0 {
        eprintln!("resuming after epoch {}", model.epoch);
        if model.adam.step == 0 {
            eprintln!(
                "warning: the checkpoint holds no optimiser state (an inference checkpoint?); Adam starts afresh"
            );
        }
    }

    let last_epoch = args
        .stop_after
        .map_or(cfg.epochs, |n| cfg.epochs.min(n as usize));
    let run_start = Instant::now();
    let mut lowest_loss = f64::INFINITY;
    for epoch in model.epoch + 1..=last_epoch {
        // What is on disk if this epoch fails: said by every error of the epoch.
        let kept = kept_checkpoint(&plan, model.epoch);
        let lr = AdamStep::of(&model.hyper, model.adam.step + 1).lr;
        let epoch_start = Instant::now();
        let bar = EpochBar::new(epoch, cfg.epochs, train.len());
        let counters_before = backend.counters();
        let since = |now: Option<Counters>| now.zip(counters_before).map(|(a, b)| a.since(&b));
        let (train_loss, train_accuracy) = train_epoch(
            backend.as_mut(),
            &mut model,
            train_set,
            train.len(),
            cfg,
            epoch,
            &bar,
            &kept,
        )?;
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let device_train = since(backend.counters());
        bar.testing();
        let eval_start = Instant::now();
        let outcome = evaluate_loaded(backend.as_mut(), &model, test_set, test.labels())
            .with_context(|| format!("evaluating epoch {epoch}"))?;
        let test_correct = outcome.correct;
        let eval_seconds = eval_start.elapsed().as_secs_f64();
        bar.finish();

        // Once per epoch, before the checkpoint: the loss is checked per batch, but weights or
        // Adam's moments can overflow while the loss stays finite (outputs silent or saturated).
        if let Err(e) = model.check_finite() {
            bail!(
                "training stopped in epoch {epoch} (after its last batch, {}): {e}; try a smaller --lr. {kept}",
                train.len().div_ceil(cfg.batch)
            );
        }
        model.epoch = epoch;
        let m = EpochMetrics {
            epoch,
            lr,
            train_loss,
            train_accuracy,
            test_accuracy: test_correct as f64 / test.len() as f64,
            test_correct,
            test_total: test.len(),
            samples_per_sec: train.len() as f64 / train_seconds,
            train_seconds,
            eval_seconds,
            epoch_seconds: epoch_start.elapsed().as_secs_f64(),
            elapsed_seconds: outputs.elapsed_before + run_start.elapsed().as_secs_f64(),
            device_train,
            device_epoch: since(backend.counters()),
        };
        outputs.epoch_done(&model, &m).with_context(|| {
            format!(
                "cannot record epoch {epoch} in {} (is the disk full, or the directory not writable?). {kept}",
                plan.out.display()
            )
        })?;
        eprintln!(
            "epoch {epoch}/{}: train loss {:.4} acc {:.2} %, test {:.2} %, {:.0} samples/s, {:.1} s",
            cfg.epochs,
            m.train_loss,
            100.0 * m.train_accuracy,
            100.0 * m.test_accuracy,
            m.samples_per_sec,
            m.epoch_seconds
        );
        warn_if_diverging(&model, &m, &outcome, lowest_loss, cfg);
        lowest_loss = lowest_loss.min(m.train_loss);
    }
    if last_epoch < cfg.epochs {
        eprintln!(
            "stopped after epoch {last_epoch} of {} (--stop-after); continue with --resume {}",
            cfg.epochs,
            plan.out.join(CHECKPOINT).display()
        );
        return Ok(());
    }
    let final_path = plan.out.join(FINAL_MODEL);
    model.save(&final_path)?;
    eprintln!("saved {}", final_path.display());
    Ok(())
}

/// What an interrupted epoch leaves on disk, for its error message.
fn kept_checkpoint(plan: &Plan, epoch: usize) -> String {
    let ckpt = plan.out.join(CHECKPOINT);
    if epoch == 0 {
        "No checkpoint was written.".to_string()
    } else {
        format!(
            "{} still holds epoch {epoch}, the last good one.",
            ckpt.display()
        )
    }
}

/// Warns at the end of an epoch when training has gone wrong without a NaN: the loss far above
/// that of silent outputs or rising fourfold, training accuracy at chance, every output neuron
/// silent or saturated on the test set; and names the output neurons that never fired ("dead
/// classes"). Adds the likely cause.
fn warn_if_diverging(
    model: &Model,
    m: &EpochMetrics,
    outcome: &TestOutcome,
    lowest_loss: f64,
    cfg: &TrainConfig,
) {
    let h = &model.hyper;
    let classes = model.spec.classes() as f64;
    // Eq 6 with every output silent: ½ · T · target² (25 with Table I values).
    let silent_loss = 0.5 * h.steps as f64 * f64::from(h.target_count).powi(2);
    let mut signs = Vec::new();
    if m.train_loss > 4.0 * silent_loss {
        signs.push(format!(
            "the training loss {:.1} is far above {silent_loss:.1}, that of silent outputs",
            m.train_loss
        ));
    } else if m.train_loss > 4.0 * lowest_loss {
        signs.push(format!(
            "the training loss rose from {lowest_loss:.2} to {:.2}",
            m.train_loss
        ));
    }
    if m.train_accuracy * classes < 1.2 {
        signs.push(format!(
            "training accuracy {:.2} % is at or below chance ({:.0} %) over the whole epoch",
            100.0 * m.train_accuracy,
            100.0 / classes
        ));
    }
    if outcome.all_silent() {
        signs.push("every output neuron is silent for every test input".into());
    } else if outcome.all_saturated() {
        signs.push(format!(
            "every output neuron fires S_max = {} spikes at every step for every test input",
            h.s_max
        ));
    }
    let cause = if h.grad == GradMode::Bptt && !h.detach_reset {
        "likely cause: --grad bptt without --detach-reset, whose reset path (1 − V_th·f′ per step) \
         makes the gradient blow up or flip sign; add --detach-reset, or use --grad paper"
            .to_string()
    } else if h.lr > 0.05 {
        format!(
            "likely cause: --lr {} is far above Table I's 0.005; try --lr 0.005 or smaller",
            h.lr
        )
    } else {
        "try a smaller --lr, another --seed or the other --init".to_string()
    };
    if !signs.is_empty() {
        eprintln!(
            "warning: epoch {} looks divergent: {}; {cause}",
            m.epoch,
            signs.join("; ")
        );
    } else if !outcome.dead_classes().is_empty() {
        eprintln!(
            "warning: epoch {}: dead classes: the output neuron of class {} emits no spike for any \
             of the {} test inputs, so the network cannot predict {} (a neuron that stopped firing \
             rarely recovers); {cause}",
            m.epoch,
            outcome.describe_dead(&cfg.dataset.class_names()),
            outcome.total,
            if outcome.dead_classes().len() == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
}

/// A learning-rate schedule counts Adam's updates, so a resumed run must have as many updates
/// per epoch as before (same training set and batch) and its checkpoint the optimiser state.
fn check_schedule_on_resume(ckpt: &Path, model: &Model, updates_per_epoch: u64) -> Result<()> {
    let schedule = &model.hyper.lr_schedule;
    if schedule.kind == ScheduleKind::Constant {
        return Ok(());
    }
    ensure!(
        schedule.updates_per_epoch == updates_per_epoch
            && model.adam.step == model.epoch as u64 * updates_per_epoch,
        "checkpoint {} was trained with --lr-schedule {} at {} updates per epoch ({} updates in {}          epochs), but this run makes {updates_per_epoch} per epoch: resume with the run's training          set and --batch",
        ckpt.display(),
        schedule.kind,
        schedule.updates_per_epoch,
        model.adam.step,
        model.epoch
    );
    Ok(())
}

/// The order of epoch `epoch` (1-based) over `samples` training samples: shuffled, and cropped
/// and flipped as `cfg` says, by the epoch's generator in the order the per-batch path draws.
fn epoch_order(samples: usize, cfg: &TrainConfig, epoch: usize) -> Order {
    let mut rng = epoch_rng(cfg.seed, epoch);
    Order::shuffled(samples, cfg.crop, cfg.flip, &mut rng)
}

/// One pass over the shuffled training set held by the backend, after which `model` holds the
/// backend's weights and Adam state (read back with the epoch's records); returns the mean loss
/// and the accuracy. A non-finite loss stops training, naming the epoch and its first bad batch.
#[allow(clippy::too_many_arguments)]
fn train_epoch(
    backend: &mut dyn Backend,
    model: &mut Model,
    set: SetId,
    samples: usize,
    cfg: &TrainConfig,
    epoch: usize,
    bar: &EpochBar,
    kept: &str,
) -> Result<(f64, f64)> {
    let order = epoch_order(samples, cfg, epoch);
    let start = Instant::now();
    let stats = backend
        .train_epoch(
            set,
            &order,
            cfg.batch,
            &mut |done| bar.update(done, done as f64 / start.elapsed().as_secs_f64()),
            Some(model),
        )
        .with_context(|| format!("training epoch {epoch}"))?;
    if let Some((i, bad)) = stats
        .batches
        .iter()
        .enumerate()
        .find(|(_, b)| !b.loss.is_finite())
    {
        bail!(
            "training stopped: the loss became {} in batch {} of epoch {epoch}; try a smaller --lr. {kept}",
            bad.loss,
            i + 1
        );
    }
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    for (b, size) in stats
        .batches
        .iter()
        .zip(order.samples.chunks(cfg.batch).map(<[u32]>::len))
    {
        loss_sum += f64::from(b.loss) * size as f64;
        correct += b.correct;
    }
    Ok((loss_sum / samples as f64, correct as f64 / samples as f64))
}

/// Warns when a layer of the freshly initialised network emits no spike at all on the first
/// training batch: the layers above it then get no input, and learning has to start from the
/// surrogate's far tails (f2 at v = 0 is e^−5 ≈ 0.007 with Table I values), slowly or not at all.
/// (The pre-layer init of eq 17 leaves the deep CIFAR-10 network silent from its 4th convolution up;
/// the fan-in init keeps spikes flowing there.)
fn warn_if_silent(
    backend: &mut dyn Backend,
    model: &Model,
    data: &Dataset,
    cfg: &TrainConfig,
) -> Result<()> {
    let first: Vec<usize> = (0..cfg.batch.min(data.len())).collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    data.batch(
        &first,
        &cfg.dataset.tables(model.hyper.input_scale),
        None,
        &mut x,
        &mut y,
    );
    let inference = backend
        .infer(&x, true)
        .context("the first batch's forward pass at initialisation")?;
    let silent = inference
        .layers
        .iter()
        .position(|spikes| spikes.iter().all(|&s| s == 0.0));
    if let Some(i) = silent {
        let layer = model.spec.weighted_layers().nth(i).map(|l| l.output);
        eprintln!(
            "warning: at initialisation, weighted layer {} of {} ({}) emits no spike for any of the first \
             {} training samples (--init {}): the layers above it get no input, and learning can only \
             start from the surrogate gradient's far tails, slowly if at all. {}",
            i + 1,
            inference.layers.len(),
            layer.map_or_else(String::new, |shape| shape.to_string()),
            first.len(),
            model.hyper.init.name(),
            match model.hyper.init {
                InitMean::PreLayer =>
                    "--init fan-in keeps spikes flowing through deep convolutional networks.",
                InitMean::FanIn => "Try --init pre-layer or another --seed.",
            }
        );
    }
    Ok(())
}

/// The generator of epoch `epoch` (1-based) of a run seeded with `seed`.
fn epoch_rng(seed: u64, epoch: usize) -> Rng {
    Rng::new(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Resolves the options against the checkpoint and its run.json (when resuming) and checks the
/// output directory.
fn plan(args: &TrainArgs, given: &dyn Fn(&str) -> bool) -> Result<Plan> {
    let wanted_hyper = args.hyper.0.clone();
    ensure!(
        !given(hyper::LR_DECAY_AT.name) || wanted_hyper.lr_schedule.kind == ScheduleKind::Step,
        "--lr-decay-at belongs to --lr-schedule step"
    );
    let Some(ckpt) = &args.resume else {
        let config = config_from(args, given, None);
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("runs").join(format!(
                "{}-{}-seed{}",
                config.dataset,
                args.net.trim(),
                config.seed
            ))
        });
        if !args.force {
            refuse_existing_run(&out)?;
        }
        if out.exists() && !out.is_dir() {
            bail!("--out {} is a file, not a directory", out.display());
        }
        let mut hyper = wanted_hyper;
        if hyper.lr_schedule.kind != ScheduleKind::Constant {
            // The schedule's horizon: the run's epochs; its updates per epoch are counted once the
            // training set is loaded (`run`), 1 until then.
            hyper.lr_schedule.epochs = config.epochs as u32;
            hyper.lr_schedule.updates_per_epoch = 1;
        }
        hyper.validate()?;
        return Ok(Plan {
            config,
            out,
            resume: None,
            net: args.net.clone(),
            hyper,
        });
    };

    let model = load_model(ckpt)?;
    if given("net") {
        let spec = model.spec.clone();
        let same = NetSpec::parse(&args.net, spec.input(), spec.classes())
            .is_ok_and(|n| n.layers() == spec.layers());
        if !same {
            bail!(
                "checkpoint is {} but --net says {}",
                spec.text(),
                args.net.trim()
            );
        }
    }
    for param in hyper::PARAMS {
        let (wanted, has) = (param.get(&wanted_hyper), param.get(&model.hyper));
        if given(param.name) && wanted != has {
            let flag = param.flag();
            bail!(
                "checkpoint {} was trained with {flag} {has} but {flag} says {wanted}; a resumed run \
                 keeps the checkpoint's hyper-parameters",
                ckpt.display()
            );
        }
    }
    let base = RunInfo::beside(ckpt)?.map(|info| match info.resumed.last() {
        Some(r) => r.config.clone(),
        None => info.config,
    });
    let config = config_from(args, given, base);
    let schedule = &model.hyper.lr_schedule;
    if schedule.kind != ScheduleKind::Constant && schedule.epochs as usize != config.epochs {
        bail!(
            "checkpoint {} follows a learning-rate schedule over {} epochs ({}); it cannot be \
             resumed with --epochs {}: start a new run for another length",
            ckpt.display(),
            schedule.epochs,
            schedule.describe(),
            config.epochs
        );
    }
    if model.epoch >= config.epochs {
        bail!(
            "checkpoint {} has already trained {} epochs and the run is set to {}; pass a larger \
             --epochs to train further",
            ckpt.display(),
            model.epoch,
            config.epochs
        );
    }
    if let Some(n) = args.stop_after {
        ensure!(
            n as usize > model.epoch,
            "checkpoint {} has already trained {} epochs; --stop-after {n} leaves nothing to do",
            ckpt.display(),
            model.epoch
        );
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => ckpt
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
    };
    Ok(Plan {
        config,
        out,
        net: model.spec.text().to_string(),
        hyper: model.hyper.clone(),
        resume: Some((ckpt.clone(), model)),
    })
}

/// The run settings: each option as given, else from `base` (a resumed run's), else its default.
fn config_from(
    args: &TrainArgs,
    given: &dyn Fn(&str) -> bool,
    base: Option<TrainConfig>,
) -> TrainConfig {
    let ours = TrainConfig {
        dataset: args.dataset,
        // Absolute, so that a resumed run finds the data from any working directory.
        data: args
            .data
            .as_ref()
            .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone())),
        epochs: args.epochs as usize,
        batch: args.batch as usize,
        crop: args.crop as usize,
        flip: args.flip,
        seed: args.seed,
        limit_train: args.limit_train.map(|n| n as usize),
        limit_test: args.limit_test.map(|n| n as usize),
    };
    let Some(base) = base else { return ours };
    TrainConfig {
        dataset: if given("dataset") {
            ours.dataset
        } else {
            base.dataset
        },
        data: if given("data") { ours.data } else { base.data },
        epochs: if given("epochs") {
            ours.epochs
        } else {
            base.epochs
        },
        batch: if given("batch") {
            ours.batch
        } else {
            base.batch
        },
        crop: if given("crop") { ours.crop } else { base.crop },
        flip: if given("flip") { ours.flip } else { base.flip },
        seed: if given("seed") { ours.seed } else { base.seed },
        limit_train: if given("limit_train") {
            ours.limit_train
        } else {
            base.limit_train
        },
        limit_test: if given("limit_test") {
            ours.limit_test
        } else {
            base.limit_test
        },
    }
}

/// Fails when `out` already holds (part of) a run.
fn refuse_existing_run(out: &Path) -> Result<()> {
    let found: Vec<&str> = [run_info::FILE, METRICS, CHECKPOINT, FINAL_MODEL]
        .into_iter()
        .filter(|f| out.join(f).exists())
        .collect();
    if !found.is_empty() {
        bail!(
            "{} already holds a run ({}); pass --resume {} to continue it, --force to replace it, or \
             choose another --out",
            out.display(),
            found.join(", "),
            out.join(CHECKPOINT).display()
        );
    }
    Ok(())
}

/// The files of the output directory, written from the end of the first epoch on.
struct Outputs {
    dir: PathBuf,
    /// What run.json will say.
    info: RunInfo,
    /// `metrics.jsonl`, opened when the first epoch ends.
    metrics: Option<File>,
    /// A new run replaces an old run's metrics and final model; a resumed one appends.
    fresh: bool,
    /// Seconds the run had taken before this process (resumed runs).
    elapsed_before: f64,
}

impl Outputs {
    fn new(plan: &Plan, model: &Model, backend: String) -> Result<Self> {
        let invocation = Invocation::now(backend);
        let new_info = || RunInfo {
            invocation: invocation.clone(),
            net: model.spec.text().to_string(),
            parameters: model.parameter_count(),
            hyper: model.hyper.clone(),
            config: plan.config.clone(),
            resumed: Vec::new(),
        };
        let Some((ckpt, _)) = &plan.resume else {
            return Ok(Self {
                dir: plan.out.clone(),
                info: new_info(),
                metrics: None,
                fresh: true,
                elapsed_before: 0.0,
            });
        };
        let mut info = match RunInfo::read(&plan.out)? {
            Some(info) => info,
            None => RunInfo::beside(ckpt)?.unwrap_or_else(new_info),
        };
        info.resumed.push(Resumption {
            invocation: invocation.clone(),
            checkpoint: ckpt.clone(),
            from_epoch: model.epoch,
            config: plan.config.clone(),
        });
        Ok(Self {
            dir: plan.out.clone(),
            info,
            metrics: None,
            fresh: false,
            elapsed_before: last_elapsed(&plan.out.join(METRICS)),
        })
    }

    /// Records a finished epoch: run.json (first time), a metrics line, the checkpoint.
    fn epoch_done(&mut self, model: &Model, m: &EpochMetrics) -> Result<()> {
        let metrics_path = self.dir.join(METRICS);
        if self.metrics.is_none() {
            self.info.write(&self.dir)?;
            if self.fresh {
                let stale = self.dir.join(FINAL_MODEL);
                if stale.exists() {
                    std::fs::remove_file(&stale)
                        .with_context(|| format!("cannot remove {}", stale.display()))?;
                }
            }
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .append(!self.fresh)
                .truncate(self.fresh)
                .open(&metrics_path)
                .with_context(|| format!("cannot open {}", metrics_path.display()))?;
            self.metrics = Some(file);
        }
        // The checkpoint first: a metrics line never claims an epoch that was not saved.
        model.save(&self.dir.join(CHECKPOINT))?;
        let line = serde_json::to_string(m).context("encoding metrics")? + "\n";
        if let Some(file) = self.metrics.as_mut() {
            file.write_all(line.as_bytes())
                .and_then(|()| file.flush())
                .with_context(|| format!("cannot write {}", metrics_path.display()))?;
        }
        Ok(())
    }
}

/// `elapsed_seconds` of the last line of a metrics file, 0 when there is none.
fn last_elapsed(path: &Path) -> f64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())?
                .to_string();
            serde_json::from_str::<serde_json::Value>(&last)
                .ok()?
                .get("elapsed_seconds")?
                .as_f64()
        })
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mtsnn train ARGS` as clap parses it.
    fn parse(args: &[&str]) -> TrainArgs {
        let cmd = TrainArgs::augment_args(Command::new("train"));
        let matches = cmd
            .try_get_matches_from(std::iter::once("train").chain(args.iter().copied()))
            .unwrap();
        TrainArgs::from_arg_matches(&matches).unwrap()
    }

    /// Every hyper-parameter on the command line reaches the model's `Hyper`, and through it
    /// run.json and the checkpoint; a parameter declared without an option, or an option that does
    /// not reach `Hyper`, fails here.
    #[test]
    fn every_hyper_parameter_goes_from_its_option_to_run_json_and_the_checkpoint() {
        let on_the_command_line: Vec<&hyper::Param> = hyper::PARAMS
            .iter()
            .copied()
            .filter(|p| p.help.is_some())
            .collect();
        let flags: Vec<String> = on_the_command_line.iter().map(|p| p.flag()).collect();
        assert_eq!(
            flags,
            [
                "--steps",
                "--lr",
                "--lr-schedule",
                "--lr-decay-at",
                "--adam-eps",
                "--surrogate",
                "--v-th",
                "--tau-m",
                "--s-max",
                "--alpha-h",
                "--alpha-w",
                "--target-count",
                "--grad",
                "--detach-reset",
                "--init",
                "--input-scale"
            ]
        );
        let mut words = Vec::new();
        for p in &on_the_command_line {
            words.push(p.flag());
            if !p.switch {
                words.push(p.example.to_string());
            }
        }
        let args = parse(&words.iter().map(String::as_str).collect::<Vec<_>>());
        let mut hyper = args.hyper.0.clone();
        hyper.lr_schedule.epochs = 10;
        hyper.lr_schedule.updates_per_epoch = 4;
        let info = RunInfo {
            invocation: Invocation::now("cpu".into()),
            net: "784-10".into(),
            parameters: 7840,
            hyper: hyper.clone(),
            config: config_from(&args, &|_| false, None),
            resumed: Vec::new(),
        };
        let json = serde_json::to_string(&info).unwrap();
        let from_run_json: RunInfo = serde_json::from_str(&json).unwrap();
        let spec = NetSpec::parse("784-10", mtsnn_core::Shape::flat(784), CLASSES).unwrap();
        let bytes = Model::init(spec, hyper, 1).unwrap().to_bytes().unwrap();
        let from_checkpoint = Model::from_bytes(&bytes, Path::new("c")).unwrap().hyper;
        for p in on_the_command_line {
            let (name, value) = (p.name, p.example);
            assert_ne!(
                p.default_text(),
                value,
                "{name}: the example is the default"
            );
            assert_eq!(p.get(&args.hyper.0), value, "{name} from its option");
            assert_eq!(p.get(&from_run_json.hyper), value, "{name} in run.json");
            assert_eq!(p.get(&from_checkpoint), value, "{name} in the checkpoint");
        }
        // Without options, Table I.
        assert_eq!(parse(&[]).hyper.0, Hyper::default());
    }

    #[test]
    fn epoch_generators_differ_by_seed_and_epoch_and_repeat() {
        let draw = |s, e| epoch_rng(s, e).next_u64();
        assert_eq!(draw(1, 1), draw(1, 1));
        assert_ne!(draw(1, 1), draw(1, 2));
        assert_ne!(draw(1, 1), draw(2, 1));
    }
}
