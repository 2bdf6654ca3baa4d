//! `mtsnn plot`: figures as PNG files — the surrogates of eq 14–16 with the spike staircase of
//! eq 5 (the paper's Figs 4–5), learning curves of training runs, and the accuracy of a sweep.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use clap::{Args, Subcommand};
use mtsnn_core::Hyper;

use crate::command_line::this_command;
use crate::plots::curves::{self, RunCurves};
use crate::plots::surrogates::SurrogateSamples;
use crate::sweep::summary::{ACCURACY_PNG, Summary};

/// Options of `mtsnn plot`.
#[derive(Args, Debug)]
#[command(
    after_help = "Text is drawn with a TrueType font found at run time (DejaVu Sans from \
                        Debian's fonts-dejavu-core, Liberation Sans, …); set MTSNN_FONT to a .ttf \
                        file to choose another. Every PNG names the command that made it, in its \
                        caption and its Comment text chunk."
)]
pub struct PlotArgs {
    #[command(subcommand)]
    figure: Figure,
}

/// The figures.
#[derive(Debug, Subcommand)]
enum Figure {
    /// The spike count s(u) of eq 5 and the surrogates f1, f2, f3 of eq 14–16 (the paper's Figs
    /// 4–5 use S_max = 3, α_H = α_W = 1), computed by the engine
    Surrogates(SurrogatesArgs),
    /// Test and training accuracy and training loss against epoch, from each run's metrics.jsonl;
    /// several runs on one figure
    Curves(CurvesArgs),
    /// Accuracy against the swept value, from a sweep directory's summary.json (what `mtsnn
    /// sweep` draws when it ends; run it again on a sweep in progress or interrupted)
    Sweep(SweepPlotArgs),
}

/// Options of `mtsnn plot surrogates`.
#[derive(Args, Debug)]
struct SurrogatesArgs {
    /// The PNG to write
    #[arg(long, value_name = "FILE", default_value = "surrogates.png")]
    out: PathBuf,
    /// Upper limit of spikes per step, S_max
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    s_max: u32,
    /// Height α_H of the surrogates
    #[arg(long, default_value_t = 1.0)]
    alpha_h: f32,
    /// Width α_W of the Gaussians of f1 and f2
    #[arg(long, default_value_t = 1.0)]
    alpha_w: f32,
    /// Threshold V_th
    #[arg(long, default_value_t = 1.0)]
    v_th: f32,
    /// Also write the plotted samples as CSV (columns u, s, f1, f2, f3)
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

/// Options of `mtsnn plot curves`.
#[derive(Args, Debug)]
struct CurvesArgs {
    /// Run directories, each holding the metrics.jsonl of `mtsnn train`
    #[arg(value_name = "RUN_DIR", required = true)]
    runs: Vec<PathBuf>,
    /// The PNG to write
    #[arg(long, value_name = "FILE", default_value = "curves.png")]
    out: PathBuf,
    /// Legend names of the runs, comma-separated, in the order of the directories [default: each
    /// directory's name]
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    labels: Option<Vec<String>>,
    /// Title of the figure
    #[arg(long, default_value = "Learning curves")]
    title: String,
}

/// Options of `mtsnn plot sweep`.
#[derive(Args, Debug)]
struct SweepPlotArgs {
    /// The sweep directory (holding summary.json)
    #[arg(value_name = "SWEEP_DIR")]
    dir: PathBuf,
    /// The PNG to write [default: SWEEP_DIR/accuracy.png]
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `mtsnn plot`.
pub fn run(args: &PlotArgs) -> Result<()> {
    let command = this_command();
    match &args.figure {
        Figure::Surrogates(a) => surrogates(a, &command),
        Figure::Curves(a) => curves(a, &command),
        Figure::Sweep(a) => sweep(a, &command),
    }
}

/// Samples on the u axis of the surrogate figure.
const SURROGATE_SAMPLES: usize = 1201;

fn surrogates(args: &SurrogatesArgs, command: &str) -> Result<()> {
    // The engine's own checks of these parameters (target and steps play no part here).
    let hyper = Hyper::default()
        .with_s_max(args.s_max)
        .with_alpha_h(args.alpha_h)
        .with_alpha_w(args.alpha_w)
        .with_v_th(args.v_th)
        .with_target_count(0.0);
    hyper.validate()?;
    let samples = SurrogateSamples::new(
        args.v_th,
        args.s_max,
        args.alpha_h,
        args.alpha_w,
        SURROGATE_SAMPLES,
    );
    if let Some(csv) = &args.csv {
        std::fs::write(csv, samples.to_csv())
            .with_context(|| format!("cannot write {}", csv.display()))?;
    }
    samples.figure(command)?.save(&args.out)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

fn curves(args: &CurvesArgs, command: &str) -> Result<()> {
    if let Some(labels) = &args.labels {
        ensure!(
            labels.len() == args.runs.len(),
            "--labels names {} runs but {} run directories were given",
            labels.len(),
            args.runs.len()
        );
    }
    let runs = args
        .runs
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let label = match &args.labels {
                Some(labels) => labels[i].clone(),
                None => dir_name(dir),
            };
            RunCurves::read(dir, label)
        })
        .collect::<Result<Vec<_>>>()?;
    curves::figure(&runs, &args.title, command)?.save(&args.out)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

fn sweep(args: &SweepPlotArgs, command: &str) -> Result<()> {
    let summary = Summary::read(&args.dir)?.with_context(|| {
        format!(
            "{} holds no summary.json; is it the --out directory of mtsnn sweep?",
            args.dir.display()
        )
    })?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.dir.join(ACCURACY_PNG));
    crate::plots::sweep::figure(&summary, command)?.save(&out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The last component of a directory path (`runs/a/` → `a`), or the path itself.
fn dir_name(dir: &Path) -> String {
    dir.components()
        .next_back()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|s| s != "." && !s.is_empty())
        .unwrap_or_else(|| dir.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::font::FONT_ENV;
    use clap::CommandFactory;

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        plot: PlotArgs,
    }

    #[test]
    fn help_names_the_font_variable() {
        let help = Wrapper::command().render_long_help().to_string();
        assert!(help.contains(FONT_ENV), "{help}");
    }

    #[test]
    fn directory_names() {
        assert_eq!(dir_name(Path::new("runs/a/")), "a");
        assert_eq!(dir_name(Path::new("b")), "b");
        assert_eq!(dir_name(Path::new(".")), ".");
    }
}
