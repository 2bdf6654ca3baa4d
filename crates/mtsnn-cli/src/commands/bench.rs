//! `mtsnn bench`: training throughput and single-sample inference latency of a network, on real
//! training images where the data set is on disk, else on random data of the right shape.
//!
//! Training: `--warmup` untimed `train_batch` calls, then `--iters` timed ones; samples/s is the batch
//! size over the median call time. Inference: `--infer-iters` timed `infer` calls on one sample after
//! the same warm-up; the latency is their median.
//!
//! Epoch mode, as `train` runs: the data are handed to the backend once (`Backend::load_set`), then
//! one untimed pass of `--warmup` batches and one timed pass of `--epoch-batches` batches
//! (`Backend::train_epoch`, shuffled, no augmentation); its samples/s is the samples over the
//! pass's wall time, host waits and all. With `--profile` (GPU backends) the device's counters
//! are printed per batch of each mode: kernel launches, submissions, host waits, bytes uploaded
//! and read back, and per-kernel GPU time from timestamp queries where the adapter has them. A
//! conv layer's weight gradient split across workgroups shows as two kernels,
//! `conv_weight_grad:chunks` (partial sums per chunk of images) and `conv_weight_grad:sum` (adding
//! the chunks); the environment variable `MTSNN_WEIGHT_GRAD_CHUNKS=N` forces N chunks (1: the
//! single pass) instead of the adapter's choice, to compare them.
//!
//! Data: the spike statistics set the cost of the surrogate and the scan, so random inputs are not
//! representative. By default the data set the network belongs to (the paper's MNIST networks
//! `784-800-10` and `15C5-P2-40C5-P2-300` → MNIST, 3-channel inputs and the paper's CIFAR-10 network →
//! CIFAR-10, anything else → FashionMNIST, as `train`) is read from its default directory when it is
//! there: batches are consecutive slices of the shuffled training set, normalised as in `train`, with
//! their labels, a different batch for every call. When it is not there, the inputs are standard
//! normal (what normalised pixels look like) and the labels uniform. `--dataset` picks the data set
//! (`random` forces random data) and `--data DIR` its directory; a data set asked for by either that
//! is not found is an error. The report says which data ran.
//!
//! The dense bound (CPU backend): the training batch's products alone — every dense and
//! convolutional GEMM of the schedule, at the network's own shapes, as the backend runs them — are
//! timed in the same run (`mtsnn_core::cpu::bound`), and the report gives the training throughput as
//! a share of the throughput they alone would allow, a ratio against the machine it ran on.
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use clap::{Args, ValueEnum};
use mtsnn_core::cpu::bound::dense_bound;
use mtsnn_core::rng::Rng;
use mtsnn_core::schedule::{Mode, NetSchedule};
use mtsnn_core::{BackendKind, Counters, Hyper, ImageSet, Model, NetSpec, Order, Shape, Surrogate};
use serde::Serialize;

use super::{
    InferWeights, gemm_bench, inference_backend, load_model, make_backend, median_min_max,
};
use crate::data::{CLASSES, Dataset, DatasetKind, Files, InputScale, Part};

/// The input scale of the benchmark's data: the default of `train`, whose spike statistics (and
/// so whose cost) it measures.
const BENCH_SCALE: InputScale = InputScale::Standard;

/// Options of `mtsnn bench`.
#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Network string, as for `train`
    #[arg(long, default_value = "784-400-400-10")]
    net: String,
    /// Start from a saved model or checkpoint (its network, hyper-parameters and weights) instead
    /// of fresh weights: a trained network fires, and so costs, differently from a new one
    #[arg(long, value_name = "FILE", conflicts_with_all = ["net", "steps", "surrogate"])]
    model: Option<PathBuf>,
    /// Data to train on: a data set's training images (an error when it is not found), or random
    /// (standard-normal inputs, uniform labels) [default: the network's data set — mnist for the
    /// paper's 784-800-10 and 15C5-P2-40C5-P2-300, cifar10 for its CIFAR-10 network and 3-channel
    /// inputs, else fashion-mnist — read from its default directory when it is there, else random]
    #[arg(long, value_enum, value_name = "DATA")]
    dataset: Option<BenchData>,
    /// Directory of the data set, as for `train` [default: /usr/share/datasets/fashion-mnist for
    /// fashion-mnist, data/mnist for mnist, data/cifar-10-batches-bin for cifar10]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Input shape CxHxW of random data [default: 1x28x28; 3x32x32 for cifar10]; real data has the
    /// shape of its images
    #[arg(long, value_parser = parse_shape)]
    input: Option<Shape>,
    /// Where to compute: cpu, gpu, or auto (a hardware GPU when there is one, else the CPU)
    #[arg(long, default_value_t = BackendKind::Auto)]
    backend: BackendKind,
    /// Training batch size
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Time steps T
    #[arg(long, default_value_t = Hyper::default().steps)]
    steps: usize,
    /// Surrogate gradient: f1, f2 or f3
    #[arg(long, default_value_t = Hyper::default().surrogate)]
    surrogate: Surrogate,
    /// Timed training batches
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    iters: u32,
    /// Untimed calls before timing (training and inference each)
    #[arg(long, default_value_t = 3)]
    warmup: u32,
    /// Timed single-sample inference calls
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    infer_iters: u32,
    /// Weights of the timed single-sample inference (of the network as the timed training left
    /// it): f32, or i8 (8-bit codes of the dense layers on the CPU backend)
    #[arg(long, value_enum, default_value_t = InferWeights::F32, value_name = "FORMAT")]
    infer_weights: InferWeights,
    /// Batches of the timed pass in epoch mode (`train`'s way: data on the backend, the batches
    /// gathered there, results read back once); 0 skips epoch mode
    #[arg(long, default_value_t = 20)]
    epoch_batches: u32,
    /// Print the device's counters per batch (launches, submissions, host waits, bytes up and
    /// down) for each mode, and per-kernel GPU time where the adapter has timestamp queries
    /// (MTSNN_WEIGHT_GRAD_CHUNKS=N forces the conv weight gradients' split into N chunks)
    #[arg(long)]
    profile: bool,
    /// Seed of the weights, of the order of the training images, and of random data
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
    /// Time the GPU's GEMM kernel instead of a network: C = op(A)·op(B) with m = n = k = N, or
    /// MxNxK, for each transpose variant (`--iters` runs each; see `commands/gemm_bench.rs`)
    #[arg(long, value_name = "N|MxNxK", value_parser = gemm_bench::parse_gemm_shape)]
    gemm: Option<gemm_bench::GemmShape>,
    /// With --gemm, the kernel: auto (the adapter's choice), direct (matmul.wgsl), a tile with
    /// scalar loads (gemm.wgsl: 128x128, 64x64, 32x32) or with 16-byte loads where the rows
    /// allow (gemm_vec4.wgsl: 128x128-vec4, 64x64-vec4, 32x32-vec4)
    #[arg(long, default_value = "auto", requires = "gemm", value_parser = gemm_bench::parse_gemm_path)]
    gemm_path: gemm_bench::GemmPath,
}

/// What `--dataset` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BenchData {
    /// MNIST's training images
    Mnist,
    /// FashionMNIST's training images
    FashionMnist,
    /// CIFAR-10's training images (binary version)
    #[value(name = "cifar10")]
    Cifar10,
    /// Standard-normal inputs and uniform labels
    Random,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Report {
    net: String,
    backend: String,
    /// The instruction set the CPU kernels ran with (`avx512`, `avx2`, `sse2`, `neon`), also on a
    /// GPU run, where only the host-side work uses it.
    isa: &'static str,
    /// The inputs: `"<data set> (real)"` or `"random"`.
    data: String,
    batch: usize,
    steps: usize,
    surrogate: &'static str,
    iters: usize,
    infer_iters: usize,
    /// Training samples per second of the median batch, and of the slowest and fastest.
    train_samples_per_sec: f64,
    train_samples_per_sec_min: f64,
    train_samples_per_sec_max: f64,
    /// The weights of the timed inference: `f32`, or `i8` (`--infer-weights`).
    infer_weights: String,
    /// Median, fastest and slowest batch-1 `infer` call, microseconds.
    infer_latency_us: f64,
    infer_latency_us_min: f64,
    infer_latency_us_max: f64,
    /// Epoch mode: batches of the timed pass (0: not run) and its training samples per second.
    epoch_batches: usize,
    epoch_samples_per_sec: Option<f64>,
    /// The device's counters (GPU backends) over the timed `train_batch` calls and over the timed
    /// pass of epoch mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_counters: Option<Counters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epoch_counters: Option<Counters>,
    /// CPU backend: the training step's products alone, timed in the same run (the dense bound).
    #[serde(skip_serializing_if = "Option::is_none")]
    dense_bound: Option<DenseReport>,
}

/// The dense bound of a training batch on this CPU (`mtsnn_core::cpu::bound`) and the share of it
/// training reaches.
#[derive(Debug, Serialize, Clone, Copy)]
struct DenseReport {
    /// FLOPs of the products per training sample.
    flops_per_sample: f64,
    /// The products' measured rate.
    gflops: f64,
    /// Samples per second if a batch took only its products' time.
    samples_per_sec: f64,
    /// Training samples/s (median batch) over the bound's.
    train_share: f64,
    /// Epoch mode's samples/s over the bound's.
    #[serde(skip_serializing_if = "Option::is_none")]
    epoch_share: Option<f64>,
}

/// Times the products of one training batch of `model` (5 repetitions each, the median).
fn dense_report(
    model: &Model,
    batch: usize,
    train_sps: f64,
    epoch_sps: Option<f64>,
) -> Result<DenseReport> {
    let schedule = NetSchedule::new(model.spec(), model.hyper(), batch, Mode::Training)?;
    let b = dense_bound(&schedule.schedule.steps, 5);
    let samples_per_sec = batch as f64 / b.seconds.max(1e-12);
    Ok(DenseReport {
        flops_per_sample: b.flops / batch as f64,
        gflops: b.gflops(),
        samples_per_sec,
        train_share: train_sps / samples_per_sec,
        epoch_share: epoch_sps.map(|e| e / samples_per_sec),
    })
}

/// Parses `CxHxW`.
fn parse_shape(s: &str) -> Result<Shape, String> {
    let dims: Vec<usize> = s
        .split('x')
        .map(|d| {
            d.trim()
                .parse()
                .map_err(|_| format!("{s:?} is not CxHxW, e.g. 1x28x28"))
        })
        .collect::<Result<_, _>>()?;
    match dims[..] {
        [c, h, w] if c > 0 && h > 0 && w > 0 => Ok(Shape::new(c, h, w)),
        _ => Err(format!(
            "{s:?} is not CxHxW with positive sizes, e.g. 1x28x28"
        )),
    }
}

/// The data set a network string belongs to: the paper's MNIST networks (Tables II and IV) →
/// MNIST, its CIFAR-10 network and any 3-channel input → CIFAR-10, everything else → FashionMNIST
/// (`train`'s default, and the paper's FashionMNIST networks).
fn default_dataset(net: &str, input: Option<Shape>) -> DatasetKind {
    let net = net.trim();
    let net = net.strip_suffix("-10").unwrap_or(net);
    let is = |s: &str| net.eq_ignore_ascii_case(s);
    if is("784-800") || is("15C5-P2-40C5-P2-300") {
        DatasetKind::Mnist
    } else if is("96C3-256C3-P2-384C3-P2-384C3-256C3-1024-1024")
        || input.is_some_and(|s| s.channels == 3)
    {
        DatasetKind::Cifar10
    } else {
        DatasetKind::FashionMnist
    }
}

/// The inputs the timed calls train on.
enum Source {
    /// Real training images: consecutive `batch`-sized slices of a shuffled order, wrapping round.
    Real {
        kind: DatasetKind,
        dir: PathBuf,
        data: Dataset,
        tables: Vec<[f32; 256]>,
        order: Vec<usize>,
        next: usize,
    },
    /// One batch of standard-normal inputs with uniform labels, and why random data runs.
    Random {
        input: Shape,
        x: Vec<f32>,
        labels: Vec<u32>,
        why: String,
    },
}

impl Source {
    /// Picks the data as `--dataset`, `--data` and the network say (see the module's notes).
    fn choose(args: &BenchArgs) -> Result<Self> {
        let explicit = args.dataset.is_some() || args.data.is_some();
        let kind = match args.dataset {
            Some(BenchData::Random) => {
                if args.data.is_some() {
                    bail!(
                        "--data names a data set's directory; it does not go with --dataset random"
                    );
                }
                let kind = default_dataset(&args.net, args.input);
                return Ok(Self::random(args, kind, "asked for".into()));
            }
            Some(BenchData::Mnist) => DatasetKind::Mnist,
            Some(BenchData::FashionMnist) => DatasetKind::FashionMnist,
            Some(BenchData::Cifar10) => DatasetKind::Cifar10,
            None => default_dataset(&args.net, args.input),
        };
        let dir = args.data.clone().unwrap_or_else(|| kind.default_dir());
        if !explicit && !dir.is_dir() {
            let why = format!("no {kind} data set in {}", dir.display());
            return Ok(Self::random(args, kind, why));
        }
        let data = Dataset::load(kind, Some(&dir), Part::Train)?;
        ensure!(
            data.len() > 0,
            "the {kind} training set in {} is empty",
            dir.display()
        );
        if let Some(shape) = args.input {
            ensure!(
                shape == data.shape(),
                "--input {shape} does not match the {kind} images ({}); real data needs no --input",
                data.shape()
            );
        }
        let mut order: Vec<usize> = (0..data.len()).collect();
        Rng::new(args.seed).shuffle(&mut order);
        Ok(Self::Real {
            kind,
            dir,
            tables: kind.tables(BENCH_SCALE),
            data,
            order,
            next: 0,
        })
    }

    /// One batch of random data of the `--input` shape, by default that of the images of `kind`
    /// (the data set the network belongs to).
    fn random(args: &BenchArgs, kind: DatasetKind, why: String) -> Self {
        let input = args.input.unwrap_or(kind.shape());
        let batch = args.batch as usize;
        let mut rng = Rng::new(args.seed);
        let x = (0..batch * input.len())
            .map(|_| rng.normal() as f32)
            .collect();
        let labels = (0..batch).map(|_| rng.below(CLASSES) as u32).collect();
        Self::Random {
            input,
            x,
            labels,
            why,
        }
    }

    /// Shape of one sample.
    fn shape(&self) -> Shape {
        match self {
            Self::Real { data, .. } => data.shape(),
            Self::Random { input, .. } => *input,
        }
    }

    /// Fills `x` and `y` with the next batch of `batch` samples.
    fn next_batch(&mut self, batch: usize, x: &mut Vec<f32>, y: &mut Vec<u32>) {
        match self {
            Self::Real {
                data,
                tables,
                order,
                next,
                ..
            } => {
                let indices: Vec<usize> = (0..batch)
                    .map(|j| order[(*next + j) % order.len()])
                    .collect();
                *next = (*next + batch) % order.len();
                data.batch(&indices, tables, None, x, y);
            }
            Self::Random { x: rx, labels, .. } => {
                x.clone_from(rx);
                y.clone_from(labels);
            }
        }
    }

    /// The data as an image set for epoch mode: the real training images, or random pixels
    /// (normalised as `kind`'s) with uniform labels, `samples` of them.
    fn image_set(&self, args: &BenchArgs, samples: usize) -> Result<ImageSet> {
        match self {
            Self::Real { kind, data, .. } => data.image_set(*kind, BENCH_SCALE),
            Self::Random { input, .. } => {
                let kind = default_dataset(&args.net, args.input);
                let mut rng = Rng::new(args.seed);
                let pixels = (0..samples * input.len())
                    .map(|_| rng.below(256) as u8)
                    .collect();
                let labels = (0..samples).map(|_| rng.below(CLASSES) as u32).collect();
                let tables = match kind.shape().channels == input.channels {
                    true => kind.tables(BENCH_SCALE),
                    false => vec![kind.tables(BENCH_SCALE)[0]; input.channels],
                };
                Ok(ImageSet::new(*input, pixels, labels, tables)?)
            }
        }
    }

    /// The `data` field of the report.
    fn label(&self) -> String {
        match self {
            Self::Real { kind, .. } => format!("{kind} (real)"),
            Self::Random { .. } => "random".into(),
        }
    }

    /// A line saying what ran, for the text output.
    fn describe(&self) -> String {
        match self {
            Self::Real {
                kind, dir, data, ..
            } => format!(
                "data: {kind} training images from {} ({} samples, a different batch each call)",
                dir.display(),
                data.len()
            ),
            Self::Random { why, .. } => {
                format!("data: random (standard-normal inputs, uniform labels; {why})")
            }
        }
    }
}

/// Runs `mtsnn bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    if let Some(shape) = args.gemm {
        ensure!(
            args.backend != BackendKind::Cpu,
            "--gemm times the GPU backend's kernel; it does not go with --backend cpu"
        );
        return gemm_bench::run(shape, &args.gemm_path, args.iters as usize, args.json);
    }
    let loaded = args.model.as_deref().map(load_model).transpose()?;
    let with_model;
    let args = match &loaded {
        Some(m) => {
            with_model = BenchArgs {
                net: m.spec().text().to_string(),
                steps: m.hyper().steps,
                surrogate: m.hyper().surrogate,
                ..args.clone()
            };
            &with_model
        }
        None => args,
    };
    let mut source = Source::choose(args)?;
    let input = source.shape();
    let model = match loaded {
        Some(m) => {
            ensure!(
                m.spec().input() == input,
                "the model takes {} inputs but the data's images are {input}",
                m.spec().input()
            );
            m
        }
        None => {
            let spec = NetSpec::parse(&args.net, input, CLASSES)?;
            let hyper = Hyper::default()
                .with_steps(args.steps)
                .with_surrogate(args.surrogate);
            Model::init(spec, hyper, args.seed)?
        }
    };
    let mut backend = make_backend(args.backend, &model)?;
    let batch = args.batch as usize;
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    source.next_batch(batch, &mut x, &mut labels);
    let one = x[..input.len()].to_vec();

    let mut train_secs = Vec::new();
    let mut counters_before = None;
    for i in 0..args.warmup + args.iters {
        if i > 0 {
            source.next_batch(batch, &mut x, &mut labels);
        }
        if i == args.warmup {
            counters_before = backend.counters();
        }
        let start = Instant::now();
        let stats = backend
            .train_batch(&x, &labels)
            .context("training failed")?;
        ensure!(stats.loss.is_finite(), "the loss became {}", stats.loss);
        if i >= args.warmup {
            train_secs.push(start.elapsed().as_secs_f64());
        }
    }
    let batch_counters = backend
        .counters()
        .zip(counters_before)
        .map(|(after, before)| after.since(&before));
    let mut infer_us = Vec::new();
    let mut compact = match args.infer_weights {
        InferWeights::F32 => None,
        InferWeights::I8 => {
            let mut trained = model.clone();
            backend.read_state(&mut trained)?;
            Some(inference_backend(
                args.backend,
                &trained,
                args.infer_weights,
            )?)
        }
    };
    let inferring = compact.as_mut().unwrap_or(&mut backend);
    for i in 0..args.warmup + args.infer_iters {
        let start = Instant::now();
        inferring.infer(&one, false).context("inference failed")?;
        if i >= args.warmup {
            infer_us.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    let kernel_times = if args.profile {
        backend
            .profile_train_batch(&x, &labels)
            .context("timing a training batch")?
    } else {
        None
    };
    let epoch = if args.epoch_batches > 0 {
        Some(epoch_mode(args, &source, backend.as_mut(), batch)?)
    } else {
        None
    };
    let (t_med, t_min, t_max) = median_min_max(&mut train_secs);
    let (l_med, l_min, l_max) = median_min_max(&mut infer_us);
    let dense = match backend.name().starts_with("cpu") {
        true => Some(dense_report(
            &model,
            batch,
            batch as f64 / t_med,
            epoch.map(|e| e.0),
        )?),
        false => None,
    };
    let r = Report {
        net: model.spec().text().to_string(),
        backend: backend.name(),
        isa: mtsnn_core::cpu::simd::active().name(),
        data: source.label(),
        batch,
        steps: args.steps,
        surrogate: args.surrogate.name(),
        iters: args.iters as usize,
        infer_iters: args.infer_iters as usize,
        train_samples_per_sec: batch as f64 / t_med,
        train_samples_per_sec_min: batch as f64 / t_max,
        train_samples_per_sec_max: batch as f64 / t_min,
        infer_weights: format!("{:?}", args.infer_weights).to_lowercase(),
        infer_latency_us: l_med,
        infer_latency_us_min: l_min,
        infer_latency_us_max: l_max,
        epoch_batches: args.epoch_batches as usize,
        epoch_samples_per_sec: epoch.map(|e| e.0),
        batch_counters,
        epoch_counters: epoch.and_then(|e| e.1),
        dense_bound: dense,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&r)?)?;
    } else {
        writeln!(
            out,
            "{} on {}, T={}, {}",
            r.net, r.backend, r.steps, r.surrogate
        )?;
        writeln!(out, "{}", source.describe())?;
        writeln!(
            out,
            "training, batch {}: {:.0} samples/s (median of {}; {:.0}–{:.0})",
            r.batch,
            r.train_samples_per_sec,
            r.iters,
            r.train_samples_per_sec_min,
            r.train_samples_per_sec_max
        )?;
        if let Some(sps) = r.epoch_samples_per_sec {
            writeln!(
                out,
                "training, epoch mode (data on the backend), batch {}: {sps:.0} samples/s ({} batches in one pass)",
                r.batch, r.epoch_batches
            )?;
        }
        if let Some(d) = &r.dense_bound {
            let epoch = d.epoch_share.map_or(String::new(), |e| {
                format!(", epoch mode {:.0} %", e * 100.0)
            });
            writeln!(
                out,
                "dense bound: {:.0} samples/s (the step's products alone, {:.1} MFLOP per sample, at the {:.0} GFLOP/s they reach here now); training reaches {:.0} % of it{epoch}",
                d.samples_per_sec,
                d.flops_per_sample / 1e6,
                d.gflops,
                d.train_share * 100.0
            )?;
        }
        writeln!(
            out,
            "inference, batch 1, {} weights: {:.1} µs (median of {}; {:.1}–{:.1})",
            r.infer_weights,
            r.infer_latency_us,
            r.infer_iters,
            r.infer_latency_us_min,
            r.infer_latency_us_max
        )?;
        if args.profile {
            let per = |c: &Counters, n: usize| {
                let n = n.max(1) as f64;
                format!(
                    "{:.1} launches, {:.2} submissions, {:.2} host waits, {:.0} B uploaded, {:.0} B read back",
                    c.dispatches as f64 / n,
                    c.submissions as f64 / n,
                    c.host_waits as f64 / n,
                    c.bytes_uploaded as f64 / n,
                    c.bytes_read as f64 / n
                )
            };
            match (&r.batch_counters, &r.epoch_counters) {
                (Some(b), e) => {
                    writeln!(out, "per train_batch call: {}", per(b, r.iters))?;
                    if let Some(e) = e {
                        writeln!(out, "per batch in epoch mode: {}", per(e, r.epoch_batches))?;
                        writeln!(
                            out,
                            "the epoch-mode pass of {} batches in all: {} host waits, {} submissions, {} B uploaded",
                            r.epoch_batches, e.host_waits, e.submissions, e.bytes_uploaded
                        )?;
                    }
                }
                (None, _) => writeln!(
                    out,
                    "profile: {} keeps no device counters (only GPU backends do)",
                    r.backend
                )?,
            }
            match kernel_times {
                Some(times) => write!(out, "{}", kernel_table(&times))?,
                None => writeln!(
                    out,
                    "per-kernel GPU time: not available on {} (it needs wgpu's TIMESTAMP_QUERY and \
                     TIMESTAMP_QUERY_INSIDE_PASSES, which only GPU adapters may offer)",
                    r.backend
                )?,
            }
        }
    }
    Ok(())
}

/// The launches of a timed training batch summed per kernel, the most expensive first.
fn kernel_table(times: &[(String, f64)]) -> String {
    let mut per_kernel: Vec<(&str, usize, f64)> = Vec::new();
    for (label, ns) in times {
        let kernel = label.split(' ').next().unwrap_or(label);
        match per_kernel.iter_mut().find(|(k, _, _)| *k == kernel) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += ns;
            }
            None => per_kernel.push((kernel, 1, *ns)),
        }
    }
    per_kernel.sort_by(|a, b| b.2.total_cmp(&a.2));
    let total: f64 = times.iter().map(|(_, ns)| ns).sum();
    let mut text = format!(
        "per-kernel GPU time of one training batch (timestamp queries), {:.3} ms in all:\n",
        total / 1e6
    );
    for (kernel, launches, ns) in per_kernel {
        text += &format!(
            "  {kernel:<24} {launches:>3} launches {:>10.3} ms {:>5.1} %\n",
            ns / 1e6,
            100.0 * ns / total.max(f64::MIN_POSITIVE)
        );
    }
    text
}

/// Epoch mode: the data handed to the backend, an untimed pass of `--warmup` batches, then the
/// timed pass of `--epoch-batches`; returns its samples/s and the device counters over it.
fn epoch_mode(
    args: &BenchArgs,
    source: &Source,
    backend: &mut dyn mtsnn_core::Backend,
    batch: usize,
) -> Result<(f64, Option<Counters>)> {
    let positions = batch * args.epoch_batches as usize;
    let set = source.image_set(args, positions)?;
    let samples = set.len();
    let (set, _) = backend
        .load_set(Arc::new(set))
        .context("handing the data to the backend")?;
    // Consecutive positions of a shuffled order, wrapping round a set smaller than the pass.
    let shuffled = Order::shuffled(samples, 0, false, &mut Rng::new(args.seed + 1));
    let order = |start: usize, n: usize| Order {
        pad: 0,
        samples: (start..start + n)
            .map(|p| shuffled.samples[p % samples])
            .collect(),
        augment: vec![0; n],
    };
    let warmup = batch * args.warmup as usize;
    if warmup > 0 {
        let warm = order(0, warmup);
        let stats = backend.train_epoch(set, &warm, batch, &mut |_| {}, None)?;
        ensure!(
            stats.batches.iter().all(|b| b.loss.is_finite()),
            "the loss became non-finite"
        );
    }
    let timed = order(warmup, positions);
    let before = backend.counters();
    let start = Instant::now();
    let stats = backend
        .train_epoch(set, &timed, batch, &mut |_| {}, None)
        .context("training in epoch mode failed")?;
    let secs = start.elapsed().as_secs_f64();
    ensure!(
        stats.batches.iter().all(|b| b.loss.is_finite()),
        "the loss became non-finite"
    );
    let counters = backend
        .counters()
        .zip(before)
        .map(|(after, before)| after.since(&before));
    Ok((positions as f64 / secs, counters))
}
