//! `run.json`: what a training run was, exactly — the command line, the program version, the
//! machine, the backend, the start time and the resolved settings — so that any result can be
//! traced back and repeated. Resuming a run appends an entry to its `resumed` list.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::dataset::DatasetKind;
use crate::error::{Error, Result};
use crate::hyper::Hyper;

/// Name of the file in a run directory.
pub const FILE: &str = "run.json";

/// The settings of a training run beyond the model's hyper-parameters (which the checkpoint holds).
/// Start from [`TrainConfig::paper`] and change what differs with the `with_*` methods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainConfig {
    /// The data set trained and tested on.
    pub dataset: DatasetKind,
    /// Where its files were read (`mtsnn train --data`), or null for the data set's default.
    pub data: Option<PathBuf>,
    /// Total epochs the run trains to.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Random-crop padding; 0 = no cropping.
    pub crop: usize,
    /// Random horizontal flips (absent in run.json files of older versions: off).
    #[serde(default)]
    pub flip: bool,
    /// Seed of the initial weights and of every epoch's shuffle and augmentation.
    pub seed: u64,
    /// Only the first N training samples, when set.
    pub limit_train: Option<usize>,
    /// Only the first N test samples, when set.
    pub limit_test: Option<usize>,
}

impl TrainConfig {
    /// The paper's settings (Table I: batch 128, 200 epochs; random crop by 2 pixels, its only
    /// augmentation) on `dataset`, seed 1.
    pub fn paper(dataset: DatasetKind) -> Self {
        Self {
            dataset,
            data: None,
            epochs: 200,
            batch: 128,
            crop: 2,
            flip: false,
            seed: 1,
            limit_train: None,
            limit_test: None,
        }
    }
}

crate::hyper::with_setters!(TrainConfig {
    with_dataset => dataset: DatasetKind,
    with_data => data: Option<PathBuf>,
    with_epochs => epochs: usize,
    with_batch => batch: usize,
    with_crop => crop: usize,
    with_flip => flip: bool,
    with_seed => seed: u64,
    with_limit_train => limit_train: Option<usize>,
    with_limit_test => limit_test: Option<usize>,
});

/// One start of the program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// The command line, word by word.
    pub command: Vec<String>,
    /// Version of `mtsnn`.
    pub version: String,
    /// UTC start time, RFC 3339.
    pub started: String,
    /// The computer.
    pub machine: Machine,
    /// The backend's own description, e.g. `cpu (2 threads, avx512)`.
    pub backend: String,
}

impl Invocation {
    /// This process, starting now, on `backend`.
    pub fn now(backend: String) -> Self {
        Self {
            command: std::env::args().collect(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started: utc_now(),
            machine: Machine::this(),
            backend,
        }
    }
}

/// The computer a run ran on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name from /proc/cpuinfo (or "unknown").
    pub cpu: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// Operating system, architecture and distribution.
    pub os: String,
    /// The instruction set the CPU kernels ran on (`avx512`, `avx2`, `sse2`, `neon`); empty in runs
    /// saved before it was recorded.
    #[serde(default)]
    pub isa: String,
}

impl Machine {
    /// Describes this computer.
    pub fn this() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let distro = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            });
        let os = match distro {
            Some(d) => format!("{} {} ({d})", std::env::consts::OS, std::env::consts::ARCH),
            None => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        };
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os,
            isa: crate::cpu::simd::active().name().to_string(),
        }
    }
}

/// A later start that continued the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resumption {
    /// The program start that continued the run.
    #[serde(flatten)]
    pub invocation: Invocation,
    /// The checkpoint it continued from.
    pub checkpoint: PathBuf,
    /// The epochs that checkpoint had finished.
    pub from_epoch: usize,
    /// The settings it continued with.
    pub config: TrainConfig,
}

/// The content of `run.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The program start that began the run.
    #[serde(flatten)]
    pub invocation: Invocation,
    /// The network string.
    pub net: String,
    /// Number of trainable weights.
    pub parameters: usize,
    /// The hyper-parameters.
    pub hyper: Hyper,
    /// The run's settings.
    pub config: TrainConfig,
    /// Every later start that continued it.
    #[serde(default)]
    pub resumed: Vec<Resumption>,
}

impl RunInfo {
    /// Reads `run.json` from `dir`; `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        read_json(&dir.join(FILE), "a run description of mtsnn")
    }

    /// Reads the `run.json` in the directory of `file` (a model or checkpoint), if there is one.
    pub fn beside(file: &Path) -> Result<Option<Self>> {
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
        Self::read(dir.unwrap_or(Path::new(".")))
    }

    /// Writes `dir/run.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("run.json serialises") + "\n";
        crate::checkpoint::write_atomic(&dir.join(FILE), text.as_bytes())
    }
}

/// Reads the JSON file `path` as a `T`; `None` when there is no such file. `what` names a `T` in
/// the error a malformed file gives.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<Option<T>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Run {
            path: path.to_path_buf(),
            reason: format!("not {what} ({e})"),
        })
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Formats seconds since 1970 as RFC 3339 UTC (the proleptic Gregorian calendar).
fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days ≥ 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn machine_is_described() {
        let m = Machine::this();
        assert!(m.cores >= 1 && !m.cpu.is_empty() && !m.os.is_empty());
        assert_eq!(m.isa, crate::cpu::simd::Isa::best().name());
    }
}
