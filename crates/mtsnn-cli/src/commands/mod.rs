//! The subcommands, and what several of them share.

pub mod adapters;
pub mod bench;
pub mod eval;
pub mod export;
pub mod gemm_bench;
pub mod infer;
pub mod plot;
pub mod sweep;
pub mod train;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mtsnn_core::checkpoint::WeightFormat;
use mtsnn_core::cpu::CpuBackend;
use mtsnn_core::stats::StatsCollector;
use mtsnn_core::train::{EVAL_BATCH, RunInfo, TestOutcome, full_output};
use mtsnn_core::{Backend, BackendKind, Model, choose_backend};

use crate::data::{Dataset, DatasetKind};

/// Loads a checkpoint or final model.
pub fn load_model(path: &Path) -> Result<Model> {
    Model::load(path).with_context(|| format!("cannot load the model {}", path.display()))
}

/// Builds the backend `kind` holding `model`. When a GPU was looked for (`gpu`, `auto`), says on
/// stderr which backend runs and why, e.g. `backend: cpu (auto: the only GPU adapter is llvmpipe
/// (…) on vulkan, a software rasteriser; backend gpu uses it anyway)`.
pub fn make_backend(kind: BackendKind, model: &Model) -> Result<Box<dyn Backend>> {
    let chosen =
        choose_backend(kind, model).with_context(|| format!("cannot start the {kind} backend"))?;
    if kind != BackendKind::Cpu {
        eprintln!("backend: {chosen}");
    }
    Ok(chosen.backend)
}

/// The weights inference computes with (`--weights`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum InferWeights {
    /// The model's F32 weights, on the chosen backend
    #[default]
    F32,
    /// The dense layers' weights as 8-bit codes with a scale per neuron, as `mtsnn export --dtype
    /// i8` stores them (an I8 export's own codes), read by the CPU backend's dot-product kernels:
    /// a quarter of the bytes; convolutions stay F32
    I8,
}

/// [`make_backend`] for inference with `weights`: I8 is the CPU backend's
/// (`CpuBackend::for_inference`), and asking for it with `--backend gpu` is an error.
pub fn inference_backend(
    kind: BackendKind,
    model: &Model,
    weights: InferWeights,
) -> Result<Box<dyn Backend>> {
    match weights {
        InferWeights::F32 => make_backend(kind, model),
        InferWeights::I8 => {
            if kind == BackendKind::Gpu {
                bail!("--weights i8 computes on the CPU backend: leave out --backend gpu");
            }
            let backend = CpuBackend::for_inference(model, WeightFormat::I8)
                .context("cannot start the CPU backend with 8-bit weights")?;
            Ok(Box::new(backend))
        }
    }
}

/// The data set a model was trained on and the directory to read it from: the options when given,
/// else what the `run.json` beside the model records (the directory only when the data set is the
/// recorded one), else the data set's default directory. The data set decides the normalisation and
/// the class names, so it must be known.
pub fn data_source(
    model: &Path,
    dataset: Option<DatasetKind>,
    data: Option<&Path>,
) -> Result<(DatasetKind, Option<PathBuf>)> {
    let recorded = match (dataset, data) {
        (Some(_), Some(_)) => None,
        // With the data set given, run.json only suggests a directory: an unreadable one is ignored.
        (Some(_), None) => RunInfo::beside(model)
            .ok()
            .flatten()
            .map(|info| info.config),
        (None, _) => RunInfo::beside(model)?.map(|info| info.config),
    };
    let kind = match (dataset, &recorded) {
        (Some(kind), _) => kind,
        (None, Some(config)) => config.dataset,
        (None, None) => bail!(
            "cannot tell which data set {} was trained on (there is no run.json beside it); \
             pass --dataset mnist or --dataset fashion-mnist",
            model.display()
        ),
    };
    let dir = match (data, recorded) {
        (Some(dir), _) => Some(dir.to_path_buf()),
        (None, Some(config)) if config.dataset == kind => config.data,
        (None, _) => None,
    };
    Ok((kind, dir))
}

/// Checks that samples of `data` fit the network's input.
pub fn check_input(model: &Model, data: &Dataset) -> Result<()> {
    let (want, have) = (model.spec().input(), data.shape());
    if want != have {
        bail!(
            "the network {} takes {want} inputs but the data set's images are {have}",
            model.spec().text()
        );
    }
    Ok(())
}

/// Correctly classified test samples of `data`, in batches of [`EVAL_BATCH`] (or of
/// [`Backend::max_batch`] where that is smaller), and how the output neurons behaved; with
/// `stats`, every weighted layer's spike counts are added to it.
pub fn evaluate_recording(
    backend: &mut dyn Backend,
    model: &Model,
    data: &Dataset,
    kind: DatasetKind,
    mut stats: Option<&mut StatsCollector>,
) -> Result<TestOutcome> {
    let tables = kind.tables(model.hyper().input_scale);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let indices: Vec<usize> = (0..data.len()).collect();
    let full = full_output(model);
    let mut outcome = TestOutcome::new(data.len(), model.spec().classes());
    for chunk in indices.chunks(EVAL_BATCH) {
        data.batch(chunk, &tables, None, &mut x, &mut y);
        let out = backend
            .infer_all(&x, stats.is_some())
            .context("inference failed")?;
        if let Some(stats) = stats.as_deref_mut() {
            stats.add(&out).context("collecting spike statistics")?;
        }
        outcome.add(&out.totals(), full);
        outcome.correct += out.correct(&y);
    }
    Ok(outcome)
}

/// The median, smallest and largest of `xs` (which must not be empty).
pub fn median_min_max(xs: &mut [f64]) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    (median, xs[0], xs[n - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median_min_max(&mut [3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(median_min_max(&mut [4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
    }
}
