//! `mtsnn sweep`: the paper's performance analysis (Section III-D) as a grid of training runs.
//! Each point is one `mtsnn train` run in its own folder of the sweep directory, started as a child
//! process with the sweep's train options, the settings the grid fixes and the point's value.
//! After every point, `summary.json` and `summary.md` are rewritten; at the end the sweep draws
//! `accuracy.png` (accuracy against the swept value) and `curves.png` (every point's learning
//! curves).
//!
//! Nothing is lost to an interruption: running the same command again skips the points whose
//! folder holds the final model after the sweep's epochs, resumes the others from their checkpoint,
//! and starts afresh only those that never finished an epoch. A completed point keeps its final
//! model and drops the last checkpoint, which holds the same weights and optimiser state.
//!
//! `--grid seed` is the paper's protocol of repeated runs (the mean of 5): the same training with
//! seeds 1…5, and in its summary the mean ± sample std, min and max of the final test accuracy.
//! `mtsnn sweep summary DIR` prints a sweep's results read afresh from its runs' metrics, also
//! while the sweep is running or after it was interrupted.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, Subcommand};
use mtsnn_core::Hyper;
use mtsnn_core::checkpoint::WeightFormat;
use mtsnn_core::hyper::{S_MAX, TARGET_COUNT};

use super::train::{CHECKPOINT, FINAL_MODEL, METRICS, TrainArgs};
use super::{export, load_model};
use crate::command_line::{shell_line, this_command};
use crate::data::DatasetKind;
use crate::metrics;
use crate::plots::curves::{self, RunCurves};
use crate::run_info;
use crate::sweep::child::{Stopped, run_mtsnn};
use crate::sweep::grid::Grid;
use crate::sweep::summary::{
    ACCURACY_PNG, CURVES_PNG, MARKDOWN, PointResult, PointSummary, Status, Summary,
};

/// Options of `mtsnn sweep`: its own, then every option of `mtsnn train`, passed to each point.
#[derive(Args, Debug)]
#[command(
    mut_arg("out", |a| a
        .help("The sweep directory: one run folder per point, summary.json, summary.md, \
               accuracy.png, curves.png [default: runs/sweep-<grid>]")
        .long_help(None)),
    mut_arg("force", |a| a
        .help("Train every point afresh, even those already complete (their files are replaced \
               once the new run's first epoch has finished)")
        .long_help(None)),
    mut_arg("resume", |a| a.hide(true)),
    mut_arg("stop_after", |a| a.hide(true)),
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Every other option is an option of `mtsnn train` and applies to every point; the \
                  grid's own settings (e.g. --steps 1 for s-max) apply unless given. Where S_max \
                  is below the loss's target count, the target is lowered to S_max. Run the same \
                  command again to continue an interrupted sweep: complete points are skipped, \
                  unfinished ones resume from their checkpoint. `mtsnn sweep summary DIR` prints \
                  the results so far."
)]
pub struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepAction>,
    /// The grid: surrogate (Fig 6: f1, f2, f3), alpha-w (Fig 7: α_W 0.2…2000, f2, α_H = 1, T = 2),
    /// s-max (Fig 8: S_max 1, 3, …, 15, f2, T = 1), steps (Fig 9: T = 1…5, f2, S_max = 1), grad
    /// (the paper's backward pass vs BPTT), threshold-count (S_max 15 vs 1 at T = 2), seed (the
    /// paper's repeated runs: seeds 1…5, summarised as mean ± sample std, min and max)
    #[arg(long, value_enum, required = true)]
    grid: Option<Grid>,
    /// Values of the swept option to run instead of the paper's, comma-separated (e.g. `--values
    /// 1,3` for s-max, `f1,f2` for surrogate)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    values: Option<Vec<String>>,
    /// For --grid seed: the seeds, comma-separated (the same as --values) [default: 1,2,3,4,5]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        conflicts_with = "values"
    )]
    seeds: Option<Vec<String>>,
    /// Keep only an F16 export of each complete point (model-f16.safetensors: the weights as F16
    /// with the data set and its normalisation, a sixth of the full model's size) in place of its
    /// full model (F32 weights and Adam state), as results/ does. Such a point counts as complete,
    /// but cannot be trained further
    #[arg(long)]
    keep_f16: bool,
    /// The options of `mtsnn train`: clap parses and checks them here, and the sweep passes those
    /// given on its command line to every point (read back through the matches).
    #[command(flatten)]
    _train: TrainArgs,
}

/// What `mtsnn sweep` does besides running a grid.
#[derive(Debug, Subcommand)]
enum SweepAction {
    /// Print a sweep directory's results, read afresh from every run's metrics.jsonl (also while
    /// the sweep runs, or after it was interrupted); for --grid seed, the mean ± sample std, min
    /// and max of the final test accuracy over the complete runs, and separately the best epoch's
    Summary(SummaryArgs),
}

/// Options of `mtsnn sweep summary`.
#[derive(Args, Debug)]
struct SummaryArgs {
    /// The sweep directory (the --out of `mtsnn sweep`, holding summary.json)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// A `train` option: its id and its values as typed (none for a flag).
type Setting = (String, Vec<String>);

/// Runs `mtsnn sweep`; `matches` are the subcommand's.
pub fn run(args: &SweepArgs, matches: &ArgMatches) -> Result<()> {
    if let Some(SweepAction::Summary(s)) = &args.action {
        return print_summary(&s.dir);
    }
    let grid = args.grid.context("internal: no --grid")?;
    let flags = TrainFlags::new();
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    ensure!(
        !given("resume"),
        "sweep has no --resume: run the same sweep command again to continue an interrupted sweep"
    );
    ensure!(
        !given("stop_after"),
        "sweep has no --stop-after: interrupt it and run the same command again to continue"
    );
    ensure!(
        args.seeds.is_none() || grid == Grid::Seed,
        "--seeds belongs to --grid seed; choose the {grid} grid's values with --values"
    );
    ensure!(
        !given(grid.option()),
        "the {grid} grid sets {} itself; choose its values with --values",
        flags.long(grid.option())
    );
    let values = grid_values(
        grid,
        args.values
            .as_ref()
            .or(args.seeds.as_ref())
            .map(Vec::as_slice),
    )?;
    let out = matches
        .get_one::<PathBuf>("out")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("sweep-{grid}")));
    ensure!(
        !out.exists() || out.is_dir(),
        "--out {} is a file, not a directory",
        out.display()
    );
    let force = matches.get_flag("force");
    let epochs = *matches
        .get_one::<u32>("epochs")
        .context("internal: no --epochs")? as usize;
    let common = common_settings(grid, &flags, matches)?;
    let settings = flags.words(&common);
    if let Some(old) = Summary::read(&out)? {
        ensure!(
            old.grid == grid,
            "{} holds a sweep of the {} grid; choose another --out",
            out.display(),
            old.grid
        );
        ensure!(
            force || old.settings == settings,
            "{} holds a sweep with other settings ({}); choose another --out, or pass --force to \
             train every point afresh with the new ones",
            out.display(),
            old.settings.join(" ")
        );
    }
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the sweep directory {}", out.display()))?;

    let command = this_command();
    let dataset = *matches
        .get_one::<DatasetKind>("dataset")
        .context("internal: no --dataset")?;
    let mut summary = Summary {
        grid,
        paper_figure: grid.paper_figure().to_string(),
        option: flags.long(grid.option()),
        command: command.clone(),
        settings,
        net: matches
            .get_one::<String>("net")
            .cloned()
            .unwrap_or_default(),
        dataset: dataset.name().to_string(),
        epochs,
        points: Vec::new(),
    };
    let mut plans = Vec::new();
    for value in &values {
        let mut point = common.clone();
        set(&mut point, grid.option(), value);
        cap_target(&mut point)?;
        let dir = grid.folder(value);
        let mut argv = vec!["train".to_string()];
        argv.extend(flags.words(&point));
        argv.extend(["--epochs".to_string(), epochs.to_string()]);
        argv.extend(["--out".to_string(), out.join(&dir).display().to_string()]);
        let complete = !force && is_complete(&out.join(&dir), epochs);
        summary.points.push(PointSummary {
            value: value.clone(),
            label: grid.axis_name(value),
            train_command: shell_line("mtsnn", &argv),
            status: if complete {
                Status::Complete
            } else {
                Status::Pending
            },
            error: None,
            result: result_of(&out.join(&dir)),
            dir,
        });
        plans.push(argv);
    }
    summary.write(&out)?;

    let total = plans.len();
    for (i, argv) in plans.into_iter().enumerate() {
        let dir = out.join(&summary.points[i].dir);
        let name = format!("{} = {}", grid.symbol(), summary.points[i].label);
        let outcome = run_point(&dir, argv, epochs, force, &name, i + 1, total);
        let point = &mut summary.points[i];
        point.result = result_of(&dir);
        match outcome {
            Ok(argv) => {
                if args.keep_f16 {
                    keep_f16_only(&dir, dataset)?;
                }
                point.status = Status::Complete;
                point.error = None;
                if let Some(argv) = argv {
                    point.train_command = shell_line("mtsnn", &argv);
                }
                if let Some(r) = &point.result {
                    eprintln!(
                        "sweep {grid}: {name}: test {:.2} % (best {:.2} % at epoch {}), train {:.2} %, \
                         {} epochs, {:.0} s",
                        100.0 * r.final_test_accuracy,
                        100.0 * r.best_test_accuracy,
                        r.best_epoch,
                        100.0 * r.final_train_accuracy,
                        r.epochs,
                        r.seconds
                    );
                }
            }
            Err(e) if e.is::<Stopped>() => {
                summary.write(&out)?;
                bail!(
                    "{name}: {e}; the sweep stops here (run the same command again to resume \
                     it from {})",
                    dir.display()
                );
            }
            Err(e) => {
                eprintln!("sweep {grid}: {name} failed: {e:#}");
                point.status = Status::Failed;
                point.error = Some(format!("{e:#}"));
            }
        }
        summary.write(&out)?;
    }

    draw_figures(&summary, &out, &command)?;
    eprintln!("sweep {grid}: summary in {}", out.join(MARKDOWN).display());
    let failed: Vec<&str> = summary
        .points
        .iter()
        .filter(|p| p.status == Status::Failed)
        .map(|p| p.label.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {total} points failed ({} = {}); see {}",
            failed.len(),
            grid.symbol(),
            failed.join(", "),
            out.join(MARKDOWN).display()
        );
    }
    Ok(())
}

/// The grid's values: `--values` checked and made canonical, else the paper's.
fn grid_values(grid: Grid, given: Option<&[String]>) -> Result<Vec<String>> {
    let values = match given {
        Some(v) => v
            .iter()
            .map(|v| grid.parse_value(v))
            .collect::<Result<Vec<_>>>()?,
        None => grid.default_values(),
    };
    ensure!(!values.is_empty(), "--values lists no value");
    for (i, v) in values.iter().enumerate() {
        ensure!(!values[..i].contains(v), "--values lists {v} twice");
    }
    Ok(values)
}

/// The settings shared by every point: the train options given on the command line (but
/// --epochs, which every point gets explicitly), then what the grid fixes.
fn common_settings(grid: Grid, flags: &TrainFlags, matches: &ArgMatches) -> Result<Vec<Setting>> {
    let mut common: Vec<Setting> = Vec::new();
    for id in flags.ids() {
        if id == "epochs" || matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let words = if flags.is_flag(id) {
            Vec::new()
        } else {
            matches
                .get_raw(id)
                .into_iter()
                .flatten()
                .map(|w| {
                    w.to_str()
                        .map(String::from)
                        .with_context(|| format!("the value of {} is not UTF-8", flags.long(id)))
                })
                .collect::<Result<Vec<_>>>()?
        };
        common.push((id.to_string(), words));
    }
    for (param, value) in grid.fixed() {
        if !common.iter().any(|(c, _)| c == param.name) {
            common.push((param.name.to_string(), vec![value.to_string()]));
        }
    }
    Ok(common)
}

/// A complete run's F16 export (`mtsnn export`), which may be kept in place of its full final model
/// where the repository should stay small (`results/`); a run holding it counts as complete.
pub const KEPT_EXPORT: &str = "model-f16.safetensors";

/// Replaces the complete run's full model in `dir` by its F16 export ([`KEPT_EXPORT`]), written
/// first, and drops a per-epoch checkpoint left beside it (a run trained outside the sweep keeps
/// its last one, the same state as the final model); nothing to do where the export is already
/// all that is kept.
fn keep_f16_only(dir: &Path, dataset: DatasetKind) -> Result<()> {
    let ckpt = dir.join(CHECKPOINT);
    if ckpt.is_file() {
        std::fs::remove_file(&ckpt).with_context(|| format!("cannot remove {}", ckpt.display()))?;
    }
    let full = dir.join(FINAL_MODEL);
    if !full.is_file() {
        return Ok(());
    }
    let model = load_model(&full)?;
    let kept = dir.join(KEPT_EXPORT);
    let bytes = export::write(&model, dataset, WeightFormat::F16, &kept)?;
    std::fs::remove_file(&full).with_context(|| format!("cannot remove {}", full.display()))?;
    eprintln!(
        "kept {} ({bytes} bytes) in place of {}",
        kept.display(),
        full.display()
    );
    Ok(())
}

/// Whether the run in `dir` has its final model (or its kept export) and has recorded `epochs` epochs.
fn is_complete(dir: &Path, epochs: usize) -> bool {
    has_final_model(dir) && recorded_epochs(dir) >= epochs
}

/// The final model, or the export kept in its place.
fn has_final_model(dir: &Path) -> bool {
    dir.join(FINAL_MODEL).is_file() || dir.join(KEPT_EXPORT).is_file()
}

/// The last epoch recorded in `dir/metrics.jsonl`, 0 when there is none.
fn recorded_epochs(dir: &Path) -> usize {
    metrics::read(dir)
        .ok()
        .and_then(|e| e.last().map(|r| r.epoch))
        .unwrap_or(0)
}

/// What the run in `dir` achieved so far, if it recorded an epoch.
fn result_of(dir: &Path) -> Option<PointResult> {
    metrics::read(dir)
        .ok()
        .and_then(|e| PointResult::from_epochs(&e))
}

/// Brings one point to `epochs` epochs; returns the `train` arguments it ran, `None` when the
/// point was already complete.
fn run_point(
    dir: &Path,
    mut argv: Vec<String>,
    epochs: usize,
    force: bool,
    name: &str,
    index: usize,
    total: usize,
) -> Result<Option<Vec<String>>> {
    let (model, ckpt) = (dir.join(FINAL_MODEL), dir.join(CHECKPOINT));
    let recorded = recorded_epochs(dir);
    let has_run_files = [
        run_info::FILE,
        METRICS,
        CHECKPOINT,
        FINAL_MODEL,
        KEPT_EXPORT,
    ]
    .iter()
    .any(|f| dir.join(f).exists());
    let progress = format!("point {index}/{total} ({name})");
    if force {
        if has_run_files {
            argv.push("--force".into());
        }
    } else if recorded >= epochs && has_final_model(dir) {
        eprintln!("{progress}: complete, skipped ({})", dir.display());
        return Ok(None);
    } else if recorded >= epochs && ckpt.is_file() {
        // Interrupted between the last checkpoint and the final model, which are the same.
        std::fs::rename(&ckpt, &model)
            .with_context(|| format!("cannot rename {} to {}", ckpt.display(), model.display()))?;
        eprintln!("{progress}: complete (its last checkpoint is the final model)");
        return Ok(None);
    } else if ckpt.is_file() || model.is_file() {
        let from = if ckpt.is_file() { &ckpt } else { &model };
        eprintln!("{progress}: resuming from {}", from.display());
        argv.extend(["--resume".to_string(), from.display().to_string()]);
    } else if has_run_files {
        argv.push("--force".into());
    }
    eprintln!("{progress}: mtsnn {}", argv.join(" "));
    run_mtsnn(&argv, name)?;
    ensure!(
        model.is_file(),
        "train ended without writing {}",
        model.display()
    );
    if ckpt.is_file() {
        std::fs::remove_file(&ckpt).with_context(|| format!("cannot remove {}", ckpt.display()))?;
    }
    Ok(Some(argv))
}

/// `mtsnn sweep summary DIR`: the sweep's points with their results read afresh from their runs,
/// and a seed sweep's statistics.
fn print_summary(dir: &Path) -> Result<()> {
    let mut summary = Summary::read(dir)?.with_context(|| {
        format!(
            "{} holds no {} of mtsnn sweep",
            dir.display(),
            crate::sweep::summary::JSON
        )
    })?;
    for p in &mut summary.points {
        p.result = result_of(&dir.join(&p.dir));
        if p.result
            .as_ref()
            .is_some_and(|r| r.epochs >= summary.epochs)
        {
            p.status = Status::Complete;
            p.error = None;
        } else if p.status == Status::Complete {
            p.status = Status::Pending;
        }
    }
    let mut text = format!(
        "sweep {} ({}): {} on {}, {} epochs per point, in {}\nsettings: {}\n\n",
        summary.grid,
        summary.paper_figure,
        summary.net,
        summary.dataset,
        summary.epochs,
        dir.display(),
        if summary.settings.is_empty() {
            "(train's defaults)".to_string()
        } else {
            summary.settings.join(" ")
        }
    );
    text += &format!(
        "{:<22} {:<9} {:>6} {:>11} {:>18} {:>9}\n",
        "point", "status", "epochs", "final test", "best test (epoch)", "train"
    );
    for p in &summary.points {
        let name = format!("{} = {}", summary.grid.symbol(), p.label);
        let status = format!("{:?}", p.status).to_lowercase();
        let cells = match &p.result {
            Some(r) => format!(
                "{:>6} {:>9.2} % {:>9.2} % ({:>4}) {:>7.2} %",
                r.epochs,
                100.0 * r.final_test_accuracy,
                100.0 * r.best_test_accuracy,
                r.best_epoch,
                100.0 * r.final_train_accuracy
            ),
            None => format!("{:>6}", "–"),
        };
        text += &format!("{name:<22} {status:<9} {cells}\n");
    }
    if let Some(lines) = summary.seed_statistics() {
        text += "\n";
        for line in lines {
            text += &line;
            text += "\n";
        }
    }
    print!("{text}");
    Ok(())
}

/// Writes `accuracy.png` and `curves.png` of the points that have results.
fn draw_figures(summary: &Summary, out: &Path, command: &str) -> Result<()> {
    let done: Vec<&PointSummary> = summary
        .points
        .iter()
        .filter(|p| p.result.is_some())
        .collect();
    if done.is_empty() {
        eprintln!("sweep {}: no point has results; no figures", summary.grid);
        return Ok(());
    }
    crate::plots::sweep::figure(summary, command)?.save(&out.join(ACCURACY_PNG))?;
    let runs = done
        .iter()
        .map(|p| {
            RunCurves::read(
                &out.join(&p.dir),
                format!("{} = {}", summary.grid.symbol(), p.label),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let title = format!(
        "{} sweep ({}), {} on {}",
        summary.grid, summary.paper_figure, summary.net, summary.dataset
    );
    curves::figure(&runs, &title, command)?.save(&out.join(CURVES_PNG))?;
    eprintln!(
        "sweep {}: figures {} and {}",
        summary.grid,
        out.join(ACCURACY_PNG).display(),
        out.join(CURVES_PNG).display()
    );
    Ok(())
}

/// Sets option `id` to `value` in `settings`, replacing an earlier value.
fn set(settings: &mut Vec<Setting>, id: &str, value: &str) {
    settings.retain(|(i, _)| i != id);
    settings.push((id.to_string(), vec![value.to_string()]));
}

/// The value of option `id` in `settings`, parsed; `None` when it is not set.
fn get<T: std::str::FromStr>(settings: &[Setting], id: &str) -> Result<Option<T>> {
    match settings
        .iter()
        .find(|(i, _)| i == id)
        .and_then(|(_, v)| v.first())
    {
        Some(v) => match v.parse() {
            Ok(x) => Ok(Some(x)),
            Err(_) => bail!("--{} {v}: not a valid value", id.replace('_', "-")),
        },
        None => Ok(None),
    }
}

/// The loss wants `target_count` spikes per step from the true class (eq 6), which S_max must
/// allow: where the point's S_max is lower, its target becomes S_max.
fn cap_target(settings: &mut Vec<Setting>) -> Result<()> {
    let defaults = Hyper::default();
    let s_max = get::<u32>(settings, S_MAX.name)?.unwrap_or(defaults.s_max);
    let target = get::<f32>(settings, TARGET_COUNT.name)?.unwrap_or(defaults.target_count);
    if target > s_max as f32 {
        set(settings, TARGET_COUNT.name, &s_max.to_string());
    }
    Ok(())
}

/// The options of `mtsnn train` that a sweep passes on (all but --out, --resume and --force).
struct TrainFlags {
    /// Id, long flag, whether it is a flag without value.
    options: Vec<(String, String, bool)>,
}

impl TrainFlags {
    fn new() -> Self {
        let cmd: Command = <TrainArgs as Args>::augment_args(Command::new("train"));
        let options = cmd
            .get_arguments()
            .filter(|a| {
                !matches!(
                    a.get_id().as_str(),
                    "out" | "resume" | "force" | "stop_after"
                )
            })
            .filter_map(|a| {
                let long = a.get_long()?;
                Some((
                    a.get_id().to_string(),
                    format!("--{long}"),
                    !a.get_action().takes_values(),
                ))
            })
            .collect();
        Self { options }
    }

    /// The ids, in the order `train --help` lists them.
    fn ids(&self) -> impl Iterator<Item = &str> {
        self.options.iter().map(|(id, _, _)| id.as_str())
    }

    /// `--flag` of option `id`.
    fn long(&self, id: &str) -> String {
        self.options.iter().find(|(i, _, _)| i == id).map_or_else(
            || format!("--{}", id.replace('_', "-")),
            |(_, l, _)| l.clone(),
        )
    }

    fn is_flag(&self, id: &str) -> bool {
        self.options.iter().any(|(i, _, flag)| i == id && *flag)
    }

    /// The command-line words of `settings`.
    fn words(&self, settings: &[Setting]) -> Vec<String> {
        let mut words = Vec::new();
        for (id, values) in settings {
            words.push(self.long(id));
            words.extend(values.iter().cloned());
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_flags_know_every_passed_option() {
        let f = TrainFlags::new();
        let ids: Vec<&str> = f.ids().collect();
        for id in [
            "net",
            "dataset",
            "epochs",
            "steps",
            "s_max",
            "alpha_w",
            "grad",
            "detach_reset",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert!(!ids.contains(&"out") && !ids.contains(&"resume") && !ids.contains(&"force"));
        assert_eq!(f.long("s_max"), "--s-max");
        assert!(f.is_flag("detach_reset") && !f.is_flag("steps"));
        let words = f.words(&[
            ("detach_reset".into(), vec![]),
            ("steps".into(), vec!["1".into()]),
        ]);
        assert_eq!(words, ["--detach-reset", "--steps", "1"]);
    }

    #[test]
    fn target_is_capped_at_s_max() {
        let mut s: Vec<Setting> = vec![("s_max".into(), vec!["1".into()])];
        cap_target(&mut s).unwrap();
        assert_eq!(get::<f32>(&s, "target_count").unwrap(), Some(1.0));
        let mut s: Vec<Setting> = vec![("target_count".into(), vec!["4".into()])];
        cap_target(&mut s).unwrap();
        assert_eq!(s.len(), 1, "S_max 15 allows a target of 4");
        let mut s: Vec<Setting> = vec![("s_max".into(), vec!["x".into()])];
        assert!(cap_target(&mut s).is_err());
    }
}
