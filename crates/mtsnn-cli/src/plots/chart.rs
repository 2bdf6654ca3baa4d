//! One panel of line plots, as every figure of this program draws them: a titled panel with
//! labelled axes, lines (solid or dashed, with point markers where wanted) and a legend. An axis of
//! named categories (a sweep's grid points) is a numeric axis whose integer ticks carry the names.

use std::ops::Range;

use anyhow::{Result, ensure};
use plotters::prelude::*;

use super::figure::Area;
use super::font::FAMILY;

/// Title, axis label and tick label sizes, pixels.
const TITLE_SIZE: u32 = 18;
const LABEL_SIZE: u32 = 17;
const TICK_SIZE: u32 = 14;

/// Colours that stay distinct for colour-blind readers (Okabe & Ito), in order of use.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(150, 150, 60),
];

/// The `i`-th colour of the palette (repeating after eight).
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// How a line is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stroke {
    Solid,
    Dashed,
}

/// One line of a panel.
pub struct Line {
    /// Legend entry; `None` for no entry.
    pub label: Option<String>,
    pub colour: RGBColor,
    pub stroke: Stroke,
    /// Draw a marker at every point (for short series, where a line alone hides the data).
    pub markers: bool,
    pub points: Vec<(f64, f64)>,
}

/// Where the legend goes.
#[derive(Clone, Copy, Debug)]
pub enum LegendAt {
    UpperLeft,
    UpperRight,
    LowerRight,
}

/// What the x axis shows.
#[derive(Clone, Debug, PartialEq)]
pub enum XAxis {
    /// Numbers.
    Numeric,
    /// Whole numbers (epochs): ticks between them stay unlabelled.
    Whole,
    /// Named positions 0, 1, … (a sweep's grid points).
    Named(Vec<String>),
}

/// One panel: axes, lines, legend.
pub struct Panel {
    /// Title above the panel; empty for none (a figure of one panel has the figure's title).
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: Range<f64>,
    pub y_range: Range<f64>,
    pub x_axis: XAxis,
    pub lines: Vec<Line>,
    pub legend: LegendAt,
}

impl Panel {
    /// Draws the panel on `area`.
    pub fn draw(&self, area: &Area) -> Result<()> {
        ensure!(
            self.x_range.end > self.x_range.start && self.y_range.end > self.y_range.start,
            "empty plot range for {:?}",
            self.title
        );
        let mut builder = ChartBuilder::on(area);
        if !self.title.is_empty() {
            builder.caption(&self.title, (FAMILY, TITLE_SIZE));
        }
        let mut chart = builder
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(self.x_range.clone(), self.y_range.clone())?;
        let axis = self.x_axis.clone();
        let name_of = move |x: &f64| {
            let i = x.round();
            let whole = (x - i).abs() < 1e-6;
            match &axis {
                XAxis::Numeric => format_tick(*x),
                XAxis::Whole if whole => format_tick(i),
                XAxis::Named(names) if whole && i >= 0.0 && (i as usize) < names.len() => {
                    names[i as usize].clone()
                }
                XAxis::Whole | XAxis::Named(_) => String::new(),
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .axis_desc_style((FAMILY, LABEL_SIZE))
            .label_style((FAMILY, TICK_SIZE))
            .light_line_style(RGBColor(235, 235, 235))
            .x_label_formatter(&name_of)
            .y_label_formatter(&|y| format_tick(*y));
        if let XAxis::Named(names) = &self.x_axis {
            mesh.x_labels(names.len()).disable_x_mesh();
        }
        mesh.draw()?;

        for line in &self.lines {
            let style = line.colour.stroke_width(2);
            let series = match line.stroke {
                Stroke::Solid => chart.draw_series(LineSeries::new(line.points.clone(), style))?,
                Stroke::Dashed => {
                    chart.draw_series(DashedLineSeries::new(line.points.clone(), 8, 5, style))?
                }
            };
            if let Some(label) = &line.label {
                let (colour, stroke) = (line.colour, line.stroke);
                series.label(label).legend(move |(x, y)| {
                    // Two segments, with a gap between them when the line is dashed.
                    let (a, b) = match stroke {
                        Stroke::Solid => (12, 12),
                        Stroke::Dashed => (8, 14),
                    };
                    let s = colour.stroke_width(2);
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (a, 0)], s)
                        + PathElement::new(vec![(b, 0), (24, 0)], s)
                });
            }
            if line.markers {
                chart.draw_series(
                    line.points
                        .iter()
                        .map(|&p| Circle::new(p, 4, line.colour.filled())),
                )?;
            }
        }
        if self.lines.iter().any(|l| l.label.is_some()) {
            let position = match self.legend {
                LegendAt::UpperLeft => SeriesLabelPosition::UpperLeft,
                LegendAt::UpperRight => SeriesLabelPosition::UpperRight,
                LegendAt::LowerRight => SeriesLabelPosition::LowerRight,
            };
            chart
                .configure_series_labels()
                .position(position)
                .label_font((FAMILY, TICK_SIZE))
                .background_style(WHITE.mix(0.7))
                .border_style(RGBColor(180, 180, 180))
                .draw()?;
        }
        Ok(())
    }
}

/// A tick value without trailing zeros: `0.5`, `12`, `0.001`.
fn format_tick(v: f64) -> String {
    let s = format!("{:.4}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// The smallest and largest finite value of `values`, widened by `pad` × the span on each side
/// (a flat series gets a span of 1); `None` when there is no finite value.
pub fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<Range<f64>> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    Some(lo - pad * span..hi + pad * span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_ranges() {
        assert_eq!(format_tick(0.5), "0.5");
        assert_eq!(format_tick(12.0), "12");
        assert_eq!(format_tick(-0.00001), "0");
        assert_eq!(padded_range([1.0, 3.0, f64::NAN], 0.5), Some(0.0..4.0));
        assert_eq!(padded_range([2.0], 0.1), Some(1.9..2.1));
        assert_eq!(padded_range([], 0.1), None);
    }
}
