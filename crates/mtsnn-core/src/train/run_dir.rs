//! A run folder and its files: `run.json` (what the run was), `metrics.jsonl` (one line per
//! epoch), `checkpoint.safetensors` (after every epoch, and mid-epoch when training is
//! interrupted), `model.safetensors` (at the end) and `state.json` (where the run stands, for
//! `mtsnn sweep status` and schedulers). Every file is written atomically except the metrics,
//! which are appended a whole line at a time after the checkpoint they describe.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::metrics::EpochMetrics;
use super::progress::EpochProgress;
use super::run_info::{self, RunInfo, utc_now};
use crate::checkpoint::write_atomic;
use crate::error::{Error, Result};
use crate::model::Model;

/// One JSON object per finished epoch ([`EpochMetrics`]).
pub const METRICS: &str = "metrics.jsonl";
/// The latest checkpoint: weights, Adam state and, mid-epoch, the position in the epoch.
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// The model after the last epoch.
pub const FINAL_MODEL: &str = "model.safetensors";
/// Where the run stands ([`RunState`]).
pub const STATE: &str = "state.json";

/// What a run is doing, as `state.json` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Training (or evaluating) an epoch.
    Running,
    /// Stopped by a request (a signal) with a checkpoint to resume from.
    Interrupted,
    /// Stopped after the epoch its caller asked for (`--stop-after`), resumable.
    Paused,
    /// Trained all its epochs; the final model is written.
    Complete,
    /// Ended by an error, named in [`RunState::error`].
    Failed,
}

/// The content of `state.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// What the run is doing.
    pub state: Phase,
    /// The epoch being trained (the last one trained once complete).
    pub epoch: usize,
    /// The epochs the run trains to.
    pub epochs: usize,
    /// Batches of `epoch` done.
    pub batch: usize,
    /// Batches per epoch.
    pub batches: usize,
    /// The error that ended a failed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The process that wrote this, and its host.
    pub pid: u32,
    /// The host name, where the system says it.
    #[serde(default)]
    pub host: String,
    /// When this was written (UTC, RFC 3339).
    pub updated: String,
}

impl RunState {
    /// Reads `dir/state.json`; `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        run_info::read_json(&dir.join(STATE), "a run state")
    }
}

/// The host name (`/proc/sys/kernel/hostname` or `$HOSTNAME`), empty where neither says.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The files of a run that `dir` holds (none: no run there).
pub fn run_files(dir: &Path) -> Vec<&'static str> {
    [run_info::FILE, METRICS, CHECKPOINT, FINAL_MODEL]
        .into_iter()
        .filter(|f| dir.join(f).exists())
        .collect()
}

/// Fails when `dir` already holds (part of) a run.
pub fn refuse_existing_run(dir: &Path) -> Result<()> {
    let found = run_files(dir);
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::Run {
        path: dir.to_path_buf(),
        reason: format!(
            "already holds a run ({}); resume it from {}, replace it, or choose another folder",
            found.join(", "),
            dir.join(CHECKPOINT).display()
        ),
    })
}

/// `elapsed_seconds` of the last line of a metrics file, 0 when there is none.
pub fn last_elapsed(path: &Path) -> f64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
            serde_json::from_str::<serde_json::Value>(last)
                .ok()?
                .get("elapsed_seconds")?
                .as_f64()
        })
        .unwrap_or(0.0)
}

/// The files of a run folder as one run writes them: nothing until its first checkpoint (so a run
/// that fails early replaces nothing), then run.json, the metrics and the checkpoints.
pub(crate) struct RunDir {
    dir: PathBuf,
    /// What run.json says.
    info: RunInfo,
    /// `metrics.jsonl`, opened with the first checkpoint.
    metrics: Option<File>,
    /// A new run replaces an old run's metrics and final model; a resumed one appends.
    fresh: bool,
}

impl RunDir {
    pub(crate) fn new(dir: PathBuf, info: RunInfo, fresh: bool) -> Result<Self> {
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            info,
            metrics: None,
            fresh,
        })
    }

    pub(crate) fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Writes run.json, and for a new run removes an old run's final model and empties the
    /// metrics, the first time the run has something to keep.
    fn start(&mut self) -> Result<&mut File> {
        if self.metrics.is_none() {
            self.info.write(&self.dir)?;
            let stale = self.path(FINAL_MODEL);
            if self.fresh && stale.exists() {
                std::fs::remove_file(&stale).map_err(|source| Error::Io {
                    path: stale,
                    source,
                })?;
            }
            let path = self.path(METRICS);
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .append(!self.fresh)
                .truncate(self.fresh)
                .open(&path)
                .map_err(|source| Error::Io { path, source })?;
            self.metrics = Some(file);
        }
        Ok(self.metrics.as_mut().expect("opened above"))
    }

    /// Records a finished epoch: the checkpoint first (a metrics line never claims an epoch that
    /// was not saved), then its metrics line.
    pub(crate) fn epoch_done(&mut self, model: &Model, m: &EpochMetrics) -> Result<()> {
        self.start()?;
        model.save(&self.path(CHECKPOINT))?;
        let line = serde_json::to_string(m).expect("metrics serialise") + "\n";
        let path = self.path(METRICS);
        let file = self.start()?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|source| Error::Io { path, source })
    }

    /// Saves a checkpoint inside an epoch, with the position and the statistics so far.
    pub(crate) fn save_mid_epoch(&mut self, model: &Model, progress: &EpochProgress) -> Result<()> {
        self.start()?;
        let bytes = model.to_bytes_with(&progress.metadata())?;
        write_atomic(&self.path(CHECKPOINT), &bytes)
    }

    /// Writes `state.json`.
    pub(crate) fn set_state(&self, state: RunState) -> Result<()> {
        let text = serde_json::to_string(&state).expect("state serialises") + "\n";
        write_atomic(&self.path(STATE), text.as_bytes())
    }

    /// A `state.json` for this process, now.
    pub(crate) fn state(
        phase: Phase,
        epoch: usize,
        epochs: usize,
        batch: usize,
        batches: usize,
    ) -> RunState {
        RunState {
            state: phase,
            epoch,
            epochs,
            batch,
            batches,
            error: None,
            pid: std::process::id(),
            host: host_name(),
            updated: utc_now(),
        }
    }
}
