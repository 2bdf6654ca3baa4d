//! Tests of the `mtsnn` binary: whole runs on generated data, and bad input of every kind.
//! One test binary (one link), its parts in modules.

mod bad_input;
mod cnn;
mod common;
mod end_to_end;
mod figures;
mod hardening;
mod protocol;
mod spike_stats;
mod sweeps;
