//! The local executor: the points of a sweep that are not complete, `jobs` at a time on this
//! machine, each a child `mtsnn sweep run-point` with `threads / jobs` threads (`--threads`, else
//! every core). SIGTERM, SIGUSR1 or
//! SIGINT stops the sweep: the running points are told to checkpoint (SIGTERM), no new point
//! starts, and the sweep exits with status 75 once they have; the same command resumes it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};

use super::child::PointChild;
use super::point;
use super::summary::Summary;
use crate::commands::train::{INTERRUPTED, Interrupted};

/// Runs the points `wanted` (indices into `sweep`, in `dir`) that are not complete, or all of them
/// afresh with `fresh`, `jobs` at a time.
pub fn run(dir: &Path, sweep: &Summary, wanted: &[usize], jobs: usize, fresh: bool) -> Result<()> {
    if !fresh {
        point::tidy_complete(dir, sweep, wanted)?;
    }
    let mut queue = point::to_train(dir, sweep, wanted, fresh);
    queue.reverse();
    let total = wanted.len();
    eprintln!(
        "sweep {}: {} of {total} points to train, {jobs} at a time",
        sweep.title(),
        queue.len()
    );
    // This process's threads (--threads, RAYON_NUM_THREADS, else every core) split between the jobs.
    let threads = (rayon::current_num_threads() / jobs).max(1);
    let stop = Arc::new(AtomicBool::new(false));
    crate::signals::stop_on(&stop)?;
    let mut running: Vec<(usize, PointChild)> = Vec::new();
    let (mut failed, mut interrupted, mut told) = (Vec::new(), Vec::new(), false);
    loop {
        let stopping = stop.load(Ordering::SeqCst) || !interrupted.is_empty();
        if running.is_empty() && (stopping || queue.is_empty()) {
            break;
        }
        if stopping && !told {
            running.iter().for_each(|(_, c)| c.stop());
            told = true;
        }
        while !stopping && running.len() < jobs {
            let Some(i) = queue.pop() else { break };
            let name = sweep.name(&sweep.points[i]);
            running.push((i, PointChild::start(dir, i, threads, fresh, &name)?));
        }
        let mut still = Vec::new();
        for (i, mut c) in running {
            match c.child.try_wait()? {
                None => still.push((i, c)),
                Some(status) => {
                    c.finish_echo();
                    let name = sweep.name(&sweep.points[i]);
                    if status.success() {
                        if let Some(r) = point::result_of(&dir.join(&sweep.points[i].dir)) {
                            eprintln!(
                                "sweep {}: {name}: test {:.2} % (best {:.2} % at epoch {}), train {:.2} %, {} epochs, {:.0} s",
                                sweep.title(),
                                100.0 * r.final_test_accuracy,
                                100.0 * r.best_test_accuracy,
                                r.best_epoch,
                                100.0 * r.final_train_accuracy,
                                r.epochs,
                                r.seconds
                            );
                        }
                    } else if status.code() == Some(i32::from(INTERRUPTED))
                        || status.code().is_none()
                    {
                        interrupted.push(name);
                    } else {
                        eprintln!("sweep {}: {name} failed ({status})", sweep.title());
                        failed.push(&sweep.points[i]);
                    }
                }
            }
        }
        running = still;
        std::thread::sleep(Duration::from_millis(50));
    }
    if !interrupted.is_empty() || stop.load(Ordering::SeqCst) {
        return Err(Interrupted(format!(
            "sweep {}: interrupted ({}); the sweep stops here (run the same command again to resume it)",
            sweep.title(),
            if interrupted.is_empty() { "no point was running".to_string() } else { interrupted.join(", ") }
        ))
        .into());
    }
    if !failed.is_empty() {
        bail!(
            "{} of {total} points failed ({}); see `mtsnn sweep status {}`",
            failed.len(),
            sweep.names(&failed),
            dir.display()
        );
    }
    Ok(())
}
