//! `mtsnn export`: writes an inference-only copy of a model — the weights alone, F16 by default,
//! or F32, or 8-bit codes with per-row scales (`--dtype`) —
//! with the data set, its normalisation and the class names in the metadata, so that an embedding
//! app (the browser demo, `mtsnn-web`) needs nothing else to preprocess inputs and label outputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use clap::ValueEnum;
use mtsnn_core::Model;
use mtsnn_core::checkpoint::{WeightFormat, write_atomic};

use super::{data_source, load_model};
use crate::data::{DatasetKind, kind_parser};

/// Options of `mtsnn export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model or checkpoint (.safetensors) to export
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Where to write the inference file (.safetensors)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Data set the model was trained on [default: the one in the run.json beside the model]
    #[arg(long, value_parser = kind_parser())]
    dataset: Option<DatasetKind>,
    /// How to store the weights: f16 (half the size of f32; spike counts can differ slightly), f32
    /// (exact), or i8 (a quarter of f32: 8-bit codes with one scale per output neuron or filter)
    #[arg(long, value_enum, default_value_t = Dtype::F16)]
    dtype: Dtype,
    /// The same as --dtype f32
    #[arg(long, conflicts_with = "dtype")]
    f32: bool,
}

/// The weight formats of `--dtype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Dtype {
    F16,
    F32,
    I8,
}

/// Runs `mtsnn export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let (dataset, _) = data_source(&args.model, args.dataset, None)?;
    let format = match (args.f32, args.dtype) {
        (true, _) | (_, Dtype::F32) => WeightFormat::F32,
        (_, Dtype::F16) => WeightFormat::F16,
        (_, Dtype::I8) => WeightFormat::I8,
    };
    let bytes = write(&model, dataset, format, &args.out)?;
    eprintln!(
        "wrote {} ({bytes} bytes, {} weights as {format:?}, {dataset})",
        args.out.display(),
        model.parameter_count(),
    );
    Ok(())
}

/// Writes `model`'s inference copy in `format` to `out` (atomically), with `dataset`'s name,
/// normalisation (one mean and standard deviation per channel, as the model's input scale makes
/// them) and class names in the metadata; returns its size in bytes.
pub fn write(
    model: &Model,
    dataset: DatasetKind,
    format: WeightFormat,
    out: &Path,
) -> Result<usize> {
    let bytes = model.to_export_bytes(format, &dataset.metadata(model.hyper().input_scale))?;
    write_atomic(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(bytes.len())
}
