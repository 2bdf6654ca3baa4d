//! Reading back a run's `metrics.jsonl` (one JSON object per epoch, written by `mtsnn train`), for
//! the figures of `mtsnn plot curves` and the summaries of `mtsnn sweep`.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use serde::Deserialize;

use mtsnn_core::train::run_dir::METRICS;

/// The fields of one `metrics.jsonl` line that the figures and summaries use.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    /// Mean loss (eq 6) per training sample during the epoch.
    pub train_loss: f64,
    /// Training accuracy during the epoch, 0..1.
    pub train_accuracy: f64,
    /// Test accuracy after the epoch, 0..1.
    pub test_accuracy: f64,
    /// Seconds since the run started (resumed runs included).
    pub elapsed_seconds: f64,
    /// Per class, the share of test inputs on which its output neuron fires (empty in older runs).
    #[serde(default)]
    pub output_firing: Vec<f64>,
}

/// The epochs recorded in `dir/metrics.jsonl`, in order of epoch. A resumed run may have appended
/// an epoch twice (resumed from an older checkpoint): the last line of an epoch wins.
pub fn read(dir: &Path) -> Result<Vec<EpochRecord>> {
    let path = dir.join(METRICS);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut records: Vec<EpochRecord> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: EpochRecord = serde_json::from_str(line).with_context(|| {
            format!(
                "{} line {}: not a metrics line of mtsnn train",
                path.display(),
                i + 1
            )
        })?;
        records.retain(|r| r.epoch != record.epoch);
        records.push(record);
    }
    ensure!(!records.is_empty(), "{} holds no epoch", path.display());
    records.sort_by_key(|r| r.epoch);
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(epoch: usize, test: f64) -> String {
        format!(
            "{{\"epoch\":{epoch},\"train_loss\":1.5,\"train_accuracy\":0.5,\"test_accuracy\":{test},\
             \"test_correct\":1,\"elapsed_seconds\":{epoch}.0}}\n"
        )
    }

    #[test]
    fn reads_epochs_in_order_and_the_last_repeat_wins() {
        let dir = std::env::temp_dir().join(format!("mtsnn-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = line(1, 0.1) + &line(2, 0.2) + &line(2, 0.25) + "\n";
        std::fs::write(dir.join(METRICS), text).unwrap();
        let r = read(&dir).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].epoch, r[1].epoch, r[1].test_accuracy), (1, 2, 0.25));

        std::fs::write(dir.join(METRICS), "{\"epoch\": 1}\n").unwrap();
        let err = format!("{:#}", read(&dir).unwrap_err());
        assert!(err.contains("line 1"), "{err}");
        std::fs::write(dir.join(METRICS), "").unwrap();
        assert!(read(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
