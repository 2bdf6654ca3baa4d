//! The Slurm executor: `sweep.sbatch`, a job array with one task per point not yet complete, each
//! running `mtsnn sweep run-point DIR --index $SLURM_ARRAY_TASK_ID` on the CPUs Slurm gives it.
//!
//! Preemption and time limits: the script asks for `--signal=B:USR1@120` (USR1 to the batch shell
//! two minutes before the end) and `--requeue`. Its trap passes the signal on to mtsnn, which
//! finishes its chunk of batches, writes a mid-epoch checkpoint and exits with status 75; the
//! script then requeues its own task (`scontrol requeue`), whose next start resumes the point
//! where it stopped. A task ended without warning (node failure) restarts from its last
//! checkpoint (the last epoch, or an earlier interruption).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use clap::Args;

use super::manifest::Lock;
use super::point;
use super::summary::Summary;

/// The script's file name in the sweep folder.
pub const SCRIPT: &str = "sweep.sbatch";
/// The submitted jobs' ids, one per line.
pub const JOBS: &str = "slurm-jobs.txt";

/// Options of the Slurm executor (`--executor slurm`).
#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Slurm executor")]
pub struct SlurmArgs {
    /// Submit the job array with sbatch (without it the script is only written, to read and
    /// submit yourself)
    #[arg(long)]
    pub submit: bool,
    /// Tasks of the array running at once (`--array=…%N`)
    #[arg(long, value_name = "N")]
    pub max_parallel: Option<u32>,
    /// Partition (sbatch --partition)
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each task (sbatch --time, e.g. 2:00:00); a task warned of its end
    /// checkpoints and is requeued
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per task, which mtsnn's CPU kernels use (sbatch --cpus-per-task)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub cpus_per_task: u32,
    /// Memory per task (sbatch --mem, e.g. 4G)
    #[arg(long)]
    pub mem: Option<String>,
    /// GPUs per task (sbatch --gpus-per-task); each task trains on the GPU it is given
    #[arg(long, value_name = "N")]
    pub gpus_per_task: Option<u32>,
    /// Account to charge (sbatch --account)
    #[arg(long)]
    pub account: Option<String>,
    /// Any other sbatch option, passed as is (repeat for several, e.g. --sbatch-arg=--qos=low)
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
}

/// Writes `DIR/sweep.sbatch` for the points `wanted` (indices into `sweep`) not complete (all
/// with `fresh`) and, with `--submit`, submits it.
pub fn write_and_submit(
    dir: &Path,
    sweep: &Summary,
    wanted: &[usize],
    args: &SlurmArgs,
    fresh: bool,
) -> Result<()> {
    if !fresh {
        point::tidy_complete(dir, sweep, wanted)?;
    }
    let todo = point::to_train(dir, sweep, wanted, fresh);
    if todo.is_empty() {
        eprintln!(
            "sweep {}: every point is complete; nothing to submit",
            sweep.title()
        );
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot find this program's executable")?;
    let script = script(dir, &exe, sweep, &todo, args, fresh);
    let path = dir.join(SCRIPT);
    mtsnn_core::checkpoint::write_atomic(&path, script.as_bytes())?;
    std::fs::create_dir_all(dir.join("slurm"))
        .with_context(|| format!("cannot create {}", dir.join("slurm").display()))?;
    eprintln!(
        "sweep {}: wrote {} ({} tasks)",
        sweep.title(),
        path.display(),
        todo.len()
    );
    if !args.submit {
        eprintln!("submit it with: sbatch {}", path.display());
        return Ok(());
    }
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&path)
        .output()
        .context("cannot run sbatch (is Slurm installed here?)")?;
    ensure!(
        out.status.success(),
        "sbatch {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() {
        bail!("sbatch printed no job id");
    }
    {
        let _lock = Lock::take(dir)?;
        let jobs = dir.join(JOBS);
        let mut all = std::fs::read_to_string(&jobs).unwrap_or_default();
        all += &format!("{id}\n");
        mtsnn_core::checkpoint::write_atomic(&jobs, all.as_bytes())?;
    }
    println!("submitted batch job {id}");
    Ok(())
}

/// The batch script.
fn script(
    dir: &Path,
    exe: &Path,
    sweep: &Summary,
    todo: &[usize],
    args: &SlurmArgs,
    fresh: bool,
) -> String {
    let quote = |p: &Path| crate::command_line::quote(&p.display().to_string());
    let indices: Vec<String> = todo.iter().map(usize::to_string).collect();
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(
        s,
        "# mtsnn sweep {} in {}: one task per point not yet complete.",
        sweep.title(),
        dir.display()
    );
    let _ = writeln!(s, "# Made by: {}", sweep.command);
    let mut opt = |o: String| {
        let _ = writeln!(s, "#SBATCH {o}");
    };
    // `mtsnn-seed`, `mtsnn-lr-seed`: the sweep's name in letters, digits and dashes.
    let title = sweep.title();
    let words: Vec<&str> = title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    opt(format!("--job-name=mtsnn-{}", words.join("-")));
    opt(format!(
        "--array={}{}",
        indices.join(","),
        args.max_parallel.map_or(String::new(), |m| format!("%{m}"))
    ));
    opt(format!("--output={}/slurm/%A_%a.out", dir.display()));
    opt("--open-mode=append".into());
    opt("--requeue".into());
    opt("--signal=B:USR1@120".into());
    opt(format!("--cpus-per-task={}", args.cpus_per_task));
    if let Some(p) = &args.partition {
        opt(format!("--partition={p}"));
    }
    if let Some(t) = &args.time {
        opt(format!("--time={t}"));
    }
    if let Some(m) = &args.mem {
        opt(format!("--mem={m}"));
    }
    if let Some(g) = args.gpus_per_task {
        opt(format!("--gpus-per-task={g}"));
    }
    if let Some(a) = &args.account {
        opt(format!("--account={a}"));
    }
    for a in &args.sbatch_arg {
        opt(a.clone());
    }
    let fresh = if fresh { " --fresh" } else { "" };
    let _ = write!(
        s,
        r#"
# The point trains in the background so that this shell can take Slurm's signals: USR1 (the
# warning before the time limit or a preemption, --signal above), TERM and INT are passed on to
# mtsnn, which writes a mid-epoch checkpoint and exits with 75; the task then requeues itself, and
# its next start resumes the point from that checkpoint. DIR/slurm/ holds each task's log, appended
# to over its restarts.
set -u
echo "task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname), start ${{SLURM_RESTART_COUNT:-0}}, $(date -u +%FT%TZ)"
child=
forward() {{ if [ -n "$child" ]; then kill -s "$1" "$child" 2>/dev/null; fi; }}
trap 'forward USR1' USR1
trap 'forward TERM' TERM
trap 'forward INT' INT
{exe} --threads "${{SLURM_CPUS_PER_TASK:-1}}" sweep run-point {dir} --index "$SLURM_ARRAY_TASK_ID"{fresh} &
child=$!
# A trapped signal ends `wait` early: wait until mtsnn itself has exited.
while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
done
if [ "$status" -gt 128 ]; then
    wait "$child" 2>/dev/null
    s=$?
    [ "$s" -ne 127 ] && status=$s
fi
if [ "$status" -eq 75 ]; then
    echo "interrupted with a checkpoint: requeueing ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
    scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}" && exit 0
fi
exit "$status"
"#,
        exe = quote(exe),
        dir = quote(dir),
    );
    s
}

/// Prints the states of the sweep's submitted jobs as `squeue` knows them (nothing when none was
/// submitted or squeue is not here).
pub fn print_jobs(dir: &Path, json: bool) -> Result<()> {
    let Ok(jobs) = std::fs::read_to_string(dir.join(JOBS)) else {
        return Ok(());
    };
    let ids: Vec<&str> = jobs
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let Ok(out) = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T %M %R", "-j", &ids.join(",")])
        .output()
    else {
        if !json {
            println!(
                "slurm jobs {}: squeue is not available here",
                ids.join(", ")
            );
        }
        return Ok(());
    };
    let text = String::from_utf8_lossy(&out.stdout);
    if json {
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 2 {
                let v = serde_json::json!({"slurm_task": f[0], "slurm_state": f[1], "time": f.get(2), "reason": f.get(3)});
                println!("{v}");
            }
        }
    } else if text.trim().is_empty() {
        println!("slurm jobs {}: none queued or running", ids.join(", "));
    } else {
        println!(
            "slurm jobs {} (squeue: task, state, time, reason):",
            ids.join(", ")
        );
        for line in text.lines() {
            println!("  {line}");
        }
    }
    Ok(())
}
