//! Helpers of the CLI tests: temporary directories, a generated learnable data set in IDX format,
//! and running the `mtsnn` binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Image side of the generated data set (the real data sets' size).
pub const SIDE: usize = 28;

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh empty directory named after `name` (unique per test process).
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mtsnn-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tiny deterministic generator (xorshift64*), so the tests need no dependency.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A 28×28 image of class `label`: a bright 5×5 blob at a class-specific place on a 5×2 grid
/// (moved by up to a pixel), a class-specific horizontal stroke, and background noise. `noise`
/// false gives the clean pattern.
pub fn sample(label: u8, g: &mut Gen, noise: bool) -> Vec<u8> {
    let mut img = vec![0u8; SIDE * SIDE];
    if noise {
        for p in img.iter_mut() {
            *p = g.below(60) as u8;
        }
    }
    let jitter = |g: &mut Gen| if noise { g.below(3) as usize } else { 1 };
    let cx = 3 + 5 * usize::from(label % 5) + jitter(g);
    let cy = 5 + 12 * usize::from(label / 5) + jitter(g);
    for y in cy - 2..=cy + 2 {
        for x in cx - 2..=cx + 2 {
            img[y * SIDE + x] = 200 + if noise { g.below(56) as u8 } else { 55 };
        }
    }
    let row = 2 + 2 * usize::from(label);
    for x in 4..24 {
        img[row * SIDE + x] = img[row * SIDE + x].max(150);
    }
    img
}

/// IDX bytes of unsigned bytes with the given dimensions.
pub fn idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Writes a generated data set into `dir`: `train` training samples as raw IDX files and `test`
/// test samples as gzip-compressed ones (so both formats are exercised).
pub fn write_dataset(dir: &Path, train: usize, test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut g = Gen::new(42);
    for (prefix, n, gz) in [("train", train, false), ("t10k", test, true)] {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let images: Vec<u8> = labels
            .iter()
            .flat_map(|&l| sample(l, &mut g, true))
            .collect();
        let files = [
            (
                format!("{prefix}-images-idx3-ubyte"),
                idx(&[n, SIDE, SIDE], &images),
            ),
            (format!("{prefix}-labels-idx1-ubyte"), idx(&[n], &labels)),
        ];
        for (name, bytes) in files {
            if gz {
                std::fs::write(dir.join(name + ".gz"), gzip(&bytes)).unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

/// Runs `mtsnn` with `args` in the working directory `cwd`.
pub fn mtsnn_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtsnn"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the mtsnn binary runs")
}

/// The report of `mtsnn eval --model MODEL --backend cpu --json`, run in `cwd`.
pub fn eval_report(cwd: &Path, model: &Path) -> serde_json::Value {
    let out = mtsnn_in(
        cwd,
        &[
            "eval",
            "--model",
            model.to_str().unwrap(),
            "--backend",
            "cpu",
            "--json",
        ],
    );
    assert_ok(&out);
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts success, showing stderr otherwise.
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "mtsnn failed: {}\n{}",
        out.status,
        stderr(out)
    );
}

/// Asserts a clean failure: exit code 1, an `error:` line containing every one of `needles`, and
/// no panic.
pub fn assert_fails(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit code 1; stderr:\n{err}"
    );
    assert!(
        err.starts_with("error: "),
        "stderr does not start with 'error: ':\n{err}"
    );
    assert!(!err.contains("panicked"), "mtsnn panicked:\n{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
}

/// Files of a previous run in `dir`, with contents that no real run writes.
pub fn plant_old_run(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for f in [
        "checkpoint.safetensors",
        "model.safetensors",
        "metrics.jsonl",
        "run.json",
    ] {
        std::fs::write(dir.join(f), format!("old {f}")).unwrap();
    }
}

/// Asserts that the files of [`plant_old_run`] are untouched and nothing else appeared.
pub fn assert_old_run_intact(dir: &Path) {
    for f in [
        "checkpoint.safetensors",
        "model.safetensors",
        "metrics.jsonl",
        "run.json",
    ] {
        assert_eq!(
            std::fs::read_to_string(dir.join(f)).unwrap(),
            format!("old {f}"),
            "{f} was changed"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        4,
        "files appeared in {}",
        dir.display()
    );
}
