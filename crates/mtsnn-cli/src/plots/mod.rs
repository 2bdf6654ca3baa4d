//! Figures as PNG files, drawn with plotters: the paper's Figs 4–5 (spike count and surrogates),
//! learning curves of runs, and the accuracy of a sweep against its grid (Figs 6–9). Every figure
//! names the command that made it, in its caption and in the PNG's `Comment` text chunk.

pub mod chart;
pub mod curves;
pub mod figure;
pub mod font;
pub mod surrogates;
pub mod sweep;
