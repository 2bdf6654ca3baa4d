//! A sweep's manifest, `sweep.json`: every point's folder, swept settings and full `train`
//! arguments, written once when the sweep is made. Whoever runs a point (this machine's
//! executor, a Slurm task on another node) reads it and writes only into that point's folder;
//! results and summaries are rebuilt from the folders. Files shared by the workers (the
//! manifest, the summary, the list of Slurm jobs) are written under an exclusive lock on
//! `.sweep.lock`, so any number of workers can fill one sweep folder at once.

use std::fs::{File, OpenOptions};
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};

use super::grid::Grid;
use super::summary::{JSON as SUMMARY_JSON, Summary};

/// The manifest's file name in the sweep folder.
pub const MANIFEST: &str = "sweep.json";
/// The lock file's name.
const LOCK: &str = ".sweep.lock";

/// Which export a complete point keeps in place of its full model (`--keep-export`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum KeepExport {
    /// The full model (F32 weights and Adam state): the point can be trained further
    #[default]
    None,
    /// An 8-bit export (a quarter of the weights' size), as results/ keeps
    I8,
    /// An F16 export (half the weights' size)
    F16,
}

impl KeepExport {
    /// The file the export is kept in, `None` for the full model.
    pub fn file(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::I8 => Some("model-i8.safetensors"),
            Self::F16 => Some("model-f16.safetensors"),
        }
    }
}

/// Holds the sweep folder's lock until dropped.
pub struct Lock(File);

impl Lock {
    /// Waits for the exclusive lock of the sweep folder `dir`.
    pub fn take(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(Self(file))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Reads the sweep in `dir`: its manifest, or for sweeps made before manifests existed, its
/// `summary.json`.
pub fn read(dir: &Path) -> Result<Summary> {
    for name in [MANIFEST, SUMMARY_JSON] {
        let path = dir.join(name);
        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            return serde_json::from_str(&text)
                .with_context(|| format!("{}: not a sweep of mtsnn", path.display()));
        }
    }
    bail!(
        "{} holds no sweep of mtsnn (no {MANIFEST} or {SUMMARY_JSON})",
        dir.display()
    )
}

/// Writes the manifest of `sweep` into `dir` and returns the indices, in the manifest written,
/// of `sweep`'s points. A manifest already there is merged with: its points keep their indices
/// (Slurm tasks may be on their way), points new to it are appended, and its shared settings must
/// be the same (the epochs may grow) unless `replace`, which writes `sweep` as it is.
pub fn write(dir: &Path, sweep: &Summary, replace: bool) -> Result<(Summary, Vec<usize>)> {
    let _lock = Lock::take(dir)?;
    let path = dir.join(MANIFEST);
    let mut merged = sweep.clone();
    if !replace && (path.is_file() || dir.join(SUMMARY_JSON).is_file()) {
        let old = read(dir)?;
        ensure!(
            old.settings == sweep.settings && old.option == sweep.option,
            "{} holds a sweep with other settings ({}{}); choose another --out, or pass --force to \
             train every point afresh with the new ones",
            dir.display(),
            old.option,
            if old.settings.is_empty() {
                String::new()
            } else {
                format!(", {}", old.settings.join(" "))
            }
        );
        merged.points = old.points;
        for p in &sweep.points {
            match merged.points.iter_mut().find(|o| o.dir == p.dir) {
                Some(o) => *o = p.clone(),
                None => merged.points.push(p.clone()),
            }
        }
    }
    let wanted = sweep
        .points
        .iter()
        .map(|p| {
            merged
                .points
                .iter()
                .position(|o| o.dir == p.dir)
                .expect("merged in")
        })
        .collect();
    let json = serde_json::to_string_pretty(&merged).context("encoding the manifest")? + "\n";
    mtsnn_core::checkpoint::write_atomic(&path, json.as_bytes())?;
    Ok((merged, wanted))
}

/// The swept settings: `--grid` (a preset of the paper's), each `--set KEY=V1,V2,…` and
/// `--seeds`, in that order; the points are their cartesian product.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Axes(pub Vec<(String, Vec<String>)>);

impl Axes {
    /// Every combination of one value per axis, the last axis varying fastest.
    pub fn points(&self) -> Vec<Vec<(String, String)>> {
        let mut points = vec![Vec::new()];
        for (key, values) in &self.0 {
            points = points
                .into_iter()
                .flat_map(|p: Vec<(String, String)>| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.push((key.clone(), v.clone()));
                        q
                    })
                })
                .collect();
        }
        points
    }

    /// The point's run folder in the sweep directory, e.g. `s-max-7` or `lr-0.001_seed-2`.
    pub fn folder(point: &[(String, String)]) -> String {
        point
            .iter()
            .map(|(k, v)| {
                let v: String = v
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-.".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{}-{v}", k.replace('_', "-"))
            })
            .collect::<Vec<_>>()
            .join("_")
    }

    /// How the point is named in summaries and on a figure's axis.
    pub fn label(grid: Option<Grid>, point: &[(String, String)]) -> String {
        match (grid, point) {
            (Some(g), [(_, v)]) => g.axis_name(v),
            _ => point
                .iter()
                .map(|(k, v)| format!("{}={v}", k.replace('_', "-")))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_the_cartesian_product_in_order() {
        let axes = Axes(vec![
            ("lr".into(), vec!["0.1".into(), "0.01".into()]),
            ("seed".into(), vec!["1".into(), "2".into(), "3".into()]),
        ]);
        let points = axes.points();
        assert_eq!(points.len(), 6);
        assert_eq!(Axes::folder(&points[0]), "lr-0.1_seed-1");
        assert_eq!(Axes::folder(&points[5]), "lr-0.01_seed-3");
        assert_eq!(Axes::label(None, &points[1]), "lr=0.1, seed=2");
        let net = vec![("net".to_string(), "15C5-P2-40C5/x".to_string())];
        assert_eq!(Axes::folder(&net), "net-15C5-P2-40C5_x");
        assert_eq!(Axes(Vec::new()).points(), vec![Vec::new()]);
        // A paper's grid names its folders as before manifests: `s-max-7`, `seed-3`.
        assert_eq!(Axes::folder(&[("s_max".into(), "7".into())]), "s-max-7");
        assert_eq!(Axes::folder(&[("seed".into(), "3".into())]), "seed-3");
    }
}
