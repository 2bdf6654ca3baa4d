//! `mtsnn export`: writes an inference-only copy of a model — the weights alone, F16 by default —
//! with the data set, its normalisation and the class names in the metadata, so that an embedding
//! app (the browser demo, `mtsnn-web`) needs nothing else to preprocess inputs and label outputs.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use mtsnn_core::checkpoint::write_atomic;

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
    /// Keep the weights as F32 (default: F16, half the size; spike counts can differ slightly)
    #[arg(long)]
    f32: bool,
}

/// Runs `mtsnn export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let (dataset, _) = data_source(&args.model, args.dataset, None)?;
    // The data set's name, normalisation (one mean and standard deviation per channel) and
    // class names.
    let extra = dataset.metadata();
    let bytes = model.to_inference_bytes_with(!args.f32, &extra)?;
    write_atomic(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} bytes, {} weights as {}, {dataset})",
        args.out.display(),
        bytes.len(),
        model.parameter_count(),
        if args.f32 { "F32" } else { "F16" }
    );
    Ok(())
}
