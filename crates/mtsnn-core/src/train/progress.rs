//! Where an interrupted epoch stopped: what a mid-epoch checkpoint adds to its metadata, so that
//! resuming continues the same epoch (its order is redrawn from the run's seed and the epoch) at
//! the next batch, and the epoch's metrics count every batch once.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::read_metadata;
use crate::error::{Error, Result};
use crate::model::Model;

/// Metadata key of a mid-epoch checkpoint's [`EpochProgress`] (JSON).
pub const META_PROGRESS: &str = "epoch_progress";

/// The part of an epoch done when its checkpoint was written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochProgress {
    /// The epoch in progress (1-based; the model has finished `epoch − 1`).
    pub epoch: usize,
    /// Batches of it done.
    pub batches: usize,
    /// Σ over those batches of (batch loss × batch size).
    pub loss_sum: f64,
    /// Training samples of those batches predicted correctly.
    pub correct: usize,
    /// Seconds spent training them.
    pub train_seconds: f64,
}

impl EpochProgress {
    /// The metadata entry that holds it.
    pub(crate) fn metadata(&self) -> Vec<(String, String)> {
        let json = serde_json::to_string(self).expect("progress serialises");
        vec![(META_PROGRESS.to_string(), json)]
    }
}

/// Reads a checkpoint: the model and, when it was written inside an epoch, where.
pub fn load_checkpoint(path: &Path) -> Result<(Model, Option<EpochProgress>)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let model = Model::from_bytes(&bytes, path)?;
    let progress = match read_metadata(&bytes, path)?.get(META_PROGRESS) {
        None => None,
        Some(json) => {
            let p: EpochProgress = serde_json::from_str(json).map_err(|e| Error::Checkpoint {
                path: path.to_path_buf(),
                reason: format!("{META_PROGRESS}: {e}"),
            })?;
            if p.epoch != model.epoch + 1 {
                return Err(Error::Checkpoint {
                    path: path.to_path_buf(),
                    reason: format!(
                        "it stops inside epoch {} but holds {} finished epochs",
                        p.epoch, model.epoch
                    ),
                });
            }
            Some(p)
        }
    };
    Ok((model, progress))
}
