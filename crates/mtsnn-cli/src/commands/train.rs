//! `mtsnn train`: the command line of [`mtsnn_core::Trainer`]. It resolves the options (a resumed
//! run takes its settings from the checkpoint and the run.json beside it, unless given), reads the
//! data set, and shows the trainer's progress: a bar per epoch on a terminal, one line per epoch,
//! the warnings. The run folder's files are the trainer's ([`mtsnn_core::train::run_dir`]).
//!
//! SIGTERM, SIGUSR1 (what Slurm sends before a time limit or a preemption) and SIGINT stop the
//! training at the next chunk of batches with a mid-epoch checkpoint; the program then exits with
//! status [`INTERRUPTED`] and `--resume` continues exactly where it stopped. A second SIGINT ends
//! the program at once (the files on disk are whole: every write is atomic).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use mtsnn_core::hyper;
use mtsnn_core::lr_schedule::ScheduleKind;
use mtsnn_core::train::run_dir::{CHECKPOINT, run_files};
use mtsnn_core::train::{RunInfo, load_checkpoint, set_horizon};
use mtsnn_core::{BackendKind, Finish, Model, NetSpec, TrainConfig, Trainer};

use crate::data::{CLASSES, Dataset, DatasetKind, Part, kind_parser};
use crate::hyper_args::HyperArgs;
use crate::progress::TrainDisplay;
use crate::signals;

/// The exit status of a run stopped by a signal after writing its checkpoint (EX_TEMPFAIL of
/// `sysexits.h`: try again later): a scheduler's job script requeues on it.
pub const INTERRUPTED: u8 = 75;

/// The error a run stopped by a signal ends with; `main` exits with [`INTERRUPTED`] on it.
#[derive(Debug)]
pub struct Interrupted(pub String);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

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
    /// Random-crop augmentation, the paper's only one: pad each training image by PAD black
    /// pixels and cut it back at a random offset (0 = off)
    #[arg(long, value_name = "PAD", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=64))]
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

/// Everything decided before any data is read.
struct Plan {
    config: TrainConfig,
    out: PathBuf,
    /// The checkpoint when resuming; `None` for a new run.
    resume: Option<PathBuf>,
    net: String,
    hyper: hyper::Hyper,
}

/// Runs `mtsnn train`; `matches` tells which options were given on the command line.
pub fn run(args: &TrainArgs, matches: &ArgMatches) -> Result<()> {
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let plan = plan(args, &given)?;
    let cfg = &plan.config;
    let scale = plan.hyper.input_scale;
    let read = |part, limit: Option<usize>| -> Result<_> {
        let mut set = Dataset::load(cfg.dataset, cfg.data.as_deref(), part)?;
        if let Some(n) = limit {
            set.truncate(n);
        }
        Ok(Arc::new(set.image_set(cfg.dataset, scale)?))
    };
    let (train, test) = (
        read(Part::Train, cfg.limit_train)?,
        read(Part::Test, cfg.limit_test)?,
    );
    let trainer = match &plan.resume {
        Some(ckpt) => Trainer::resume(ckpt, cfg.clone(), train, test, &plan.out)?,
        None => {
            let spec = NetSpec::parse(&plan.net, train.shape, CLASSES)?;
            let mut hyper = plan.hyper.clone();
            set_horizon(&mut hyper, cfg, train.len());
            let model = Model::init(spec, hyper, cfg.seed)?;
            Trainer::new(model, cfg.clone(), train, test, &plan.out).replace_existing(args.force)
        }
    };
    let mut trainer = trainer
        .backend(args.backend)
        .stop_after(args.stop_after.map(|n| n as usize));
    signals::stop_on(&trainer.stop_flag())?;
    let mut display = TrainDisplay::default();
    let finish = trainer.run(&mut |event| display.show(event))?;
    let resume_hint = |ckpt: &Path| format!("continue with --resume {}", ckpt.display());
    match finish {
        Finish::Complete { model } => eprintln!("saved {}", model.display()),
        Finish::Paused { epoch, checkpoint } => eprintln!(
            "stopped after epoch {epoch} of {} (--stop-after); {}",
            cfg.epochs,
            resume_hint(&checkpoint)
        ),
        Finish::Interrupted {
            epoch,
            batch,
            batches,
            checkpoint,
        } => {
            return Err(Interrupted(format!(
                "interrupted in epoch {epoch} after batch {batch} of {batches}, checkpoint saved; {}",
                resume_hint(&checkpoint)
            ))
            .into());
        }
        _ => {}
    }
    Ok(())
}

/// Resolves the options against the checkpoint and its run.json (when resuming).
fn plan(args: &TrainArgs, given: &dyn Fn(&str) -> bool) -> Result<Plan> {
    let wanted = args.hyper.0.clone();
    ensure!(
        !given(hyper::LR_DECAY_AT.name) || wanted.lr_schedule.kind == ScheduleKind::Step,
        "--lr-decay-at belongs to --lr-schedule step"
    );
    let Some(ckpt) = &args.resume else {
        let config = config_from(args, given, None);
        let out = args.out.clone().unwrap_or_else(|| {
            let name = format!("{}-{}-seed{}", config.dataset, args.net.trim(), config.seed);
            PathBuf::from("runs").join(name)
        });
        if out.exists() && !out.is_dir() {
            bail!("--out {} is a file, not a directory", out.display());
        }
        let found = run_files(&out);
        if !args.force && !found.is_empty() {
            bail!(
                "{} already holds a run ({}); pass --resume {} to continue it, --force to replace it, \
                 or choose another --out",
                out.display(),
                found.join(", "),
                out.join(CHECKPOINT).display()
            );
        }
        let mut hyper = wanted;
        // The schedule's horizon, its updates per epoch counted once the data are read (`run`).
        set_horizon(&mut hyper, &config, config.batch);
        hyper.validate()?;
        return Ok(Plan {
            config,
            out,
            resume: None,
            net: args.net.clone(),
            hyper,
        });
    };
    let (model, _) = load_checkpoint(ckpt)
        .with_context(|| format!("cannot load the checkpoint {}", ckpt.display()))?;
    if given("net") {
        let spec = &model.spec();
        let same = NetSpec::parse(&args.net, spec.input(), spec.classes())
            .is_ok_and(|n| n.layers() == spec.layers());
        ensure!(
            same,
            "checkpoint is {} but --net says {}",
            spec.text(),
            args.net.trim()
        );
    }
    for param in hyper::PARAMS {
        let (want, has) = (param.get(&wanted), param.get(model.hyper()));
        if given(param.name) && want != has {
            let flag = param.flag();
            bail!(
                "checkpoint {} was trained with {flag} {has} but {flag} says {want}; a resumed run \
                 keeps the checkpoint's hyper-parameters",
                ckpt.display()
            );
        }
    }
    let base = RunInfo::beside(ckpt)?.map(|info| match info.resumed.last() {
        Some(r) => r.config.clone(),
        None => info.config,
    });
    let out = args.out.clone().unwrap_or_else(|| {
        let dir = ckpt.parent().filter(|d| !d.as_os_str().is_empty());
        dir.unwrap_or(Path::new(".")).to_path_buf()
    });
    Ok(Plan {
        config: config_from(args, given, base),
        out,
        net: model.spec().text().to_string(),
        hyper: model.hyper().clone(),
        resume: Some(ckpt.clone()),
    })
}

/// The run settings: each option as given, else from `base` (a resumed run's), else its default.
fn config_from(
    args: &TrainArgs,
    given: &dyn Fn(&str) -> bool,
    base: Option<TrainConfig>,
) -> TrainConfig {
    // Absolute, so that a resumed run finds the data from any working directory.
    let data = (args.data.as_ref()).map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()));
    let ours = TrainConfig::paper(args.dataset)
        .with_data(data)
        .with_epochs(args.epochs as usize)
        .with_batch(args.batch as usize)
        .with_crop(args.crop as usize)
        .with_flip(args.flip)
        .with_seed(args.seed)
        .with_limit_train(args.limit_train.map(|n| n as usize))
        .with_limit_test(args.limit_test.map(|n| n as usize));
    let Some(mut config) = base else { return ours };
    macro_rules! pick {
        ($($field:ident),*) => {
            $(if given(stringify!($field)) { config.$field = ours.$field; })*
        };
    }
    pick!(
        dataset,
        data,
        epochs,
        batch,
        crop,
        flip,
        seed,
        limit_train,
        limit_test
    );
    config
}

#[cfg(test)]
mod tests {
    use clap::{Command, FromArgMatches};
    use mtsnn_core::Hyper;
    use mtsnn_core::train::Invocation;

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
                "--lr-warmup",
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
                "--guard-dead-classes",
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
        let from_checkpoint = Model::from_bytes(&bytes, Path::new("c"))
            .unwrap()
            .hyper()
            .clone();
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
}
