//! A loaded model with the backend it runs on (the CPU, or WebGPU through [`crate::webgpu`]): the
//! part of the JavaScript API that needs no JavaScript, so native unit tests cover it.

use std::path::Path;

use mtsnn_core::checkpoint::read_metadata;
use mtsnn_core::{Backend, CpuBackend, Model, NetSpec};

use crate::dataset::{DataInfo, Dataset};
use crate::error::WebError;
use crate::outcome::Outcome;

/// A model ready to classify single images.
pub struct Engine {
    spec: NetSpec,
    s_max: u32,
    steps: usize,
    data: DataInfo,
    backend: Box<dyn Backend>,
}

/// Reads a model file written by `mtsnn train` or `mtsnn export` (full, or weights only in F32,
/// F16 or I8) and the data-set facts for it (see [`DataInfo::resolve`]).
pub fn read_model(bytes: &[u8], requested: Option<Dataset>) -> Result<(Model, DataInfo), WebError> {
    let origin = Path::new("<uploaded>");
    let model = Model::from_bytes(bytes, origin).map_err(|e| WebError::Model(e.to_string()))?;
    let meta = read_metadata(bytes, origin).map_err(|e| WebError::Model(e.to_string()))?;
    let data = DataInfo::resolve(
        &meta,
        requested,
        model.spec().classes(),
        model.hyper().input_scale,
    )?;
    Ok((model, data))
}

impl Engine {
    /// Reads a model file (see [`read_model`]).
    pub fn load(bytes: &[u8], requested: Option<Dataset>) -> Result<Self, WebError> {
        let (model, data) = read_model(bytes, requested)?;
        Self::new(&model, data)
    }

    /// Takes a model already in memory, with the facts of its data set, onto the CPU.
    pub fn new(model: &Model, data: DataInfo) -> Result<Self, WebError> {
        let input = model.spec().input();
        if input.channels != 1 {
            return Err(WebError::Model(format!(
                "the network {} takes {input} inputs; this API feeds grayscale images (1 channel)",
                model.spec().text()
            )));
        }
        Ok(Self {
            spec: model.spec().clone(),
            s_max: model.hyper().s_max,
            steps: model.hyper().steps,
            data,
            backend: Box::new(CpuBackend::new(model).map_err(|e| WebError::Model(e.to_string()))?),
        })
    }

    /// Runs every later inference on `backend`, which must hold the same model.
    pub fn run_on(&mut self, backend: Box<dyn Backend>) {
        self.backend = backend;
    }

    /// The network.
    pub fn spec(&self) -> &NetSpec {
        &self.spec
    }

    /// Time steps T of every inference.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Most spikes per neuron and step.
    pub fn s_max(&self) -> u32 {
        self.s_max
    }

    /// The data set: its name, normalisation and class names.
    pub fn data(&self) -> &DataInfo {
        &self.data
    }

    /// Checks the size of raw `0..=1` pixels and normalises them as the CLI does.
    pub fn normalise(&self, pixels: &[f32]) -> Result<Vec<f32>, WebError> {
        let input = self.spec.input();
        if pixels.len() != input.len() {
            return Err(WebError::Input(format!(
                "the network takes {} pixels ({}×{}, row-major), got {}",
                input.len(),
                input.height,
                input.width,
                pixels.len()
            )));
        }
        self.data.normalise(pixels)
    }

    /// Classifies one image of raw `0..=1` pixels, recording every layer's spikes.
    pub async fn infer(&mut self, pixels: &[f32]) -> Result<Outcome, WebError> {
        let x = self.normalise(pixels)?;
        let inf = self.backend.infer_async(&x, true).await?;
        Outcome::new(&self.spec, self.s_max, &inf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtsnn_core::dataset::InputScale;
    use mtsnn_core::{Hyper, Shape};

    fn model() -> Model {
        let spec = NetSpec::parse("784-30-10", Shape::new(1, 28, 28), 10).unwrap();
        Model::init(spec, Hyper::default(), 5).unwrap()
    }

    #[test]
    fn half_precision_checkpoints_load_and_agree_with_the_engine() {
        let m = model();
        let bytes = m.to_inference_bytes(true).unwrap();
        let mut e = Engine::load(&bytes, None).unwrap();
        assert_eq!(
            (e.steps(), e.s_max(), e.spec().text()),
            (2, 15, "784-30-10")
        );
        assert_eq!(
            e.data(),
            &DataInfo::builtin(Dataset::Mnist, InputScale::Standard)
        );
        let pixels: Vec<f32> = (0..784).map(|i| ((i * 37) % 256) as f32 / 255.0).collect();
        let out = pollster::block_on(e.infer(&pixels)).unwrap();
        // The same input through the engine directly, with the loaded (F16-rounded) weights.
        let loaded = Model::from_bytes(&bytes, Path::new("m")).unwrap();
        let x = DataInfo::builtin(Dataset::Mnist, InputScale::Standard)
            .normalise(&pixels)
            .unwrap();
        let direct = CpuBackend::new(&loaded).unwrap().infer(&x, true).unwrap();
        assert_eq!(out.label, direct.predictions()[0]);
        let flat: Vec<u32> = out.output_counts.concat();
        assert_eq!(
            flat,
            direct.output.iter().map(|&s| s as u32).collect::<Vec<_>>()
        );
        assert_eq!(out.layer_counts.len(), 2);
        assert_eq!(out.layer_counts[0].len(), 2);
        assert_eq!(out.layer_counts[0][0].len(), 30);
    }

    #[test]
    fn exported_files_bring_their_normalisation_and_class_names() {
        let extra = [
            ("dataset", "fashion-mnist"),
            ("norm_mean", "0.286"),
            ("norm_std", "0.353"),
            (
                "class_names",
                r#"["a","b","c","d","e","f","g","h","i","j"]"#,
            ),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let bytes = model().to_inference_bytes_with(true, &extra).unwrap();
        let e = Engine::load(&bytes, None).unwrap();
        assert_eq!(
            (e.data().dataset.as_str(), e.data().mean, e.data().std),
            ("fashion-mnist", 0.286, 0.353)
        );
        assert_eq!(e.data().class_names[9], "j");
        assert!(Engine::load(&bytes, Some(Dataset::Mnist)).is_err());
    }

    #[test]
    fn malformed_files_give_a_clear_error() {
        let msg = |bytes: &[u8]| {
            Engine::load(bytes, None)
                .err()
                .expect("an error")
                .to_string()
        };
        let e = msg(b"this is not a model");
        assert!(
            e.starts_with("cannot load the model: checkpoint <uploaded>: not a safetensors file"),
            "{e}"
        );
        let bytes = model().to_inference_bytes(true).unwrap();
        let e = msg(&bytes[..bytes.len() / 2]);
        assert!(e.contains("not a safetensors file"), "{e}");
        assert!(msg(&[]).contains("cannot load the model"));
    }

    #[test]
    fn inputs_of_the_wrong_size_are_refused() {
        let mut e = Engine::new(
            &model(),
            DataInfo::builtin(Dataset::FashionMnist, InputScale::Standard),
        )
        .unwrap();
        let err = pollster::block_on(e.infer(&[0.0; 100]))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "bad input: the network takes 784 pixels (28×28, row-major), got 100"
        );
    }
}
