//! `mtsnn eval`: the test-set accuracy of a saved model and, with `--stats`, its spike statistics,
//! SynOps and energy estimate (see [`mtsnn_core::stats`] and [`crate::spike_report`]).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use clap::Args;
use mtsnn_core::BackendKind;
use mtsnn_core::stats::StatsCollector;
use serde::Serialize;

use mtsnn_core::train::evaluate_loaded;

use super::{
    InferWeights, check_input, data_source, evaluate_recording, inference_backend, load_model,
};
use crate::data::{Dataset, DatasetKind, Part, kind_parser};
use crate::spike_report::SpikeReport;

/// Options of `mtsnn eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model or checkpoint (.safetensors) to evaluate
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Data set whose test part to use [default: the one in the run.json beside the model]
    #[arg(long, value_parser = kind_parser())]
    dataset: Option<DatasetKind>,
    /// Directory holding t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz)
    /// [default: the one in the run.json beside the model, else /usr/share/datasets/fashion-mnist for
    /// fashion-mnist, data/mnist for mnist]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Where to compute: cpu, gpu, or auto (a hardware GPU when there is one, else the CPU)
    #[arg(long, default_value_t = BackendKind::Auto)]
    backend: BackendKind,
    /// Evaluate the first N test samples only
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    /// The weights to compute with: f32 (the model's, as loaded), or i8 (the dense layers as 8-bit
    /// codes with a scale per neuron, on the CPU backend: what `mtsnn bench --infer-weights i8`
    /// times; an I8 export's own codes)
    #[arg(long, value_enum, default_value_t = InferWeights::F32, value_name = "FORMAT")]
    weights: InferWeights,
    /// Print one JSON object instead of a sentence
    #[arg(long)]
    json: bool,
    /// Also report spike statistics over the test samples: per weighted layer the mean spikes per
    /// neuron per step, the fraction of (neuron, step) pairs silent (0 spikes) and saturated
    /// (S_max spikes), spikes and SynOps per inference; in total the spikes per inference, the
    /// SynOps (Σ spikes × fan-out: each spike is one accumulate on every outgoing synapse) and the
    /// estimated energy per inference of the SNN (layer 1's multiply-accumulates on the real-valued
    /// input + one accumulate per SynOp) against the same network as an ANN (one
    /// multiply-accumulate per weight use). Energies per 32-bit float operation at 45 nm, from M.
    /// Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014: MAC 4.6
    /// pJ (multiply 3.7 + add 0.9), AC 0.9 pJ.
    #[arg(long)]
    stats: bool,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Report {
    model: PathBuf,
    net: String,
    epoch: usize,
    dataset: DatasetKind,
    backend: String,
    correct: usize,
    total: usize,
    /// `correct / total`, 0..1.
    accuracy: f64,
    /// Classes whose output neuron emitted no spike for any test input: never predicted (except
    /// by the argmax's tie-break towards the lowest index).
    dead_classes: Vec<usize>,
    seconds: f64,
    /// With `--stats`: spike statistics, SynOps and the energy estimate per inference.
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<SpikeReport>,
}

/// Runs `mtsnn eval`.
pub fn run(args: &EvalArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let (dataset, dir) = data_source(&args.model, args.dataset, args.data.as_deref())?;
    let mut test = Dataset::load(dataset, dir.as_deref(), Part::Test)?;
    if let Some(n) = args.limit {
        test.truncate(n as usize);
    }
    ensure!(test.len() > 0, "the test set is empty");
    check_input(&model, &test)?;
    let mut backend = inference_backend(args.backend, &model, args.weights)?;
    let start = Instant::now();
    let mut collector = args
        .stats
        .then(|| StatsCollector::new(model.spec(), model.hyper().s_max, model.hyper().steps));
    let outcome = match collector.as_mut() {
        // Every layer's spikes, batch by batch.
        Some(collector) => {
            evaluate_recording(backend.as_mut(), &model, &test, dataset, Some(collector))?
        }
        // The set handed to the backend and evaluated in one pass, read back once.
        None => {
            let (set, _) = backend
                .load_set(Arc::new(
                    test.image_set(dataset, model.hyper().input_scale)?,
                ))
                .context("handing the test set to the backend")?;
            evaluate_loaded(backend.as_mut(), &model, set, test.labels())?
        }
    };
    let correct = outcome.correct;
    let report = Report {
        model: args.model.clone(),
        net: model.spec().text().to_string(),
        epoch: model.epoch(),
        dataset,
        backend: backend.name(),
        correct,
        total: test.len(),
        accuracy: correct as f64 / test.len() as f64,
        dead_classes: outcome.dead_classes(),
        seconds: start.elapsed().as_secs_f64(),
        stats: collector.map(|c| SpikeReport::new(c.finish())),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(
            out,
            "test accuracy {:.2} % ({} of {}) — {} ({}, epoch {}) on {} with {}, {:.2} s",
            100.0 * report.accuracy,
            report.correct,
            report.total,
            report.model.display(),
            report.net,
            report.epoch,
            report.dataset,
            report.backend,
            report.seconds
        )?;
        if !report.dead_classes.is_empty() {
            writeln!(
                out,
                "dead classes: the output neuron of class {} emits no spike for any of the {} test \
                 inputs, so the network never predicts {}",
                outcome.describe_dead(&dataset.class_names()),
                report.total,
                if report.dead_classes.len() == 1 {
                    "it"
                } else {
                    "them"
                }
            )?;
        }
        if let Some(stats) = &report.stats {
            write!(out, "{}", stats.text())?;
        }
    }
    Ok(())
}
