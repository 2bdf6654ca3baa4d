//! Running one grid point: `mtsnn train …` as a child process of this same program, so that every
//! point is an ordinary training run (its `run.json` records the `train` command that repeats it)
//! and the training code exists once. The child's messages are shown with the point's name in
//! front; the last of them explain a failure.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// A command that starts this very program. On Linux through `/proc/self/exe`, which stays this
/// binary even when a rebuild replaces the file at `exe` during a long sweep (the child still sees
/// `exe` as its argv[0]); elsewhere `exe` itself.
fn this_program(exe: &std::path::Path) -> Command {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg0(exe);
        cmd
    }
    #[cfg(not(target_os = "linux"))]
    {
        Command::new(exe)
    }
}

/// A training run ended by a signal (killed, or interrupted): the sweep stops there rather than go
/// on with the next point, so that stopping a point's run stops the sweep. Its checkpoint is kept,
/// and the same sweep command resumes it.
#[derive(Debug)]
pub struct Stopped {
    /// The signal's number.
    pub signal: i32,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the training run was stopped by signal {}", self.signal)
    }
}

impl std::error::Error for Stopped {}

/// Lines of the child's stderr kept to explain a failure.
const TAIL: usize = 4;

/// Runs `mtsnn ARGS` (ARGS starting with `train`), printing its stderr lines prefixed with
/// `[name]`. Fails with the child's `error:` lines when it exits unsuccessfully, and with
/// [`Stopped`] when a signal ended it.
pub fn run_mtsnn(args: &[String], name: &str) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find this program's executable")?;
    let mut child = this_program(&exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let mut tail = VecDeque::with_capacity(TAIL);
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line.context("cannot read the training run's messages")?;
            eprintln!("[{name}] {line}");
            if tail.len() == TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    let status = child.wait().context("waiting for the training run")?;
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Err(Stopped { signal }.into());
        }
    }
    if !status.success() {
        let errors: Vec<&str> = tail
            .iter()
            .map(String::as_str)
            .skip_while(|l| !l.starts_with("error: "))
            .map(|l| l.strip_prefix("error: ").unwrap_or(l).trim())
            .collect();
        let why = if errors.is_empty() {
            format!("train exited with {status}")
        } else {
            errors.join("; ")
        };
        bail!("{why}");
    }
    Ok(())
}
