//! `summary.json` and `summary.md` of a sweep directory: the sweep's command and settings, and
//! per point its run folder, the `train` command that makes it, its status and its results (from
//! the run's `metrics.jsonl`), rebuilt from the folders by `mtsnn sweep summary` and at the end of
//! a local sweep. The same structure without results is the manifest (`manifest.rs`).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::grid::Grid;
use super::manifest::KeepExport;
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

/// Mean, sample standard deviation (n − 1 in the denominator), min and max of n numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub mean: f64,
    /// `None` for a single number.
    pub std: Option<f64>,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `xs`; `None` when it is empty.
    pub fn of(xs: &[f64]) -> Option<Self> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let std = (n > 1)
            .then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        Some(Self {
            n,
            mean,
            std,
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }

    /// Accuracies 0..1 in percent: `99.13 ± 0.04 % (min 99.08 %, max 99.18 %)`.
    /// One run: `89.44 % (one run, no std)`.
    pub fn percent(&self) -> String {
        match self.std {
            Some(s) => format!(
                "{:.2} ± {:.2} % (min {:.2} %, max {:.2} %)",
                100.0 * self.mean,
                100.0 * s,
                100.0 * self.min,
                100.0 * self.max
            ),
            None => format!("{:.2} % (one run, no std)", 100.0 * self.mean),
        }
    }
}

/// One point of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointSummary {
    /// The values of the swept options, comma-separated, as passed to `train`.
    pub value: String,
    /// The swept options' ids and values (older summaries: empty).
    #[serde(default)]
    pub settings: Vec<(String, String)>,
    /// The `train` arguments of the point, without --resume and --force (which `run-point` adds).
    #[serde(default)]
    pub train_args: Vec<String>,
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
    /// The paper's grid the sweep runs (`--grid`), if any.
    pub grid: Option<Grid>,
    /// What a complete point keeps in place of its full model.
    #[serde(default)]
    pub keep_export: KeepExport,
    /// The paper's figure the grid repeats.
    pub paper_figure: String,
    /// The swept `train` options, e.g. `--s-max` or `--lr × --seed`.
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
    /// The sweep's name: its grid's, or the swept options'.
    pub fn title(&self) -> String {
        self.grid
            .map_or_else(|| self.option.clone(), |g| g.name().to_string())
    }

    /// What the points differ in, for a figure's axis.
    pub fn axis(&self) -> String {
        match self.grid {
            Some(g) if !self.option.contains('×') => g.symbol().to_string(),
            _ => self.option.clone(),
        }
    }

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

    /// The name of point `p` in tables: `S_max = 7` for a paper's grid, else its label.
    pub fn name(&self, p: &PointSummary) -> String {
        match self.grid {
            Some(g) if p.settings.len() <= 1 => format!("{} = {}", g.symbol(), p.label),
            _ => p.label.clone(),
        }
    }

    /// The names of `points` in one phrase: `gradient = paper, bptt` for a paper's grid, else
    /// their labels joined.
    pub fn names(&self, points: &[&PointSummary]) -> String {
        match self.grid {
            Some(g) if points.iter().all(|p| p.settings.len() <= 1) => {
                let labels: Vec<&str> = points.iter().map(|p| p.label.as_str()).collect();
                format!("{} = {}", g.symbol(), labels.join(", "))
            }
            _ => points
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// For a sweep over seeds: per group of points that differ only by their seed, the final test
    /// accuracy over the runs that trained all the sweep's epochs (mean ± sample std, min, max,
    /// n), the best epoch's separately and labelled as chosen on the test set, and the runs not
    /// complete. `None` when no seed is swept.
    pub fn seed_statistics(&self) -> Option<Vec<String>> {
        let seeded = |p: &PointSummary| {
            p.settings.iter().any(|(k, _)| k == "seed")
                || (p.settings.is_empty() && self.grid == Some(Grid::Seed))
        };
        if !self.points.iter().any(seeded) {
            return None;
        }
        let group_of = |p: &PointSummary| -> Vec<(String, String)> {
            p.settings
                .iter()
                .filter(|(k, _)| k != "seed")
                .cloned()
                .collect()
        };
        let mut groups: Vec<Vec<(String, String)>> = Vec::new();
        for p in &self.points {
            let g = group_of(p);
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        let mut lines = Vec::new();
        for group in &groups {
            let members: Vec<&PointSummary> = self
                .points
                .iter()
                .filter(|p| group_of(p) == *group)
                .collect();
            let done: Vec<&PointResult> = members
                .iter()
                .filter_map(|p| p.result.as_ref())
                .filter(|r| r.epochs >= self.epochs)
                .collect();
            let prefix = if group.is_empty() {
                String::new()
            } else {
                let names: Vec<String> = group
                    .iter()
                    .map(|(k, v)| format!("{}={v}", k.replace('_', "-")))
                    .collect();
                format!("[{}] ", names.join(", "))
            };
            let finals: Vec<f64> = done.iter().map(|r| r.final_test_accuracy).collect();
            match Spread::of(&finals) {
                Some(f) => {
                    let best: Vec<f64> = done.iter().map(|r| r.best_test_accuracy).collect();
                    let b = Spread::of(&best).expect("as many as the finals");
                    let epochs: Vec<String> =
                        done.iter().map(|r| r.best_epoch.to_string()).collect();
                    lines.push(format!(
                        "{prefix}Final test accuracy (after epoch {}), mean ± sample std over n = {} of {} runs: {}",
                        self.epochs,
                        f.n,
                        members.len(),
                        f.percent()
                    ));
                    lines.push(format!(
                        "{prefix}Best epoch's test accuracy, chosen on the test set (optimistic): {} at epochs {}",
                        b.percent(),
                        epochs.join(", ")
                    ));
                }
                None => lines.push(format!(
                    "{prefix}No run has trained all {} epochs yet: no statistics.",
                    self.epochs
                )),
            }
            let open: Vec<String> = members
                .iter()
                .filter(|p| p.result.as_ref().is_none_or(|r| r.epochs < self.epochs))
                .map(|p| {
                    let state = match (&p.result, p.status) {
                        (_, Status::Failed) => "failed".to_string(),
                        (Some(r), _) => format!("epoch {} of {}", r.epochs, self.epochs),
                        (None, _) => "not started".to_string(),
                    };
                    format!("{} ({state})", self.name(p))
                })
                .collect();
            if !open.is_empty() {
                lines.push(format!("{prefix}Not complete: {}.", open.join(", ")));
            }
        }
        Some(lines)
    }

    /// The summary as a Markdown table with the commands.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Sweep `{}` ({}): {} on {}, {} epochs per point\n",
            self.title(),
            self.paper_figure,
            self.net,
            self.dataset,
            self.epochs
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
                "| {} | {status} | {cells} | [{}]({}/) |",
                self.name(p),
                p.dir,
                p.dir
            );
        }
        if let Some(lines) = self.seed_statistics() {
            md += "\n";
            for line in lines {
                let _ = writeln!(md, "{line}\n");
            }
        }
        let _ = writeln!(
            md,
            "\nFigures: [{ACCURACY_PNG}]({ACCURACY_PNG}) (accuracy against {}), \
             [{CURVES_PNG}]({CURVES_PNG}) (learning curves of every point).\n\nTrain commands:\n",
            self.axis()
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
            output_firing: Vec::new(),
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
    fn spread_is_mean_sample_std_min_max() {
        let s = Spread::of(&[0.99, 0.98, 0.97]).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mean - 0.98).abs() < 1e-12);
        assert!(
            (s.std.unwrap() - 0.01).abs() < 1e-12,
            "n − 1 in the denominator"
        );
        assert_eq!((s.min, s.max), (0.97, 0.99));
        assert_eq!(s.percent(), "98.00 ± 1.00 % (min 97.00 %, max 99.00 %)");
        let one = Spread::of(&[0.5]).unwrap();
        assert_eq!(one.std, None);
        assert_eq!(one.percent(), "50.00 % (one run, no std)");
        assert!(Spread::of(&[]).is_none());
    }

    #[test]
    fn seed_statistics_count_complete_runs_only() {
        let point = |v: &str, status, result| PointSummary {
            value: v.into(),
            label: v.into(),
            dir: format!("seed-{v}"),
            settings: vec![("seed".into(), v.into())],
            train_args: vec![],
            train_command: format!("mtsnn train --seed {v}"),
            status,
            error: None,
            result,
        };
        let mut s = Summary {
            grid: Some(Grid::Seed),
            keep_export: KeepExport::None,
            paper_figure: "repeated runs".into(),
            option: "--seed".into(),
            command: "mtsnn sweep --grid seed".into(),
            settings: vec![],
            net: "784-10".into(),
            dataset: "mnist".into(),
            epochs: 2,
            points: vec![
                point(
                    "1",
                    Status::Complete,
                    PointResult::from_epochs(&[record(1, 0.9), record(2, 0.8)]),
                ),
                point(
                    "2",
                    Status::Complete,
                    PointResult::from_epochs(&[record(1, 0.7), record(2, 0.9)]),
                ),
                point(
                    "3",
                    Status::Pending,
                    PointResult::from_epochs(&[record(1, 0.99)]),
                ),
                point("4", Status::Pending, None),
            ],
        };
        let lines = s.seed_statistics().unwrap();
        assert_eq!(
            lines[0],
            "Final test accuracy (after epoch 2), mean ± sample std over n = 2 of 4 runs: \
             85.00 ± 7.07 % (min 80.00 %, max 90.00 %)"
        );
        assert_eq!(
            lines[1],
            "Best epoch's test accuracy, chosen on the test set (optimistic): 90.00 ± 0.00 % \
             (min 90.00 %, max 90.00 %) at epochs 1, 2"
        );
        assert_eq!(
            lines[2],
            "Not complete: seed = 3 (epoch 1 of 2), seed = 4 (not started)."
        );
        assert!(s.markdown().contains(&lines[0]));
        for p in &mut s.points {
            p.settings[0].0 = "steps".into();
        }
        s.grid = Some(Grid::Steps);
        assert!(s.seed_statistics().is_none());
    }

    #[test]
    fn markdown_lists_every_point() {
        let point = |v: &str, status, result| PointSummary {
            value: v.into(),
            label: v.into(),
            dir: format!("steps-{v}"),
            settings: vec![("steps".into(), v.into())],
            train_args: vec![],
            train_command: format!("mtsnn train --steps {v}"),
            status,
            error: (status == Status::Failed).then(|| "loss | NaN".to_string()),
            result,
        };
        let s = Summary {
            grid: Some(Grid::Steps),
            keep_export: KeepExport::None,
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
