//! Checkpoints as safetensors: weights and Adam moments as F32 tensors, the network string and
//! every hyper-parameter in the header's metadata. Writes are atomic (temporary file + rename).
//!
//! An *inference* checkpoint ([`Model::to_export_bytes`]) holds the weights alone, as F32, F16 (half
//! the download for the browser) or 8-bit codes with per-row scales ([`WeightFormat`]); loading it
//! gives a model with fresh Adam moments.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{Error, Result};
use crate::hyper::Hyper;
use crate::model::{AdamState, Model};
use crate::spec::{NetSpec, Shape};

/// Value of the `format` metadata key; bumped when the layout changes.
pub const FORMAT: &str = "mtsnn-1";

impl Model {
    /// Encodes the model as safetensors bytes: weights, Adam moments, metadata.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.to_bytes_with(&[])
    }

    /// [`Self::to_bytes`] with extra metadata entries that [`Model::from_bytes`] ignores and
    /// [`read_metadata`] returns (a mid-epoch checkpoint's position in its epoch).
    pub fn to_bytes_with(&self, extra: &[(String, String)]) -> Result<Vec<u8>> {
        let groups = [
            ("weight", &self.weights),
            ("adam_m", &self.adam.m),
            ("adam_v", &self.adam.v),
        ];
        let shapes = self.weight_shapes();
        let tensors = groups.iter().flat_map(|(kind, ts)| {
            ts.iter()
                .zip(&shapes)
                .enumerate()
                .map(move |(i, (t, shape))| Stored {
                    name: format!("layer{i}.{kind}"),
                    dtype: Dtype::F32,
                    shape: shape.clone(),
                    data: bytemuck::cast_slice::<f32, u8>(t).to_vec(),
                })
        });
        self.serialize(tensors.collect(), extra)
    }

    /// Encodes the weights alone (no optimiser state), as F16 when `half` — for inference only,
    /// e.g. the browser demo's bundled models.
    pub fn to_inference_bytes(&self, half: bool) -> Result<Vec<u8>> {
        self.to_inference_bytes_with(half, &[])
    }

    /// [`Self::to_inference_bytes`] with extra metadata entries (e.g. the data set and its
    /// normalisation) that [`Model::from_bytes`] ignores and [`read_metadata`] returns.
    pub fn to_inference_bytes_with(
        &self,
        half: bool,
        extra: &[(String, String)],
    ) -> Result<Vec<u8>> {
        let format = if half {
            WeightFormat::F16
        } else {
            WeightFormat::F32
        };
        self.to_export_bytes(format, extra)
    }

    /// The weights alone in `format`, with extra metadata entries: what `mtsnn export` writes.
    pub fn to_export_bytes(
        &self,
        format: WeightFormat,
        extra: &[(String, String)],
    ) -> Result<Vec<u8>> {
        let mut tensors = Vec::new();
        for (i, (t, shape)) in self.weights.iter().zip(self.weight_shapes()).enumerate() {
            let name = format!("layer{i}.weight");
            let (dtype, data) = match format {
                WeightFormat::F32 => (Dtype::F32, bytemuck::cast_slice::<f32, u8>(t).to_vec()),
                WeightFormat::F16 => (
                    Dtype::F16,
                    t.iter()
                        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                        .collect(),
                ),
                WeightFormat::I8 => {
                    let (q, scales) = quantize_rows(t, shape[0]);
                    tensors.push(Stored {
                        name: format!("{name}{SCALE_SUFFIX}"),
                        dtype: Dtype::F32,
                        shape: vec![shape[0]],
                        data: bytemuck::cast_slice::<f32, u8>(&scales).to_vec(),
                    });
                    (Dtype::I8, bytemuck::cast_slice::<i8, u8>(&q).to_vec())
                }
            };
            tensors.push(Stored {
                name,
                dtype,
                shape,
                data,
            });
        }
        self.serialize(tensors, extra)
    }

    fn weight_shapes(&self) -> Vec<Vec<usize>> {
        self.spec
            .weighted_layers()
            .map(|l| l.weight_shape())
            .collect()
    }

    fn serialize(&self, tensors: Vec<Stored>, extra: &[(String, String)]) -> Result<Vec<u8>> {
        // Never write a checkpoint that a later load would refuse (or that would evaluate to noise).
        self.check_finite()?;
        let views = tensors
            .iter()
            .map(|t| {
                let view = TensorView::new(t.dtype, t.shape.clone(), &t.data)
                    .map_err(|e| Error::Shape(e.to_string()))?;
                Ok((t.name.clone(), view))
            })
            .collect::<Result<Vec<_>>>()?;
        let input = self.spec.input();
        let mut meta: HashMap<String, String> = extra.iter().cloned().collect();
        meta.extend([
            ("format".to_string(), FORMAT.to_string()),
            ("net".to_string(), self.spec.text().to_string()),
            (
                "input".to_string(),
                format!("{}x{}x{}", input.channels, input.height, input.width),
            ),
            ("classes".to_string(), self.spec.classes().to_string()),
            (
                "hyper".to_string(),
                serde_json::to_string(&self.hyper).expect("Hyper serialises"),
            ),
            ("adam_step".to_string(), self.adam.step.to_string()),
            ("epoch".to_string(), self.epoch.to_string()),
        ]);
        safetensors::serialize(views, Some(meta)).map_err(|e| Error::Shape(e.to_string()))
    }

    /// Decodes a model from safetensors bytes; `origin` names the source in errors.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Checkpoint {
            path: origin.to_path_buf(),
            reason,
        };
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let tensors = SafeTensors::deserialize(bytes)
            .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| {
            meta.get(k)
                .ok_or_else(|| bad(format!("metadata has no {k:?}; not an mtsnn checkpoint")))
        };
        if get("format")? != FORMAT {
            return Err(bad(format!(
                "format {:?}, expected {FORMAT:?}",
                get("format")?
            )));
        }
        let num = |k: &str| {
            get(k)?
                .parse::<u64>()
                .map_err(|_| bad(format!("metadata {k:?} is not a number")))
        };
        let dims: Vec<usize> = get("input")?
            .split('x')
            .filter_map(|d| d.parse().ok())
            .collect();
        let [c, h, w] = dims[..] else {
            return Err(bad(format!("input shape {:?} is not CxHxW", get("input")?)));
        };
        let spec = NetSpec::parse(get("net")?, Shape::new(c, h, w), num("classes")? as usize)?;
        let hyper: Hyper = serde_json::from_str(get("hyper")?)
            .map_err(|e| bad(format!("hyper-parameters: {e}")))?;
        hyper.validate()?;
        // One tensor per weighted layer, F32 or F16; `None` when the checkpoint has none of this kind.
        let read = |kind: &str| -> Result<Option<Vec<Vec<f32>>>> {
            if tensors.tensor(&format!("layer0.{kind}")).is_err() {
                return Ok(None);
            }
            spec.weighted_layers()
                .enumerate()
                .map(|(i, l)| {
                    let name = format!("layer{i}.{kind}");
                    let t = tensors.tensor(&name).map_err(|_| bad(format!("tensor {name} is missing")))?;
                    if t.shape() != l.weight_shape() {
                        return Err(bad(format!(
                            "tensor {name} has shape {:?}, the network {} needs {:?} (a checkpoint of another architecture?)",
                            t.shape(),
                            spec.text(),
                            l.weight_shape()
                        )));
                    }
                    match t.dtype() {
                        Dtype::F32 => Ok(f32_values(t.data())),
                        Dtype::F16 => Ok(t.data().chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()),
                        // An 8-bit export: q·scale with one scale per output neuron or filter.
                        Dtype::I8 if kind == "weight" => {
                            let scale_name = format!("{name}{SCALE_SUFFIX}");
                            let scales = tensors.tensor(&scale_name).map_err(|_| bad(format!("tensor {name} is I8 but {scale_name} is missing")))?;
                            let rows = l.weight_shape()[0];
                            if scales.dtype() != Dtype::F32 || scales.shape() != [rows] {
                                return Err(bad(format!("tensor {scale_name} must be F32 of shape [{rows}]")));
                            }
                            let scales = f32_values(scales.data());
                            let per_row = t.data().len() / rows;
                            Ok(t.data().iter().enumerate().map(|(j, &q)| f32::from(q as i8) * scales[j / per_row]).collect())
                        }
                        other => Err(bad(format!("tensor {name} is {other:?}; F32, F16 or (weights) I8 expected"))),
                    }
                })
                .collect::<Result<Vec<_>>>()
                .map(Some)
        };
        let weights = read("weight")?
            .ok_or_else(|| bad("it holds no weights (layer0.weight is missing)".into()))?;
        let adam = match (read("adam_m")?, read("adam_v")?) {
            (Some(m), Some(v)) => Some(AdamState {
                step: num("adam_step")?,
                m,
                v,
            }),
            _ => None,
        };
        let epoch = num("epoch")? as usize;
        let mut model = Model::from_weights(spec, hyper, weights);
        if let Some(adam) = adam {
            model.adam = adam;
        }
        model.epoch = epoch;
        model.check_shapes()?;
        model.check_finite().map_err(|e| bad(e.to_string()))?;
        Ok(model)
    }

    /// Writes the checkpoint atomically: a crash leaves either the old file or the new one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        write_atomic(path, &bytes)
    }

    /// Reads a checkpoint written by [`Model::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
    }
}

/// The header metadata of a safetensors file (the network, hyper-parameters and any extra entries).
pub fn read_metadata(bytes: &[u8], origin: &Path) -> Result<HashMap<String, String>> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| Error::Checkpoint {
        path: origin.to_path_buf(),
        reason: format!("not a safetensors file ({e})"),
    })?;
    Ok(header.metadata().clone().unwrap_or_default())
}

/// The format the weights of a safetensors file are stored in: I8 when any tensor is 8-bit (an
/// `mtsnn export --dtype i8`), else F16 when any is half, else F32.
pub fn stored_format(bytes: &[u8], origin: &Path) -> Result<WeightFormat> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| Error::Checkpoint {
        path: origin.to_path_buf(),
        reason: format!("not a safetensors file ({e})"),
    })?;
    let dtypes: Vec<Dtype> = header.tensors().values().map(|t| t.dtype).collect();
    Ok(if dtypes.contains(&Dtype::I8) {
        WeightFormat::I8
    } else if dtypes.contains(&Dtype::F16) {
        WeightFormat::F16
    } else {
        WeightFormat::F32
    })
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io { path: p, source }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
    })?;
    let tmp: PathBuf = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // Closed before the rename; on failure (a full disk, a file-size limit) the partial temporary
    // file is removed and `path` is untouched.
    let written = std::fs::File::create(&tmp)
        .map_err(io(&tmp))
        .and_then(|mut f| {
            f.write_all(bytes).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io {
            path: path.to_path_buf(),
            source: e,
        }
    })
}

/// Suffix of the per-row scales that accompany an I8 weight tensor.
const SCALE_SUFFIX: &str = "_scale";

/// How an inference checkpoint ([`Model::to_export_bytes`]) stores its weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    /// 4 bytes per weight, exact.
    F32,
    /// 2 bytes per weight (IEEE half precision: relative error ≤ 2⁻¹¹).
    F16,
    /// 1 byte per weight: q = round(w / scale) in −127..=127, with one F32 scale per output
    /// neuron or filter (`layer{i}.weight_scale`, max |w| / 127 of its row); a load gives q·scale.
    I8,
}

/// One tensor to write.
struct Stored {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// Little-endian F32 bytes as values.
fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Symmetric 8-bit quantisation of each of the `rows` rows of `w` (an output neuron's or a
/// filter's weights): the codes and the scale of each row (0 for a row of zeros).
pub(crate) fn quantize_rows(w: &[f32], rows: usize) -> (Vec<i8>, Vec<f32>) {
    let per_row = w.len() / rows;
    let mut codes = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(rows);
    for row in w.chunks_exact(per_row) {
        let scale = row.iter().fold(0.0f32, |m, x| m.max(x.abs())) / 127.0;
        scales.push(scale);
        codes.extend(row.iter().map(|&x| {
            if scale > 0.0 {
                (x / scale).round().clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        }));
    }
    (codes, scales)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surrogate::Surrogate;

    fn model(net: &str) -> Model {
        let spec = NetSpec::parse(net, Shape::new(1, 28, 28), 10).unwrap();
        let hyper = Hyper {
            surrogate: Surrogate::F1,
            steps: 3,
            ..Hyper::default()
        };
        let mut m = Model::init(spec, hyper, 9).unwrap();
        m.adam.step = 17;
        m.adam.m[0][5] = 0.25;
        m.epoch = 4;
        m
    }

    #[test]
    fn round_trip_keeps_everything() {
        let dir = std::env::temp_dir().join(format!("mtsnn-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.safetensors");
        let m = model("784-30-10");
        m.save(&path).unwrap();
        assert_eq!(Model::load(&path).unwrap(), m);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn metadata_keeps_every_hyper_parameter() {
        let spec = NetSpec::parse("784-30-10", Shape::new(1, 28, 28), 10).unwrap();
        let m = Model::init(spec, crate::hyper::tests::sample(), 9).unwrap();
        let p = Path::new("m.safetensors");
        for bytes in [m.to_bytes().unwrap(), m.to_inference_bytes(true).unwrap()] {
            let back = Model::from_bytes(&bytes, p).unwrap();
            for param in crate::hyper::PARAMS {
                assert_eq!(
                    param.get(&back.hyper),
                    param.get(&m.hyper),
                    "{}",
                    param.name
                );
            }
            assert_eq!(back.hyper, m.hyper);
        }
    }

    #[test]
    fn eight_bit_exports_round_to_half_a_step_of_each_rows_scale() {
        let mut m = model("784-30-10");
        // Layer 1 is [10, 30]: row 0 partly zero, row 1 all zero (its scale is 0, its codes 0).
        m.weights[1][..10].fill(0.0);
        m.weights[1][30..60].fill(0.0);
        let p = Path::new("m.safetensors");
        let bytes = m.to_export_bytes(WeightFormat::I8, &[]).unwrap();
        assert!(bytes.len() < m.to_inference_bytes(true).unwrap().len() * 6 / 10);
        let back = Model::from_bytes(&bytes, p).unwrap();
        for ((w, b), l) in m
            .weights
            .iter()
            .zip(&back.weights)
            .zip(m.spec.weighted_layers())
        {
            let per_row = w.len() / l.weight_shape()[0];
            for (row, brow) in w.chunks_exact(per_row).zip(b.chunks_exact(per_row)) {
                let step = row.iter().fold(0.0f32, |a, x| a.max(x.abs())) / 127.0;
                for (x, y) in row.iter().zip(brow) {
                    assert!((x - y).abs() <= 0.5 * step * (1.0 + 1e-5), "{x} vs {y}");
                }
            }
        }
        assert!(back.weights[1][30..60].iter().all(|&x| x == 0.0));
        // The scales must be there, and be one per row.
        let (n, _) = SafeTensors::read_metadata(&bytes).unwrap();
        let text = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
        let without = text.replace("layer1.weight_scale", "layer1.weight_scalX");
        let broken = [&bytes[..8], without.as_bytes(), &bytes[8 + n..]].concat();
        let err = Model::from_bytes(&broken, p).unwrap_err().to_string();
        assert!(err.contains("layer1.weight_scale is missing"), "{err}");
    }

    #[test]
    fn inference_checkpoints_hold_weights_only_and_may_be_half() {
        let m = model("784-30-10");
        let p = Path::new("m.safetensors");
        let full = Model::from_bytes(&m.to_inference_bytes(false).unwrap(), p).unwrap();
        assert_eq!(full.weights, m.weights);
        assert_eq!(full.adam.step, 0);
        let extra = [("dataset".to_string(), "mnist".to_string())];
        let half_bytes = m.to_inference_bytes_with(true, &extra).unwrap();
        assert_eq!(read_metadata(&half_bytes, p).unwrap()["dataset"], "mnist");
        assert!(half_bytes.len() < m.to_bytes().unwrap().len() / 5);
        let half = Model::from_bytes(&half_bytes, p).unwrap();
        for (a, b) in half
            .weights
            .iter()
            .flatten()
            .zip(m.weights.iter().flatten())
        {
            assert!((a - b).abs() <= 1e-3 * b.abs().max(1e-2), "{a} vs {b}");
        }
    }

    #[test]
    fn another_architecture_is_named_in_the_error() {
        let mut bytes = model("784-30-10").to_bytes().unwrap();
        // Same tensors, header claiming another network.
        // Found in the bytes: a lossy string would shift offsets after the header's length prefix.
        let at = bytes.windows(9).position(|w| w == b"784-30-10").unwrap();
        bytes[at..at + 9].copy_from_slice(b"784-31-10");
        let e = Model::from_bytes(&bytes, Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("another architecture"), "{e}");
    }

    #[test]
    fn non_finite_models_are_neither_written_nor_read() {
        let p = Path::new("x.safetensors");
        let mut m = model("784-30-10");
        m.weights[1][4] = f32::NAN;
        let e = m.to_bytes().unwrap_err().to_string();
        assert!(e.contains("layer1.weight") && e.contains("NaN"), "{e}");
        assert!(m.to_inference_bytes(true).is_err());
        // Bytes written without the check (as by an older version) are refused on load, the
        // tensor named; an F16 infinity too.
        for (kind, half) in [("weight", false), ("adam_m", false), ("weight", true)] {
            let m = model("784-30-10");
            let bytes = {
                let good = if half {
                    m.to_inference_bytes(true).unwrap()
                } else {
                    m.to_bytes().unwrap()
                };
                // Overwrite the first value of layer0.<kind> in place: find it via the header.
                let (n, header) = SafeTensors::read_metadata(&good).unwrap();
                let info = header.info(&format!("layer0.{kind}")).unwrap();
                let at = 8 + n + info.data_offsets.0;
                let mut bytes = good.clone();
                if half {
                    bytes[at..at + 2].copy_from_slice(&half::f16::INFINITY.to_le_bytes());
                } else {
                    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
                }
                bytes
            };
            let e = Model::from_bytes(&bytes, p).unwrap_err().to_string();
            assert!(e.contains(&format!("layer0.{kind}")), "{e}");
            assert!(e.contains("not finite"), "{e}");
        }
    }

    #[test]
    fn absurd_input_shapes_in_the_metadata_are_errors() {
        // Found by fuzzing (fuzz/): an input shape whose size overflowed `usize` panicked (debug)
        // or wrapped around (release) instead of being refused.
        let good = model("784-30-10").to_inference_bytes(false).unwrap();
        let (_, header) = SafeTensors::read_metadata(&good).unwrap();
        let tensors = SafeTensors::deserialize(&good).unwrap().tensors();
        for input in ["4294967296x4294967296x1", "18446744073709551615x2x1"] {
            let mut meta = header.metadata().clone().unwrap();
            meta.insert("input".into(), input.into());
            let bytes = safetensors::serialize(tensors.clone(), Some(meta)).unwrap();
            let e = Model::from_bytes(&bytes, Path::new("x"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("too many values"), "{e}");
        }
    }

    #[test]
    fn corrupt_bytes_are_errors() {
        let bytes = model("784-30-10").to_bytes().unwrap();
        let p = Path::new("x.safetensors");
        assert!(Model::from_bytes(&bytes[..bytes.len() - 10], p).is_err());
        assert!(Model::from_bytes(b"hello world, not a checkpoint", p).is_err());
        assert!(Model::from_bytes(&[], p).is_err());
    }
}
