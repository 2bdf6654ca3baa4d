//! `mtsnn`: trains, evaluates, runs and benchmarks multi-threshold spiking neural networks
//! (Xu et al., direct training with 1–2 time steps) on MNIST and FashionMNIST.
//!
//! Exit codes: 0 on success, 1 on any error (printed as `error: …` with its causes), 2 for a
//! malformed command line, 75 for a training stopped by a signal after saving its checkpoint
//! (`commands::train::INTERRUPTED`: resume it), 130 for a second Ctrl-C.
//!
//! The program is this library's [`main`] (`src/main.rs` calls it); [`parsers`] exposes the
//! readers of untrusted files to the fuzz targets in `fuzz/`.

mod command_line;
mod commands;
mod data;
mod hyper_args;
mod metrics;
mod plots;
mod progress;
mod signals;
mod spike_report;
mod sweep;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

/// The readers of files a user hands to `mtsnn`, working on bytes: the fuzz targets call them.
pub mod parsers {
    pub use crate::commands::infer::{Invert, colour_pixels, gray_pixels};
    pub use crate::data::cifar::parse as cifar;
    pub use crate::data::idx::{Idx, decode as idx};
}

/// Command line of `mtsnn`.
#[derive(Debug, Parser)]
#[command(
    name = "mtsnn",
    version,
    about = "Train, evaluate, run and benchmark multi-threshold spiking neural networks",
    long_about = "Train, evaluate, run and benchmark multi-threshold spiking neural networks \
                  (Xu et al., \"Direct Training via Backpropagation for Ultra-low Latency Spiking \
                  Neural Networks with Multi-threshold\") on MNIST and FashionMNIST. \
                  Get the data with scripts/fetch-data.sh."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Threads of the CPU kernels [default: every core, or RAYON_NUM_THREADS]
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// The GPU adapter to use: its index in `mtsnn adapters` or a part of its name (sets
    /// MTSNN_ADAPTER) [default: the best; in a Slurm task, the GPU allocated to it]
    #[arg(long, global = true, value_name = "INDEX|NAME")]
    adapter: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Train a network; writes metrics.jsonl, checkpoint.safetensors, model.safetensors and run.json
    ///
    /// The training and test sets are handed to the backend once (a GPU keeps them on the device, 1
    /// byte per pixel, unless a set exceeds one storage binding). Each epoch only the shuffled
    /// order and every sample's crop and flip are sent; the backend gathers each batch itself,
    /// and the epoch's losses and hits, and the test set's outputs, come back once per epoch.
    /// The progress bar counts the samples the device has finished, and the loss and accuracy are
    /// printed when the epoch ends.
    Train(commands::train::TrainArgs),
    /// Test-set accuracy of a saved model; with --stats its spike statistics, SynOps and energy
    /// estimate
    Eval(commands::eval::EvalArgs),
    /// Classify image files with a saved model and show its output spikes
    Infer(commands::infer::InferArgs),
    /// Training samples/s and batch-1 inference latency, on the network's data set where it is on
    /// disk, else on random data
    ///
    /// Training is measured twice: batch by batch (`train_batch`, one host round trip each) and in
    /// epoch mode, as `train` runs (the data on the backend, a pass of --epoch-batches batches read
    /// back once). With --profile a GPU backend also reports its counters per batch (launches,
    /// submissions, host waits, bytes up and down) and each kernel's GPU time.
    Bench(commands::bench::BenchArgs),
    /// Write an inference-only copy of a model (F16 weights, data set and normalisation in the metadata)
    Export(commands::export::ExportArgs),
    /// Figures as PNG: the surrogates of eq 14–16 (Figs 4–5), learning curves, a sweep's accuracy
    Plot(commands::plot::PlotArgs),
    /// Many training runs, one per point of a grid (the paper's Figs 6–9 and repeated seeds, or
    /// --set over any option), here or as a Slurm job array; re-running continues a sweep
    Sweep(Box<commands::sweep::SweepArgs>),
    /// The GPU adapters this machine offers, in the order --adapter INDEX counts them, and which
    /// one `--backend gpu` would use
    Adapters,
}

/// Runs `mtsnn` with this process's arguments; the exit code is the process's.
pub fn main() -> ExitCode {
    // Parsed once (clap exits with code 2 on usage errors).
    let matches = Cli::command().get_matches();
    // Before any thread exists (setting a variable races with other threads reading the environment).
    let _runtime_dir = RuntimeDir::for_gpu_probe(&matches);
    if let Some(adapter) = matches.get_one::<String>("adapter") {
        // SAFETY: as in `RuntimeDir::for_gpu_probe`, while this is the only thread.
        unsafe { std::env::set_var(mtsnn_core::gpu::ADAPTER_VAR, adapter) };
    }
    match run(&matches) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<commands::train::Interrupted>().is_some() => {
            eprintln!("{err}");
            ExitCode::from(commands::train::INTERRUPTED)
        }
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// A private `XDG_RUNTIME_DIR` for this process, made when the variable is unset and the command
/// may probe GPU adapters (`--backend gpu` or `auto`), removed at exit. Without it Mesa's Vulkan
/// drivers print `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` while wgpu
/// enumerates adapters, which reads as an error of ours. `--backend cpu` probes nothing.
struct RuntimeDir(Option<std::path::PathBuf>);

impl RuntimeDir {
    fn for_gpu_probe(matches: &ArgMatches) -> Self {
        if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|v| !v.is_empty()) {
            return Self(None);
        }
        let probes_gpu = matches
            .subcommand()
            .and_then(|(_, sub)| {
                sub.try_get_one::<mtsnn_core::BackendKind>("backend")
                    .ok()
                    .flatten()
                    .copied()
            })
            .is_some_and(|kind| kind != mtsnn_core::BackendKind::Cpu);
        if !probes_gpu {
            return Self(None);
        }
        let dir = std::env::temp_dir().join(format!("mtsnn-runtime-{}", std::process::id()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        if builder.create(&dir).is_err() {
            return Self(None);
        }
        // SAFETY: called first thing in `main`, while this is the only thread.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        Self(Some(dir))
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs the subcommand of the parsed command line.
fn run(matches: &ArgMatches) -> Result<()> {
    let cli = Cli::from_arg_matches(matches).unwrap_or_else(|e| e.exit());
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
            .context("cannot start the CPU threads")?;
    }
    if let Some(asked) = mtsnn_core::cpu::simd::requested_but_unavailable() {
        eprintln!(
            "warning: MTSNN_ISA={asked:?} names no instruction set this CPU supports \
             (avx512, avx2, baseline); the CPU kernels use {}",
            mtsnn_core::cpu::simd::active()
        );
    }
    match &cli.command {
        Command::Train(args) => {
            let sub = matches
                .subcommand_matches("train")
                .ok_or_else(|| anyhow::anyhow!("internal: no matches for train"))?;
            commands::train::run(args, sub)
        }
        Command::Eval(args) => commands::eval::run(args),
        Command::Infer(args) => commands::infer::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Adapters => commands::adapters::run(),
        Command::Sweep(args) => {
            let sub = matches
                .subcommand_matches("sweep")
                .ok_or_else(|| anyhow::anyhow!("internal: no matches for sweep"))?;
            commands::sweep::run(args, sub)
        }
    }
}
