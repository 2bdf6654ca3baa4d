//! Sweeps: one `mtsnn train` run per value of one option, as in the paper's performance analysis
//! (Section III-D, Figs 6–9), with a summary and figures. The command is `commands::sweep`; here
//! are the grids, the summary files and the running of one point.

pub mod child;
pub mod grid;
pub mod summary;
