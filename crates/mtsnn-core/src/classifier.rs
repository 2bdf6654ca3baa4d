//! Classifying images with a trained model in a few lines: [`Classifier`] loads a model file,
//! learns from it which data set it was trained on (an `mtsnn export` records it), and turns
//! 8-bit pixels into the network's inputs exactly as training did.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
//! # let model_file = root.join("web/models/mnist.safetensors");
//! # // A 28×28 "1": a light vertical bar on black.
//! # let png = std::env::temp_dir().join(format!("mtsnn-doc-{}.png", std::process::id()));
//! # let bar = |x: u32, y: u32| if (12..16).contains(&x) && (4..24).contains(&y) { 255 } else { 0 };
//! # image::GrayImage::from_fn(28, 28, |x, y| image::Luma([bar(x, y)])).save(&png)?;
//! let mut classifier = mtsnn_core::Classifier::load(&model_file)?;
//! let pixels = image::open(&png)?.to_luma8(); // 28×28, light on dark, as MNIST
//! let answer = classifier.classify(pixels.as_raw())?;
//! println!("class {} ({}): {:?} spikes per class", answer.class, answer.name, answer.totals);
//! # std::fs::remove_file(&png)?;
//! # assert_eq!(answer.name, "1");
//! # Ok(())
//! # }
//! ```

use std::path::Path;

use crate::backend::Backend;
use crate::checkpoint::{WeightFormat, read_metadata, stored_format};
use crate::cpu::CpuBackend;
use crate::dataset::{DatasetKind, META_DATASET};
use crate::error::{Error, Result};
use crate::factory::{BackendKind, create_backend};
use crate::model::Model;

/// A model ready to classify images of its data set.
pub struct Classifier {
    model: Model,
    dataset: DatasetKind,
    tables: Vec<[f32; 256]>,
    backend: Box<dyn Backend>,
}

/// What [`Classifier::classify`] found for one image.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Answer {
    /// The predicted class: the output neuron with the most spikes over all steps (the lowest on
    /// ties).
    pub class: usize,
    /// Its name in the data set (a digit, a garment, an object).
    pub name: &'static str,
    /// Output spike counts summed over the steps, per class.
    pub totals: Vec<f32>,
    /// Output spike counts per step and class, `[steps][classes]`.
    pub per_step: Vec<Vec<f32>>,
}

impl Classifier {
    /// Loads a model file that records its data set (`mtsnn export` writes it; the models in
    /// `web/models` have it), on the CPU backend. An 8-bit export (`--dtype i8`) computes its dense
    /// layers from its own codes, a quarter of F32's bytes (`CpuBackend::for_inference`; batch-1
    /// `784-800-10` in ≈ 21 µs on the Xeon measured, `docs/performance.md`).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let model = Model::from_bytes(&bytes, path)?;
        let format = stored_format(&bytes, path)?;
        let name = read_metadata(&bytes, path)?
            .remove(META_DATASET)
            .ok_or_else(|| Error::Checkpoint {
                path: path.to_path_buf(),
                reason: "it records no data set (a training checkpoint?): make an export with \
                         `mtsnn export`, or use Classifier::new with the data set"
                    .into(),
            })?;
        let mut classifier = Self::new(model, name.parse()?)?;
        if format == WeightFormat::I8 {
            classifier.backend = Box::new(CpuBackend::for_inference(
                &classifier.model,
                WeightFormat::I8,
            )?);
        }
        Ok(classifier)
    }

    /// A classifier of `model`, trained on `dataset`, on the CPU backend.
    pub fn new(model: Model, dataset: DatasetKind) -> Result<Self> {
        let tables = dataset.tables(model.hyper.input_scale);
        if tables.len() != model.spec.input().channels {
            return Err(Error::Shape(format!(
                "the network {} takes {} inputs but {dataset} images have {} channel(s)",
                model.spec.text(),
                model.spec.input(),
                tables.len()
            )));
        }
        let backend = create_backend(BackendKind::Cpu, &model)?;
        Ok(Self {
            model,
            dataset,
            tables,
            backend,
        })
    }

    /// The network's input: channels, height, width.
    pub fn input(&self) -> crate::Shape {
        self.model.spec.input()
    }

    /// Classifies one image: 8-bit pixels `[channels][height][width]` of the network's input
    /// shape, light objects on a dark ground as in the data sets.
    pub fn classify(&mut self, pixels: &[u8]) -> Result<Answer> {
        let shape = self.model.spec.input();
        if pixels.len() != shape.len() {
            return Err(Error::Shape(format!(
                "{} pixels given; the network takes {shape} images ({} pixels)",
                pixels.len(),
                shape.len()
            )));
        }
        let plane = shape.height * shape.width;
        let x: Vec<f32> = pixels
            .iter()
            .enumerate()
            .map(|(i, &p)| self.tables[i / plane][usize::from(p)])
            .collect();
        let out = self.backend.infer(&x, false)?;
        let class = out.predictions()[0];
        Ok(Answer {
            class,
            name: self.dataset.class_names()[class],
            totals: out.totals(),
            per_step: out
                .output
                .chunks(out.classes)
                .map(<[f32]>::to_vec)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper::Hyper;
    use crate::spec::{NetSpec, Shape};

    #[test]
    fn pixels_are_normalised_as_in_training_and_sizes_checked() {
        let spec = NetSpec::parse("784-20-10", Shape::new(1, 28, 28), 10).unwrap();
        let model = Model::init(spec, Hyper::default(), 3).unwrap();
        let mut c = Classifier::new(model.clone(), DatasetKind::Mnist).unwrap();
        let pixels: Vec<u8> = (0..784).map(|i| (i * 7 % 256) as u8).collect();
        let answer = c.classify(&pixels).unwrap();
        // The same as the backend on the table's values.
        let table = DatasetKind::Mnist.tables(model.hyper.input_scale)[0];
        let x: Vec<f32> = pixels.iter().map(|&p| table[usize::from(p)]).collect();
        let want = create_backend(BackendKind::Cpu, &model)
            .unwrap()
            .infer(&x, false)
            .unwrap();
        assert_eq!(answer.totals, want.totals());
        assert_eq!(answer.class, want.predictions()[0]);
        assert_eq!(answer.per_step.len(), model.hyper.steps);
        assert!(matches!(c.classify(&pixels[..100]), Err(Error::Shape(_))));
        assert!(Classifier::new(model, DatasetKind::Cifar10).is_err());
    }

    /// An 8-bit export classifies with its own codes: the answer of the 8-bit CPU backend.
    #[test]
    fn eight_bit_exports_classify_with_their_codes() {
        let spec = NetSpec::parse("784-20-10", Shape::new(1, 28, 28), 10).unwrap();
        let model = Model::init(spec, Hyper::default(), 5).unwrap();
        let bytes = model
            .to_export_bytes(WeightFormat::I8, &[(META_DATASET.into(), "mnist".into())])
            .unwrap();
        let path =
            std::env::temp_dir().join(format!("mtsnn-i8-{}.safetensors", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let mut c = Classifier::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let pixels: Vec<u8> = (0..784).map(|i| (i * 13 % 256) as u8).collect();
        let table = DatasetKind::Mnist.tables(model.hyper.input_scale)[0];
        let x: Vec<f32> = pixels.iter().map(|&p| table[usize::from(p)]).collect();
        let exported = Model::from_bytes(&bytes, Path::new("i8")).unwrap();
        let want = CpuBackend::for_inference(&exported, WeightFormat::I8)
            .unwrap()
            .infer(&x, false)
            .unwrap();
        assert_eq!(c.classify(&pixels).unwrap().totals, want.totals());
    }
}
