//! Learning curves of one or more runs from their `metrics.jsonl`: accuracy against epoch (test
//! solid, train dashed, one colour per run) and the training loss of eq 6 against epoch (`train`
//! records no test loss: the test set is only classified); and, for runs that record it, the
//! least-firing output neuron: the share of test inputs on which it fires, 0 while its class is
//! dead.

use std::path::Path;

use anyhow::Result;
use plotters::style::RGBColor;

use super::chart::{LegendAt, Line, Panel, Stroke, XAxis, colour, padded_range};
use super::figure::Figure;
use crate::metrics::{self, EpochRecord};

/// The recorded epochs of one run and the name it has in the legend.
#[derive(Clone, Debug)]
pub struct RunCurves {
    pub label: String,
    pub epochs: Vec<EpochRecord>,
}

impl RunCurves {
    /// Reads `dir/metrics.jsonl`; the run is called `label`.
    pub fn read(dir: &Path, label: String) -> Result<Self> {
        Ok(Self {
            label,
            epochs: metrics::read(dir)?,
        })
    }
}

/// The figure of `runs` with the overall title `title`.
pub fn figure(runs: &[RunCurves], title: &str, command: &str) -> Result<Figure> {
    let epochs = || runs.iter().flat_map(|r| r.epochs.iter());
    let last_epoch = epochs().map(|e| e.epoch).max().unwrap_or(1) as f64;
    let x_range = 0.5..last_epoch + 0.5;
    let accuracy = epochs().flat_map(|e| [e.train_accuracy, e.test_accuracy].map(|a| 100.0 * a));
    let acc_range = padded_range(accuracy, 0.08).unwrap_or(0.0..100.0);
    let acc_range = acc_range.start.max(0.0)..acc_range.end.min(100.5);
    let loss_range = padded_range(epochs().map(|e| e.train_loss), 0.08).unwrap_or(0.0..1.0);
    let series = |run: &RunCurves, y: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        run.epochs.iter().map(|e| (e.epoch as f64, y(e))).collect()
    };
    let markers = last_epoch <= 30.0;

    // The legend names each run once, by colour, and the two strokes once, in grey.
    let key = |label: &str, stroke| Line {
        label: Some(label.to_string()),
        colour: RGBColor(110, 110, 110),
        stroke,
        markers: false,
        points: Vec::new(),
    };
    let mut acc_lines = vec![
        key("test (after each epoch)", Stroke::Solid),
        key("train (during each epoch)", Stroke::Dashed),
    ];
    let mut loss_lines = Vec::new();
    let mut firing_lines = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let least: Vec<(f64, f64)> = run
            .epochs
            .iter()
            .filter(|e| !e.output_firing.is_empty())
            .map(|e| {
                let min = e
                    .output_firing
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min);
                (e.epoch as f64, 100.0 * min)
            })
            .collect();
        if !least.is_empty() {
            firing_lines.push(Line {
                label: Some(run.label.clone()),
                colour: colour(i),
                stroke: Stroke::Solid,
                markers,
                points: least,
            });
        }
        acc_lines.push(Line {
            label: Some(run.label.clone()),
            colour: colour(i),
            stroke: Stroke::Solid,
            markers,
            points: series(run, |e| 100.0 * e.test_accuracy),
        });
        acc_lines.push(Line {
            label: None,
            colour: colour(i),
            stroke: Stroke::Dashed,
            markers: false,
            points: series(run, |e| 100.0 * e.train_accuracy),
        });
        loss_lines.push(Line {
            label: Some(run.label.clone()),
            colour: colour(i),
            stroke: Stroke::Solid,
            markers,
            points: series(run, |e| e.train_loss),
        });
    }
    let accuracy = Panel {
        title: "accuracy".into(),
        x_label: "epoch".into(),
        y_label: "accuracy (%)".into(),
        x_range: x_range.clone(),
        y_range: acc_range,
        x_axis: XAxis::Whole,
        lines: acc_lines,
        legend: LegendAt::LowerRight,
    };
    let loss = Panel {
        title: "training loss (eq 6)".into(),
        x_label: "epoch".into(),
        y_label: "mean loss per sample".into(),
        x_range: x_range.clone(),
        y_range: loss_range,
        x_axis: XAxis::Whole,
        lines: loss_lines,
        legend: LegendAt::UpperRight,
    };
    if firing_lines.is_empty() {
        return Figure::draw(1400, 600, title, command, |area| {
            let halves = area.split_evenly((1, 2));
            accuracy.draw(&halves[0])?;
            loss.draw(&halves[1])
        });
    }
    let firing = Panel {
        title: "least-firing output neuron (0: a dead class)".into(),
        x_label: "epoch".into(),
        y_label: "test inputs it fires on (%)".into(),
        x_range,
        y_range: -2.0..102.0,
        x_axis: XAxis::Whole,
        lines: firing_lines,
        legend: LegendAt::UpperRight,
    };
    Figure::draw(2000, 600, title, command, |area| {
        let thirds = area.split_evenly((1, 3));
        accuracy.draw(&thirds[0])?;
        loss.draw(&thirds[1])?;
        firing.draw(&thirds[2])
    })
}
