//! Sweeps: many `mtsnn train` runs, one per point of a grid (the paper's performance analysis of
//! Section III-D, its protocol of repeated seeds, or any options), on this machine or a Slurm
//! cluster. The command is `commands::sweep`; here are the grids, the manifest, the summary, one
//! point's run and state, and the executors.

pub mod child;
pub mod grid;
pub mod local;
pub mod manifest;
pub mod point;
pub mod slurm;
pub mod summary;
