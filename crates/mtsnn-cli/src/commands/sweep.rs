//! `mtsnn sweep`: many training runs, one per point of a grid, run on this machine or as a Slurm
//! job array, each point an ordinary `mtsnn train` run in its own folder.
//!
//! The grid: a paper's preset (`--grid`: Figs 6–9 of Section III-D, BPTT, multi vs single
//! threshold, the protocol's repeated seeds), any option of `mtsnn train` with `--set KEY=V1,V2,…`
//! (hyper-parameters, `net`, `dataset`, `seed`, `lr`, `crop`, …), and `--seeds`; several form their
//! cartesian product. The sweep writes its manifest once (`sweep.json`: every point's folder and
//! `train` arguments, see `sweep::manifest`); a point is run by `mtsnn sweep run-point DIR --index
//! I`, which resumes it from its checkpoint (mid-epoch ones included), skips it when complete, and
//! writes only into its folder.
//!
//! Executors: `local` runs `--jobs N` points at once here (default 1), the cores split between
//! them; `slurm` writes `sweep.sbatch`, a job array of the points not yet complete, and with
//! `--submit` hands it to `sbatch`. A task warned by Slurm (`--signal=B:USR1@120`) checkpoints,
//! exits with status 75 and is requeued; its next start resumes the batch where it stopped.
//!
//! `mtsnn sweep status DIR` says where every point stands (from its `state.json` and metrics, plus
//! `squeue` for submitted jobs); `mtsnn sweep summary DIR` rebuilds `summary.json`, `summary.md`
//! and the figures from the folders, points that differ only by seed summarised as mean ± sample
//! std.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, Subcommand, ValueEnum};
use mtsnn_core::Hyper;
use mtsnn_core::hyper::{self, S_MAX, TARGET_COUNT};

use super::train::TrainArgs;
use crate::command_line::{shell_line, this_command};
use crate::data::DatasetKind;
use crate::plots::curves::{self, RunCurves};
use crate::sweep::grid::Grid;
use crate::sweep::manifest::{self, Axes, KeepExport, Lock};
use crate::sweep::summary::{ACCURACY_PNG, CURVES_PNG, PointSummary, Status, Summary};
use crate::sweep::{local, point, slurm};

/// Where the points run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Executor {
    /// On this machine, --jobs points at a time
    Local,
    /// As a Slurm job array (sweep.sbatch in the sweep folder; --submit hands it to sbatch)
    Slurm,
}

/// Options of `mtsnn sweep`: its own, then every option of `mtsnn train`, passed to each point.
#[derive(Args, Debug)]
#[command(
    mut_arg("out", |a| a
        .help("The sweep directory: one run folder per point, sweep.json, summary.json, \
               summary.md, accuracy.png, curves.png [default: runs/sweep-<grid>]")
        .long_help(None)),
    mut_arg("force", |a| a
        .help("Train every point afresh, even those already complete (their files are replaced \
               once the new run's first epoch has finished), and replace the manifest")
        .long_help(None)),
    mut_arg("resume", |a| a.hide(true)),
    mut_arg("stop_after", |a| a.hide(true)),
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Every other option is an option of `mtsnn train` and applies to every point; the \
                  grid's own settings (e.g. --steps 1 for s-max) apply unless given. Where S_max \
                  is below the loss's target count, the target is lowered to S_max. Run the same \
                  command again to continue an interrupted sweep: complete points are skipped, \
                  unfinished ones resume from their checkpoint (mid-epoch ones included). \
                  `mtsnn sweep status DIR` and `mtsnn sweep summary DIR` say how far it got."
)]
pub struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepAction>,
    /// A preset grid: surrogate (Fig 6: f1, f2, f3), alpha-w (Fig 7: α_W 0.2…2000, f2, α_H = 1,
    /// T = 2), s-max (Fig 8: S_max 1, 3, …, 15, f2, T = 1), steps (Fig 9: T = 1…5, f2, S_max = 1),
    /// grad (the paper's backward pass vs BPTT), threshold-count (S_max 15 vs 1 at T = 2), seed
    /// (the paper's repeated runs: seeds 1…5, summarised as mean ± sample std, min and max)
    #[arg(long, value_enum)]
    grid: Option<Grid>,
    /// Values of the preset grid's option to run instead of the paper's, comma-separated (e.g.
    /// `--values 1,3` for s-max, `f1,f2` for surrogate)
    #[arg(long, value_name = "LIST", value_delimiter = ',', requires = "grid")]
    values: Option<Vec<String>>,
    /// Sweep any option of `mtsnn train`: KEY=V1,V2,… (e.g. `--set lr=0.005,0.001`, `--set
    /// net=784-800-10,784-400-400-10`); several --set (and --grid, --seeds) form their cartesian
    /// product
    #[arg(long = "set", value_name = "KEY=LIST")]
    sets: Vec<String>,
    /// The seeds, comma-separated: the paper's protocol of repeated runs (the same as `--set
    /// seed=…`; with --grid seed, its values)
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        conflicts_with = "values"
    )]
    seeds: Option<Vec<String>>,
    /// What a complete point keeps: its full model (none; it can be trained further), or an
    /// export in its place (i8, f16: a quarter or half the weights' size), as results/ keeps
    #[arg(long, value_enum, default_value_t = KeepExport::None)]
    keep_export: KeepExport,
    /// Where the points run
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    executor: Executor,
    /// Local executor: points trained at once, the CPU threads (--threads, default every core)
    /// split between them
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: u32,
    #[command(flatten)]
    slurm: slurm::SlurmArgs,
    /// The options of `mtsnn train`: clap parses and checks them here, and the sweep passes those
    /// given on its command line to every point (read back through the matches).
    #[command(flatten)]
    _train: TrainArgs,
}

/// What `mtsnn sweep` does besides making a sweep.
#[derive(Debug, Subcommand)]
enum SweepAction {
    /// Rebuild a sweep's summary.json, summary.md and figures from its points' folders (also
    /// while it runs, or after it was interrupted) and print it; for points that differ only by
    /// seed, the mean ± sample std, min and max of the final test accuracy over the complete ones
    Summary(DirArgs),
    /// Where every point of a sweep stands: pending, running (epoch, batch), interrupted,
    /// complete or failed (with the error), and the Slurm jobs' states where squeue answers
    Status(StatusArgs),
    /// Train (or resume, or skip when complete) one point of a sweep, as a Slurm task does;
    /// exits with 75 when a signal stopped it after its checkpoint
    RunPoint(RunPointArgs),
}

/// A sweep directory.
#[derive(Args, Debug)]
struct DirArgs {
    /// The sweep directory (the --out of `mtsnn sweep`, holding sweep.json)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Options of `mtsnn sweep status`.
#[derive(Args, Debug)]
struct StatusArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// One JSON object per point instead of a table
    #[arg(long)]
    json: bool,
}

/// Options of `mtsnn sweep run-point`.
#[derive(Args, Debug)]
struct RunPointArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// The point's index in sweep.json (0-based; a Slurm task's $SLURM_ARRAY_TASK_ID)
    #[arg(long)]
    index: usize,
    /// Train the point afresh even when complete (a sweep made with --force)
    #[arg(long, hide = true)]
    fresh: bool,
}

/// A `train` option: its id and its values as typed (none for a flag).
type Setting = (String, Vec<String>);

/// Runs `mtsnn sweep`; `matches` are the subcommand's.
pub fn run(args: &SweepArgs, matches: &ArgMatches) -> Result<()> {
    match &args.action {
        Some(SweepAction::Summary(a)) => return summarise(&a.dir, true),
        Some(SweepAction::Status(a)) => return point::print_status(&a.dir.dir, a.json),
        Some(SweepAction::RunPoint(a)) => return point::run_index(&a.dir.dir, a.index, a.fresh),
        None => {}
    }
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    ensure!(
        !given("resume"),
        "sweep has no --resume: run the same sweep command again to continue an interrupted sweep"
    );
    ensure!(
        !given("stop_after"),
        "sweep has no --stop-after: interrupt it and run the same command again to continue"
    );
    let flags = TrainFlags::new();
    let axes = axes(args, &flags)?;
    ensure!(
        !axes.0.is_empty(),
        "nothing to sweep: give --grid, --set KEY=V1,V2,… or --seeds"
    );
    if let Some(grid) = args.grid {
        ensure!(
            !given(grid.option()),
            "the {grid} grid sets {} itself; choose its values with --values",
            flags.long(grid.option())
        );
    }
    for (key, _) in &axes.0 {
        ensure!(
            !given(key),
            "{} is swept; choose its values in the sweep (--values, --set or --seeds) instead of {}",
            flags.long(key),
            flags.long(key)
        );
    }
    let name = args.grid.map_or_else(
        || {
            axes.0
                .iter()
                .map(|(k, _)| k.replace('_', "-"))
                .collect::<Vec<_>>()
                .join("-")
        },
        |g| g.name().to_string(),
    );
    let out = matches
        .get_one::<PathBuf>("out")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("sweep-{name}")));
    ensure!(
        !out.exists() || out.is_dir(),
        "--out {} is a file, not a directory",
        out.display()
    );
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the sweep directory {}", out.display()))?;
    // Absolute: a Slurm task or a later `run-point` may start in another directory.
    let out =
        std::fs::canonicalize(&out).with_context(|| format!("cannot resolve {}", out.display()))?;
    let force = matches.get_flag("force");
    let sweep = make(args, matches, &flags, &axes, &out)?;
    let (sweep, wanted) = manifest::write(&out, &sweep, force)?;
    match args.executor {
        Executor::Local => {
            let result = local::run(&out, &sweep, &wanted, args.jobs as usize, force);
            summarise(&out, false)?;
            result
        }
        Executor::Slurm => slurm::write_and_submit(&out, &sweep, &wanted, &args.slurm, force),
    }
}

/// The sweep's axes: the preset grid's, then each --set, then --seeds.
fn axes(args: &SweepArgs, flags: &TrainFlags) -> Result<Axes> {
    let mut axes = Vec::new();
    if let Some(grid) = args.grid {
        let given = args.values.as_ref().or(if grid == Grid::Seed {
            args.seeds.as_ref()
        } else {
            None
        });
        axes.push((
            grid.option().to_string(),
            grid_values(grid, given.map(Vec::as_slice))?,
        ));
    }
    for set in &args.sets {
        let (key, list) = set
            .split_once('=')
            .with_context(|| format!("--set {set}: expected KEY=V1,V2,… (e.g. lr=0.005,0.001)"))?;
        let key = key.trim().trim_start_matches("--").replace('-', "_");
        ensure!(
            flags.takes_value(&key) || flags.is_flag(&key),
            "--set {set}: {} is not an option of `mtsnn train`",
            flags.long(&key)
        );
        ensure!(
            !["epochs", "data", "backend"].contains(&key.as_str()),
            "--set {set}: {} applies to the whole sweep; pass it once",
            flags.long(&key)
        );
        let values = list
            .split(',')
            .map(|v| canonical(&key, v))
            .collect::<Result<Vec<_>>>()?;
        if flags.is_flag(&key) {
            ensure!(
                values.iter().all(|v| v == "true" || v == "false"),
                "--set {set}: {} is a switch: its values are true and false",
                flags.long(&key)
            );
        }
        axes.push((key, values));
    }
    if let Some(seeds) = &args.seeds
        && args.grid != Some(Grid::Seed)
    {
        let seeds = seeds
            .iter()
            .map(|v| canonical("seed", v))
            .collect::<Result<Vec<_>>>()?;
        axes.push(("seed".to_string(), seeds));
    }
    for (i, (key, values)) in axes.iter().enumerate() {
        ensure!(!values.is_empty(), "{} lists no value", key);
        ensure!(
            !axes[..i].iter().any(|(k, _)| k == key),
            "{} is swept twice",
            flags.long(key)
        );
        for (j, v) in values.iter().enumerate() {
            ensure!(
                !values[..j].contains(v),
                "{} lists {v} twice",
                flags.long(key)
            );
        }
    }
    Ok(Axes(axes))
}

/// A swept value in canonical form: a hyper-parameter's as [`hyper::Param::canonical`] has it, a
/// seed as a whole number, anything else trimmed.
fn canonical(key: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if let Some(param) = hyper::PARAMS.iter().find(|p| p.name == key) {
        return param
            .canonical(v)
            .map_err(|e| anyhow::anyhow!("{v:?} is not a value of {}: {e}", param.flag()));
    }
    if key == "seed" {
        return Grid::Seed.parse_value(v);
    }
    ensure!(
        !v.is_empty(),
        "an empty value of --{}",
        key.replace('_', "-")
    );
    Ok(v.to_string())
}

/// The sweep: its command, shared settings and every point with its `train` arguments.
fn make(
    args: &SweepArgs,
    matches: &ArgMatches,
    flags: &TrainFlags,
    axes: &Axes,
    out: &Path,
) -> Result<Summary> {
    let epochs = *matches
        .get_one::<u32>("epochs")
        .context("internal: no --epochs")? as usize;
    let common = common_settings(args.grid, flags, matches)?;
    let dataset = *matches
        .get_one::<DatasetKind>("dataset")
        .context("internal: no --dataset")?;
    let mut points = Vec::new();
    for assignments in axes.points() {
        let mut settings = common.clone();
        for (key, value) in &assignments {
            set(&mut settings, key, value);
        }
        cap_target(&mut settings)?;
        let dir = Axes::folder(&assignments);
        let mut argv = vec!["train".to_string()];
        argv.extend(flags.words(&settings));
        argv.extend(["--epochs".to_string(), epochs.to_string()]);
        argv.extend(["--out".to_string(), out.join(&dir).display().to_string()]);
        points.push(PointSummary {
            value: assignments
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(","),
            label: Axes::label(args.grid, &assignments),
            settings: assignments,
            train_command: shell_line("mtsnn", &argv),
            train_args: argv,
            dir,
            status: Status::Pending,
            error: None,
            result: None,
        });
    }
    Ok(Summary {
        grid: args.grid,
        keep_export: args.keep_export,
        paper_figure: args.grid.map_or("not in the paper".to_string(), |g| {
            g.paper_figure().to_string()
        }),
        option: axes
            .0
            .iter()
            .map(|(k, _)| flags.long(k))
            .collect::<Vec<_>>()
            .join(" × "),
        command: this_command(),
        settings: flags.words(&common),
        net: matches
            .get_one::<String>("net")
            .cloned()
            .unwrap_or_default(),
        dataset: dataset.name().to_string(),
        epochs,
        points,
    })
}

/// `mtsnn sweep summary DIR` (with `print`) and the end of a local sweep: the summary rebuilt
/// from the points' folders, written under the sweep's lock with its figures.
fn summarise(dir: &Path, print: bool) -> Result<()> {
    let mut summary = manifest::read(dir)?;
    for p in &mut summary.points {
        let state = point::state(&dir.join(&p.dir), summary.epochs);
        p.result = point::result_of(&dir.join(&p.dir));
        p.status = match state.status {
            point::PointStatus::Complete => Status::Complete,
            point::PointStatus::Failed => Status::Failed,
            _ => Status::Pending,
        };
        p.error = state.error;
    }
    {
        let _lock = Lock::take(dir)?;
        summary.write(dir)?;
        draw_figures(&summary, dir, &summary.command)?;
    }
    if print {
        print!("{}", text(&summary, dir));
    } else {
        eprintln!(
            "sweep {}: summary in {}",
            summary.title(),
            dir.join(crate::sweep::summary::MARKDOWN).display()
        );
    }
    Ok(())
}

/// The summary as `mtsnn sweep summary` prints it.
fn text(summary: &Summary, dir: &Path) -> String {
    let mut text = format!(
        "sweep {} ({}): {} on {}, {} epochs per point, in {}\nsettings: {}\n\n",
        summary.title(),
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
        text += &format!("{:<22} {status:<9} {cells}\n", summary.name(p));
    }
    if let Some(lines) = summary.seed_statistics() {
        text += "\n";
        for line in lines {
            text += &line;
            text += "\n";
        }
    }
    text
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
/// --epochs, which every point gets explicitly), then what the preset grid fixes.
fn common_settings(
    grid: Option<Grid>,
    flags: &TrainFlags,
    matches: &ArgMatches,
) -> Result<Vec<Setting>> {
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
    for (param, value) in grid.map_or(&[][..], Grid::fixed) {
        if !common.iter().any(|(c, _)| c == param.name) {
            common.push((param.name.to_string(), vec![value.to_string()]));
        }
    }
    Ok(common)
}

/// Writes `accuracy.png` and `curves.png` of the points that have results.
fn draw_figures(summary: &Summary, out: &Path, command: &str) -> Result<()> {
    let done: Vec<&PointSummary> = summary
        .points
        .iter()
        .filter(|p| p.result.is_some())
        .collect();
    if done.is_empty() {
        eprintln!(
            "sweep {}: no point has results; no figures",
            summary.title()
        );
        return Ok(());
    }
    crate::plots::sweep::figure(summary, command)?.save(&out.join(ACCURACY_PNG))?;
    let runs = done
        .iter()
        .map(|p| RunCurves::read(&out.join(&p.dir), summary.name(p)))
        .collect::<Result<Vec<_>>>()?;
    let title = format!(
        "{} sweep ({}), {} on {}",
        summary.title(),
        summary.paper_figure,
        summary.net,
        summary.dataset
    );
    curves::figure(&runs, &title, command)?.save(&out.join(CURVES_PNG))?;
    eprintln!(
        "sweep {}: figures {} and {}",
        summary.title(),
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

    /// Whether `id` is an option that takes a value.
    fn takes_value(&self, id: &str) -> bool {
        self.options.iter().any(|(i, _, flag)| i == id && !*flag)
    }

    /// The command-line words of `settings`. A switch is given bare or swept as `true`/`false`:
    /// the flag where every value is `true`, nothing for `false`.
    fn words(&self, settings: &[Setting]) -> Vec<String> {
        let mut words = Vec::new();
        for (id, values) in settings {
            if self.is_flag(id) {
                if values.iter().all(|v| v == "true") {
                    words.push(self.long(id));
                }
                continue;
            }
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
        // A switch swept with --set: the flag for true, nothing for false.
        let swept = |v: &str| f.words(&[("guard_dead_classes".into(), vec![v.into()])]);
        assert_eq!(swept("true"), ["--guard-dead-classes"]);
        assert!(swept("false").is_empty());
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
