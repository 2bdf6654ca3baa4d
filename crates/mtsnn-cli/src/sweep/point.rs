//! One point of a sweep: training it in this process (`mtsnn sweep run-point`: new, resumed from
//! its checkpoint, or skipped when complete), and where it stands, read from its folder.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use clap::{Args, Command, FromArgMatches};
use mtsnn_core::checkpoint::WeightFormat;
use mtsnn_core::train::run_dir::{CHECKPOINT, FINAL_MODEL, Phase, RunState, run_files};
use mtsnn_core::train::run_info::utc_now;
use serde::Serialize;

use super::manifest::{self, KeepExport};
use super::summary::{PointResult, Summary};
use crate::commands::train::{self, TrainArgs};
use crate::commands::{export, load_model};
use crate::data::DatasetKind;
use crate::metrics;

/// Where a point stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PointStatus {
    /// Nothing trained yet.
    Pending,
    /// Its run says it is training (it may have been killed since: see `updated`).
    Running,
    /// Stopped by a signal with a checkpoint; the next run-point resumes it.
    Interrupted,
    /// Trained to the sweep's epochs.
    Complete,
    /// Its last run ended with an error.
    Failed,
}

/// A point's state, as `mtsnn sweep status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PointState {
    /// Where it stands.
    pub status: PointStatus,
    /// Epochs recorded in its metrics.
    pub epochs_done: usize,
    /// The epoch and batch its run last reported, with the batches per epoch.
    pub epoch: Option<usize>,
    /// Batches of that epoch done.
    pub batch: Option<usize>,
    /// Batches per epoch.
    pub batches: Option<usize>,
    /// The error of a failed run.
    pub error: Option<String>,
    /// Where and when its run last reported.
    pub host: Option<String>,
    /// When (UTC).
    pub updated: Option<String>,
}

/// The state of the point whose folder is `dir`, in a sweep of `epochs` epochs per point.
pub fn state(dir: &Path, epochs: usize) -> PointState {
    let run = RunState::read(dir).ok().flatten();
    let epochs_done = recorded_epochs(dir);
    let status = if is_complete(dir, epochs) {
        PointStatus::Complete
    } else {
        match run.as_ref().map(|r| r.state) {
            Some(Phase::Running) => PointStatus::Running,
            Some(Phase::Interrupted | Phase::Paused) => PointStatus::Interrupted,
            Some(Phase::Failed) => PointStatus::Failed,
            Some(Phase::Complete) | None => PointStatus::Pending,
        }
    };
    PointState {
        status,
        epochs_done,
        epoch: run.as_ref().map(|r| r.epoch),
        batch: run.as_ref().map(|r| r.batch),
        batches: run.as_ref().map(|r| r.batches),
        error: run.as_ref().and_then(|r| r.error.clone()),
        host: run.as_ref().map(|r| r.host.clone()),
        updated: run.map(|r| r.updated),
    }
}

/// Whether the run in `dir` has its final model (or what is kept in its place) and has recorded
/// `epochs` epochs.
pub fn is_complete(dir: &Path, epochs: usize) -> bool {
    has_final_model(dir) && recorded_epochs(dir) >= epochs
}

/// The evaluation record a finished seed in `results/` keeps: one result row (a protocol's seeds)
/// keeps a single small export, its first seed's, and the other seeds keep `eval.txt`, the
/// evaluation of their model made before it left the tree.
const EVAL_RECORD: &str = "eval.txt";

/// The final model, or what is kept in its place: an export (I8 or F16, whichever
/// `--keep-export` a sweep had, results/ included) or, in `results/`, the [`EVAL_RECORD`].
fn has_final_model(dir: &Path) -> bool {
    let kept = [KeepExport::I8, KeepExport::F16].map(KeepExport::file);
    dir.join(FINAL_MODEL).is_file()
        || kept.iter().flatten().any(|f| dir.join(f).is_file())
        || dir.join(EVAL_RECORD).is_file()
}

/// The last epoch recorded in `dir/metrics.jsonl`, 0 when there is none.
fn recorded_epochs(dir: &Path) -> usize {
    metrics::read(dir)
        .ok()
        .and_then(|e| e.last().map(|r| r.epoch))
        .unwrap_or(0)
}

/// What the run in `dir` achieved so far, if it recorded an epoch.
pub fn result_of(dir: &Path) -> Option<PointResult> {
    metrics::read(dir)
        .ok()
        .and_then(|e| PointResult::from_epochs(&e))
}

/// `mtsnn sweep run-point DIR --index I`.
pub fn run_index(dir: &Path, index: usize, fresh: bool) -> Result<()> {
    let sweep = manifest::read(dir)?;
    let n = sweep.points.len();
    let Some(point) = sweep.points.get(index) else {
        bail!(
            "{} has {n} points (indices 0…{}); there is no point {index}",
            dir.display(),
            n.saturating_sub(1)
        );
    };
    ensure!(
        !point.train_args.is_empty(),
        "{}: made by an older mtsnn without the points' train arguments; run that sweep's command again",
        dir.display()
    );
    let folder = dir.join(&point.dir);
    let name = format!("point {}/{n} ({})", index + 1, sweep.name(point));
    let result = run(&folder, &point.train_args, &sweep, &name, fresh);
    if let Err(e) = &result
        && e.downcast_ref::<train::Interrupted>().is_none()
        && RunState::read(&folder)
            .ok()
            .flatten()
            .is_none_or(|s| s.state != Phase::Failed)
    {
        // Failed before the trainer could say so (bad options, missing data): say it here.
        let state = RunState {
            state: Phase::Failed,
            epoch: 0,
            epochs: sweep.epochs,
            batch: 0,
            batches: 0,
            error: Some(format!("{e:#}")),
            pid: std::process::id(),
            host: String::new(),
            updated: utc_now(),
        };
        std::fs::create_dir_all(&folder).ok();
        let text = serde_json::to_string(&state)? + "\n";
        mtsnn_core::checkpoint::write_atomic(
            &folder.join(mtsnn_core::train::run_dir::STATE),
            text.as_bytes(),
        )
        .ok();
    }
    result
}

/// Brings the point in `dir` to the sweep's epochs with `train ARGS`: skipped when complete,
/// resumed from its checkpoint when it has one, started afresh otherwise.
fn run(dir: &Path, args: &[String], sweep: &Summary, name: &str, fresh: bool) -> Result<()> {
    let (model, ckpt) = (dir.join(FINAL_MODEL), dir.join(CHECKPOINT));
    let recorded = if fresh { 0 } else { recorded_epochs(dir) };
    if !fresh && is_complete(dir, sweep.epochs) {
        eprintln!("{name}: complete, skipped ({})", dir.display());
        return Ok(());
    }
    let mut argv = args.to_vec();
    if recorded >= sweep.epochs && ckpt.is_file() {
        // Interrupted between the last checkpoint and the final model, which are the same.
        std::fs::rename(&ckpt, &model)
            .with_context(|| format!("cannot rename {} to {}", ckpt.display(), model.display()))?;
        eprintln!("{name}: complete (its last checkpoint is the final model)");
    } else {
        if ckpt.is_file() && !fresh {
            eprintln!("{name}: resuming from {}", ckpt.display());
            argv.extend(["--resume".to_string(), ckpt.display().to_string()]);
        } else if !run_files(dir).is_empty() {
            argv.push("--force".into());
        }
        eprintln!("{name}: mtsnn {}", argv.join(" "));
        let cmd = TrainArgs::augment_args(Command::new("train"));
        let matches = cmd
            .try_get_matches_from(&argv)
            .with_context(|| format!("the point's train arguments: {}", argv.join(" ")))?;
        let train_args = TrainArgs::from_arg_matches(&matches)?;
        train::run(&train_args, &matches)?;
    }
    ensure!(
        model.is_file(),
        "train ended without writing {}",
        model.display()
    );
    if ckpt.is_file() {
        std::fs::remove_file(&ckpt).with_context(|| format!("cannot remove {}", ckpt.display()))?;
    }
    keep_export(dir, sweep)
}

/// The points of `wanted` (indices into `sweep`, in `dir`) to train: those not complete, or all
/// of them when `fresh`; in the order given.
pub fn to_train(dir: &Path, sweep: &Summary, wanted: &[usize], fresh: bool) -> Vec<usize> {
    let done = |i: usize| is_complete(&dir.join(&sweep.points[i].dir), sweep.epochs);
    wanted
        .iter()
        .copied()
        .filter(|&i| fresh || !done(i))
        .collect()
}

/// For every complete point of `wanted` (indices into `sweep`, in `dir`): says it is skipped, drops a checkpoint left
/// beside its final model (a run trained outside the sweep keeps its last one, the same state),
/// and keeps the export the sweep asks for.
pub fn tidy_complete(dir: &Path, sweep: &Summary, wanted: &[usize]) -> Result<()> {
    for &i in wanted {
        let p = &sweep.points[i];
        let folder = dir.join(&p.dir);
        if !is_complete(&folder, sweep.epochs) {
            continue;
        }
        eprintln!(
            "point {}/{} ({}): complete, skipped ({})",
            i + 1,
            sweep.points.len(),
            sweep.name(p),
            folder.display()
        );
        let ckpt = folder.join(CHECKPOINT);
        if ckpt.is_file() && folder.join(FINAL_MODEL).is_file() {
            std::fs::remove_file(&ckpt)
                .with_context(|| format!("cannot remove {}", ckpt.display()))?;
        }
        if folder.join(FINAL_MODEL).is_file() {
            keep_export(&folder, sweep)?;
        }
    }
    Ok(())
}

/// Replaces the complete point's full model by the export the sweep keeps, written first.
fn keep_export(dir: &Path, sweep: &Summary) -> Result<()> {
    let (format, file) = match sweep.keep_export {
        KeepExport::None => return Ok(()),
        KeepExport::I8 => (WeightFormat::I8, KeepExport::I8.file()),
        KeepExport::F16 => (WeightFormat::F16, KeepExport::F16.file()),
    };
    let full = dir.join(FINAL_MODEL);
    let kept = dir.join(file.expect("an export has a file"));
    let dataset: DatasetKind = sweep.dataset.parse()?;
    let bytes = export::write(&load_model(&full)?, dataset, format, &kept)?;
    std::fs::remove_file(&full).with_context(|| format!("cannot remove {}", full.display()))?;
    eprintln!(
        "kept {} ({bytes} bytes) in place of {}",
        kept.display(),
        full.display()
    );
    Ok(())
}

/// `mtsnn sweep status DIR`.
pub fn print_status(dir: &Path, json: bool) -> Result<()> {
    let sweep = manifest::read(dir)?;
    let states: Vec<(String, PointState)> = sweep
        .points
        .iter()
        .map(|p| (p.dir.clone(), state(&dir.join(&p.dir), sweep.epochs)))
        .collect();
    if json {
        for (i, (folder, s)) in states.iter().enumerate() {
            let mut v = serde_json::to_value(s)?;
            v["index"] = i.into();
            v["folder"] = folder.clone().into();
            println!("{}", serde_json::to_string(&v)?);
        }
    } else {
        println!(
            "sweep {} in {}: {} points, {} epochs each",
            sweep.title(),
            dir.display(),
            states.len(),
            sweep.epochs
        );
        for (i, ((_, s), p)) in states.iter().zip(&sweep.points).enumerate() {
            let status = format!("{:?}", s.status).to_lowercase();
            let detail = match s.status {
                PointStatus::Complete => format!("{} epochs", s.epochs_done),
                PointStatus::Running | PointStatus::Interrupted => format!(
                    "epoch {} of {}, batch {} of {} (updated {} on {})",
                    s.epoch.unwrap_or(0),
                    sweep.epochs,
                    s.batch.unwrap_or(0),
                    s.batches.unwrap_or(0),
                    s.updated.as_deref().unwrap_or("?"),
                    s.host.as_deref().filter(|h| !h.is_empty()).unwrap_or("?")
                ),
                PointStatus::Failed => s.error.clone().unwrap_or_default(),
                PointStatus::Pending => format!("{} epochs recorded", s.epochs_done),
            };
            println!("{i:>4}  {:<28} {status:<11} {detail}", sweep.name(p));
        }
    }
    super::slurm::print_jobs(dir, json)
}
