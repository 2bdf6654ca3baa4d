//! `mtsnn bench`: training throughput and single-sample inference latency of a network on random
//! data of the right shape (no data set needed).
//!
//! Training: `--warmup` untimed `train_batch` calls, then `--iters` timed ones; samples/s is the batch
//! size over the median call time. Inference: `--infer-iters` timed `infer` calls on one sample after
//! the same warm-up; the latency is their median. Inputs are standard normal (what normalised pixels
//! look like), labels uniform.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use clap::Args;
use mtsnn_core::rng::Rng;
use mtsnn_core::{BackendKind, Hyper, Model, NetSpec, Shape, Surrogate};
use serde::Serialize;

use super::{make_backend, median_min_max};
use crate::data::CLASSES;

/// Options of `mtsnn bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Network string, as for `train`
    #[arg(long, default_value = "784-400-400-10")]
    net: String,
    /// Input shape CxHxW
    #[arg(long, default_value = "1x28x28", value_parser = parse_shape)]
    input: Shape,
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
    /// Seed of the weights and the random data
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Report {
    net: String,
    backend: String,
    batch: usize,
    steps: usize,
    surrogate: &'static str,
    iters: usize,
    infer_iters: usize,
    /// Training samples per second of the median batch, and of the slowest and fastest.
    train_samples_per_sec: f64,
    train_samples_per_sec_min: f64,
    train_samples_per_sec_max: f64,
    /// Median, fastest and slowest batch-1 `infer` call, microseconds.
    infer_latency_us: f64,
    infer_latency_us_min: f64,
    infer_latency_us_max: f64,
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

/// Runs `mtsnn bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let spec = NetSpec::parse(&args.net, args.input, CLASSES)?;
    let hyper = Hyper {
        steps: args.steps,
        surrogate: args.surrogate,
        ..Hyper::default()
    };
    let model = Model::init(spec, hyper, args.seed)?;
    let mut backend = make_backend(args.backend, &model)?;
    let batch = args.batch as usize;
    let n = args.input.len();
    let mut rng = Rng::new(args.seed);
    let x: Vec<f32> = (0..batch * n).map(|_| rng.normal() as f32).collect();
    let labels: Vec<u32> = (0..batch).map(|_| rng.below(CLASSES) as u32).collect();

    let mut train_secs = Vec::new();
    for i in 0..args.warmup + args.iters {
        let start = Instant::now();
        let stats = backend
            .train_batch(&x, &labels)
            .context("training failed")?;
        ensure!(stats.loss.is_finite(), "the loss became {}", stats.loss);
        if i >= args.warmup {
            train_secs.push(start.elapsed().as_secs_f64());
        }
    }
    let one = &x[..n];
    let mut infer_us = Vec::new();
    for i in 0..args.warmup + args.infer_iters {
        let start = Instant::now();
        backend.infer(one, false).context("inference failed")?;
        if i >= args.warmup {
            infer_us.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    let (t_med, t_min, t_max) = median_min_max(&mut train_secs);
    let (l_med, l_min, l_max) = median_min_max(&mut infer_us);
    let r = Report {
        net: model.spec.text().to_string(),
        backend: backend.name(),
        batch,
        steps: args.steps,
        surrogate: args.surrogate.name(),
        iters: args.iters as usize,
        infer_iters: args.infer_iters as usize,
        train_samples_per_sec: batch as f64 / t_med,
        train_samples_per_sec_min: batch as f64 / t_max,
        train_samples_per_sec_max: batch as f64 / t_min,
        infer_latency_us: l_med,
        infer_latency_us_min: l_min,
        infer_latency_us_max: l_max,
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
        writeln!(
            out,
            "training, batch {}: {:.0} samples/s (median of {}; {:.0}–{:.0})",
            r.batch,
            r.train_samples_per_sec,
            r.iters,
            r.train_samples_per_sec_min,
            r.train_samples_per_sec_max
        )?;
        writeln!(
            out,
            "inference, batch 1: {:.1} µs (median of {}; {:.1}–{:.1})",
            r.infer_latency_us, r.infer_iters, r.infer_latency_us_min, r.infer_latency_us_max
        )?;
    }
    Ok(())
}
