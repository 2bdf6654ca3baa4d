//! The figure of a sweep: accuracy against the swept value, one position per grid point (evenly
//! spaced, so α_W's decades read as a log axis, like the paper's Fig 7), with the final test, best
//! test and final training accuracy of each point. Points without results (pending, or failed in
//! their first epoch) leave a gap.

use anyhow::{Result, ensure};

use super::chart::{LegendAt, Line, Panel, Stroke, XAxis, colour, padded_range};
use super::figure::Figure;
use crate::sweep::summary::{PointResult, Summary};

/// The accuracy figure of `summary`.
pub fn figure(summary: &Summary, command: &str) -> Result<Figure> {
    let results: Vec<(f64, &PointResult)> = summary
        .points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.result.as_ref().map(|r| (i as f64, r)))
        .collect();
    ensure!(
        !results.is_empty(),
        "the sweep has no finished point to plot yet"
    );
    let line = |label: &str, c, stroke, y: fn(&PointResult) -> f64| Line {
        label: Some(label.to_string()),
        colour: colour(c),
        stroke,
        markers: true,
        points: results.iter().map(|(x, r)| (*x, 100.0 * y(r))).collect(),
    };
    // The best epoch first, so that the last epoch's line stays visible where they coincide.
    let lines = vec![
        line("test, best epoch", 2, Stroke::Dashed, |r| {
            r.best_test_accuracy
        }),
        line("test, after the last epoch", 0, Stroke::Solid, |r| {
            r.final_test_accuracy
        }),
        line("train, last epoch", 1, Stroke::Dashed, |r| {
            r.final_train_accuracy
        }),
    ];
    let y_range = padded_range(
        lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)),
        0.12,
    )
    .unwrap_or(0.0..100.0);
    let n = summary.points.len();
    let epochs = results.iter().map(|(_, r)| r.epochs).max().unwrap_or(0);
    let title = format!(
        "{} sweep ({}): {} on {}, {epochs} epoch{}",
        summary.title(),
        summary.paper_figure,
        summary.net,
        summary.dataset,
        if epochs == 1 { "" } else { "s" }
    );
    let panel = Panel {
        title: String::new(),
        x_label: summary.axis(),
        y_label: "accuracy (%)".into(),
        x_range: -0.5..n as f64 - 0.5,
        y_range: y_range.start.max(0.0)..y_range.end.min(100.5),
        x_axis: XAxis::Named(summary.points.iter().map(|p| p.label.clone()).collect()),
        lines,
        legend: LegendAt::LowerRight,
    };
    Figure::draw(1000, 620, &title, command, |area| panel.draw(area))
}
