//! A point run by a child process of this same program (`mtsnn sweep run-point DIR --index I`),
//! so that several points can train at once and each is an ordinary run with its own signals and
//! exit status. The child's messages are shown with the point's name in front.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

use anyhow::{Context, Result};

/// A command that starts this very program. On Linux through `/proc/self/exe`, which stays this
/// binary even when a rebuild replaces the file at `exe` during a long sweep (the child still sees
/// `exe` as its argv[0]); elsewhere `exe` itself.
fn this_program(exe: &Path) -> Command {
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

/// A running point: the child and the thread that shows its messages.
pub struct PointChild {
    /// The child process.
    pub child: Child,
    echo: Option<JoinHandle<()>>,
}

impl PointChild {
    /// Starts `mtsnn --threads THREADS sweep run-point DIR --index INDEX [--fresh]`, its stderr
    /// lines shown as `[name] line`.
    pub fn start(
        dir: &Path,
        index: usize,
        threads: usize,
        fresh: bool,
        name: &str,
    ) -> Result<Self> {
        let exe = std::env::current_exe().context("cannot find this program's executable")?;
        let mut cmd = this_program(&exe);
        cmd.args(["--threads", &threads.to_string(), "sweep", "run-point"])
            .arg(dir)
            .args(["--index", &index.to_string()]);
        if fresh {
            cmd.arg("--fresh");
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let stderr = child.stderr.take();
        let name = name.to_string();
        let echo = std::thread::spawn(move || {
            if let Some(stderr) = stderr {
                for line in BufReader::new(stderr)
                    .lines()
                    .map_while(std::result::Result::ok)
                {
                    eprintln!("[{name}] {line}");
                }
            }
        });
        Ok(Self {
            child,
            echo: Some(echo),
        })
    }

    /// Asks the child to stop at its next chunk of batches with a checkpoint (SIGTERM).
    pub fn stop(&self) {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        }
    }

    /// Waits until the child's messages are all shown.
    pub fn finish_echo(&mut self) {
        if let Some(echo) = self.echo.take() {
            let _ = echo.join();
        }
    }
}
