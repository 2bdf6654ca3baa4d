//! `summary.json` and `summary.md` of a sweep directory: the sweep's command and settings, and
//! per grid point its run folder, the `train` command that made it, its status and its results
//! (from the run's `metrics.jsonl`). Rewritten after every point, so an interrupted sweep still
//! says how far it got.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::grid::Grid;
use crate::metrics::EpochRecord;

/// File names inside the sweep directory.
pub const JSON: &str = "summary.json";
pub const MARKDOWN: &str = "summary.md";
/// The figures a sweep writes beside its summary.
pub const ACCURACY_PNG: &str = "accuracy.png";
pub const CURVES_PNG: &str = "curves.png";

/// Where a point stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not trained (yet).
    Pending,
    /// Trained to the sweep's epochs; its folder holds the final model.
    Complete,
    /// Its `train` failed; `error` says why, `result` holds the epochs it finished.
    Failed,
}

/// What a finished (or partly finished) run achieved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Epochs recorded.
    pub epochs: usize,
    /// Test accuracy after the last epoch, 0..1.
    pub final_test_accuracy: f64,
    /// Best test accuracy after any epoch, and that epoch.
    pub best_test_accuracy: f64,
    pub best_epoch: usize,
    /// Training accuracy during the last epoch, 0..1.
    pub final_train_accuracy: f64,
    /// Mean training loss (eq 6) of the last epoch.
    pub final_train_loss: f64,
    /// Wall-clock seconds of the whole run (training and evaluation).
    pub seconds: f64,
}

impl PointResult {
    /// The result of the recorded epochs; `None` when there is none.
    pub fn from_epochs(epochs: &[EpochRecord]) -> Option<Self> {
        let last = epochs.last()?;
        let best = epochs.iter().max_by(|a, b| {
            a.test_accuracy
                .total_cmp(&b.test_accuracy)
                .then(b.epoch.cmp(&a.epoch))
        })?;
        Some(Self {
            epochs: last.epoch,
            final_test_accuracy: last.test_accuracy,
            best_test_accuracy: best.test_accuracy,
            best_epoch: best.epoch,
            final_train_accuracy: last.train_accuracy,
            final_train_loss: last.train_loss,
            seconds: last.elapsed_seconds,
        })
    }
}

/// One grid point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointSummary {
    /// The value of the swept option, as passed to `train`.
    pub value: String,
    /// Its name on the figure's axis.
    pub label: String,
    /// Its run folder, relative to the sweep directory.
    pub dir: String,
    /// The `train` command of the point (the last one run for it).
    pub train_command: String,
    pub status: Status,
    pub error: Option<String>,
    pub result: Option<PointResult>,
}

/// The whole sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub grid: Grid,
    /// The paper's figure the grid repeats.
    pub paper_figure: String,
    /// The swept `train` option, e.g. `--s-max`.
    pub option: String,
    /// The `mtsnn sweep` command line.
    pub command: String,
    /// `train` options shared by all points: those given to the sweep and those the grid fixes.
    pub settings: Vec<String>,
    pub net: String,
    pub dataset: String,
    /// Epochs each point trains.
    pub epochs: usize,
    pub points: Vec<PointSummary>,
}

impl Summary {
    /// Reads `dir/summary.json`; `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(JSON);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let summary = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a sweep summary of mtsnn", path.display()))?;
        Ok(Some(summary))
    }

    /// Writes `summary.json` and `summary.md` into `dir`, each atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).context("encoding the sweep summary")? + "\n";
        mtsnn_core::checkpoint::write_atomic(&dir.join(JSON), json.as_bytes())?;
        mtsnn_core::checkpoint::write_atomic(&dir.join(MARKDOWN), self.markdown().as_bytes())?;
        Ok(())
    }

    /// The summary as a Markdown table with the commands.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Sweep `{}` ({}): {} on {}, {} epochs per point\n",
            self.grid, self.paper_figure, self.net, self.dataset, self.epochs
        );
        let _ = writeln!(md, "Made with:\n\n```\n{}\n```\n", self.command);
        let settings = if self.settings.is_empty() {
            "(train's defaults)".to_string()
        } else {
            format!("`{}`", self.settings.join(" "))
        };
        let _ = writeln!(
            md,
            "Swept option: `{}`. Settings of every point: {settings}. Accuracies in %; \
             \"best test\" is the best test accuracy after any epoch; \"train\" is measured during \
             the last epoch; seconds are wall-clock for training and testing.\n",
            self.option
        );
        md += "| point | status | epochs | final test | best test (epoch) | train | train loss | seconds | folder |\n";
        md += "|---|---|---:|---:|---:|---:|---:|---:|---|\n";
        for p in &self.points {
            let status = match (&p.status, &p.error) {
                (Status::Failed, Some(e)) => format!("failed: {}", e.replace('|', "\\|")),
                (s, _) => format!("{s:?}").to_lowercase(),
            };
            let cells = match &p.result {
                Some(r) => format!(
                    "{} | {:.2} | {:.2} ({}) | {:.2} | {:.4} | {:.1}",
                    r.epochs,
                    100.0 * r.final_test_accuracy,
                    100.0 * r.best_test_accuracy,
                    r.best_epoch,
                    100.0 * r.final_train_accuracy,
                    r.final_train_loss,
                    r.seconds
                ),
                None => "– | – | – | – | – | –".to_string(),
            };
            let _ = writeln!(
                md,
                "| {} = {} | {status} | {cells} | [{}]({}/) |",
                self.grid.symbol(),
                p.label,
                p.dir,
                p.dir
            );
        }
        let _ = writeln!(
            md,
            "\nFigures: [{ACCURACY_PNG}]({ACCURACY_PNG}) (accuracy against {}), \
             [{CURVES_PNG}]({CURVES_PNG}) (learning curves of every point).\n\nTrain commands:\n",
            self.grid.symbol()
        );
        for p in &self.points {
            let _ = writeln!(md, "- `{}`: `{}`", p.dir, p.train_command);
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, test: f64) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: 2.0 / epoch as f64,
            train_accuracy: 0.5 + 0.1 * epoch as f64,
            test_accuracy: test,
            elapsed_seconds: 10.0 * epoch as f64,
        }
    }

    #[test]
    fn result_takes_the_last_and_the_first_best_epoch() {
        let r = PointResult::from_epochs(&[
            record(1, 0.7),
            record(2, 0.8),
            record(3, 0.8),
            record(4, 0.75),
        ])
        .unwrap();
        assert_eq!((r.epochs, r.best_epoch), (4, 2));
        assert_eq!((r.final_test_accuracy, r.best_test_accuracy), (0.75, 0.8));
        assert_eq!((r.final_train_loss, r.seconds), (0.5, 40.0));
        assert!(PointResult::from_epochs(&[]).is_none());
    }

    #[test]
    fn markdown_lists_every_point() {
        let point = |v: &str, status, result| PointSummary {
            value: v.into(),
            label: v.into(),
            dir: format!("steps-{v}"),
            train_command: format!("mtsnn train --steps {v}"),
            status,
            error: (status == Status::Failed).then(|| "loss | NaN".to_string()),
            result,
        };
        let s = Summary {
            grid: Grid::Steps,
            paper_figure: "Fig 9".into(),
            option: "--steps".into(),
            command: "mtsnn sweep --grid steps".into(),
            settings: vec!["--s-max".into(), "1".into()],
            net: "784-10".into(),
            dataset: "mnist".into(),
            epochs: 1,
            points: vec![
                point(
                    "1",
                    Status::Complete,
                    PointResult::from_epochs(&[record(1, 0.9)]),
                ),
                point("2", Status::Failed, None),
                point("3", Status::Pending, None),
            ],
        };
        let md = s.markdown();
        assert!(
            md.contains("| time steps T = 1 | complete | 1 | 90.00 | 90.00 (1) | 60.00 |"),
            "{md}"
        );
        assert!(md.contains("failed: loss \\| NaN"), "{md}");
        assert!(md.contains("| time steps T = 3 | pending |"), "{md}");
        assert!(
            md.contains("`--s-max 1`") && md.contains("mtsnn train --steps 2"),
            "{md}"
        );
        let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
