//! The JavaScript API: `Model.load`, `model.infer`, `mnistify`. Errors become JS exceptions
//! (`JsError`, i.e. `Error` objects with the message of [`WebError`]).

use std::cell::RefCell;

use js_sys::{Array, Object, Reflect, Uint32Array};
use mtsnn_core::{Backend, Model as Network};
use wasm_bindgen::prelude::*;

use crate::dataset;
use crate::draw::{self, Options, Spikes};
use crate::engine::{Engine, read_model};
use crate::error::WebError;
use crate::outcome::{Outcome, layer_infos};
use crate::prepare;
use crate::turns::Turns;
#[cfg(feature = "gpu")]
use crate::webgpu;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Options of `Model.load`. */
export interface LoadOptions {
  /** The data set the model was trained on, for files without it in their metadata (those of
   *  `mtsnn train`; `mtsnn export` records it): decides the normalisation. Default "mnist". */
  dataset?: "mnist" | "fashion-mnist";
  /** Where to run: "auto" (the default: WebGPU on a hardware adapter, else the CPU, which is
   *  faster than a software fallback adapter such as SwiftShader), "webgpu" (any adapter, software
   *  included; fails without one, and always in the CPU-only build) or "cpu". `model.backendNote`
   *  says why the model runs where it does. */
  backend?: "auto" | "webgpu" | "cpu";
}
/** One weighted layer of a model, as `Model.layers` lists them. */
export interface LayerDescription {
  kind: "dense" | "conv";
  /** Channels, height, width of its spike map (n, 1, 1 for dense layers). */
  shape: [number, number, number];
  /** Entries per step in `InferResult.layerCounts`: neurons (dense) or channels (conv). */
  units: number;
}
/** The answer of `model.infer`. */
export interface InferResult {
  /** Predicted class: the output neuron with the most spikes over all steps (lowest on ties). */
  label: number;
  /** Output spike counts per time step, per class: `[steps][classes]`. */
  outputCounts: number[][];
  /** Spike counts per weighted layer, per step, per neuron (dense) or channel (conv). */
  layerCounts: Uint32Array[][];
  /** Spikes of all layers over all steps. */
  totalSpikes: number;
  /** Synaptic operations (accumulates) those spikes cause. */
  synops: number;
  backend: "webgpu" | "cpu";
  /** Time of this inference in microseconds, normalisation and read-back included. */
  micros: number;
}
/** Options of `model.drawSpikes`. */
export interface DrawOptions {
  /** What to draw: the hidden layers' heat maps, the output bars, or both (the default). */
  parts?: "all" | "layers" | "output";
  /** Pixels per neuron (or channel) of the heat maps; default: about 240 pixels per map. */
  cell?: number;
  /** Length in pixels of a full output bar (S_max spikes in every step); default 240. */
  barWidth?: number;
  /** Captions, class names and counts as text (default true). */
  text?: boolean;
  /** The CSS font of the text; default "13px sans-serif". */
  font?: string;
}
/** Where `model.drawSpikes` drew, in canvas pixels. */
export interface SpikeLayout {
  /** The size the canvas was given. */
  width: number;
  height: number;
  /** Hidden layers: each step's map has its top left corner at `steps[t]`; neuron (or channel)
   *  `i` is the `cell`×`cell` square `i % cols` cells right and `⌊i / cols⌋` cells down. */
  layers: { steps: [number, number][]; cols: number; rows: number; cell: number }[];
  /** Output bars: class `c`'s spans `x .. x + width`, `y + c·pitch .. + height`; step 1's
   *  spikes are its first segment. Absent with `parts: "layers"`. */
  bars?: { x: number; y: number; width: number; height: number; pitch: number };
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: milliseconds, in windows and workers alike.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// A spiking network loaded from a checkpoint, ready to classify 28×28 images.
#[wasm_bindgen]
pub struct Model {
    engine: RefCell<Engine>,
    /// `"webgpu"` or `"cpu"`.
    backend: &'static str,
    /// Serialises `infer` calls: they hold the engine across awaits.
    turns: Turns,
    /// Why the model runs where it runs.
    note: String,
}

#[wasm_bindgen]
impl Model {
    /// Reads a model file: a checkpoint of `mtsnn train` (`model.safetensors`,
    /// `checkpoint.safetensors`) or a weights-only F16/F32/I8 file of `mtsnn export`; then opens
    /// WebGPU on a hardware adapter unless told otherwise (see `LoadOptions`). Rejects with a
    /// clear message when the bytes are not such a file.
    pub async fn load(
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_optional_param_type = "LoadOptions")] options: Option<Object>,
    ) -> Result<Model, JsError> {
        let options = options.map_or(JsValue::UNDEFINED, JsValue::from);
        let requested = option(&options, "dataset")?
            .map(|name| dataset::parse(&name))
            .transpose()?;
        let choice = option(&options, "backend")?.unwrap_or_else(|| "auto".into());
        if !["auto", "webgpu", "cpu"].contains(&choice.as_str()) {
            return Err(WebError::Option(format!(
                "backend {choice:?} is not one of \"auto\", \"webgpu\", \"cpu\""
            ))
            .into());
        }
        let (model, data) = read_model(&bytes, requested)?;
        let mut engine = Engine::new(&model, data)?;
        let (backend, note) = match choice.as_str() {
            "cpu" => ("cpu", "asked for the CPU".to_string()),
            _ => match place(&model, choice == "auto").await? {
                (Some(gpu), note) => {
                    engine.run_on(gpu);
                    ("webgpu", note)
                }
                (None, note) => ("cpu", note),
            },
        };
        Ok(Model {
            engine: RefCell::new(engine),
            backend,
            turns: Turns::default(),
            note,
        })
    }

    /// Classifies one image: `pixels` holds 784 intensities in 0..1 (0 = background), row-major,
    /// light object on a dark ground like the data sets. The model normalises them as the CLI does.
    /// Calls made before an earlier one has finished wait for it.
    #[wasm_bindgen(unchecked_return_type = "InferResult")]
    #[expect(
        clippy::await_holding_refcell_ref,
        reason = "calls take turns (`self.turns`), so nothing else borrows the engine meanwhile"
    )]
    pub async fn infer(&self, pixels: Vec<f32>) -> Result<JsValue, JsError> {
        let _turn = self.turns.wait().await;
        let start = performance_now();
        let outcome = self.engine.borrow_mut().infer(&pixels).await?;
        let micros = (performance_now() - start) * 1000.0;
        to_js(&outcome, self.backend, micros)
    }

    /// Draws the spikes of `result` (an answer of this model's `infer`) onto `canvas`, an
    /// `HTMLCanvasElement` or `OffscreenCanvas` that it resizes to the picture: a heat map per
    /// hidden layer and time step (a cell per neuron, or per channel of a convolution; colour √ of
    /// the count over its most), and a bar per class whose segments are the output spikes of each
    /// step. Returns where it drew (`SpikeLayout`).
    #[wasm_bindgen(js_name = drawSpikes, unchecked_return_type = "SpikeLayout")]
    pub fn draw_spikes(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HTMLCanvasElement | OffscreenCanvas")]
        canvas: JsValue,
        #[wasm_bindgen(unchecked_param_type = "InferResult")] result: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "DrawOptions")] options: Option<Object>,
    ) -> Result<JsValue, JsError> {
        let options = options.map_or(JsValue::UNDEFINED, JsValue::from);
        let opts = Options::from_js(&options)?;
        let engine = self.engine.borrow();
        let infos = layer_infos(engine.spec());
        let spikes = Spikes::from_js(&result, &infos, engine.steps())?;
        let class_names = &engine.data().class_names;
        Ok(draw::draw(
            &canvas,
            &spikes,
            &infos,
            class_names,
            engine.s_max(),
            &opts,
        )?)
    }

    /// The network string, e.g. `784-800-10`.
    #[wasm_bindgen(getter)]
    pub fn net(&self) -> String {
        self.engine.borrow().spec().text().to_string()
    }

    /// The data set the model was trained on, e.g. `mnist`; it decides the normalisation.
    #[wasm_bindgen(getter)]
    pub fn dataset(&self) -> String {
        self.engine.borrow().data().dataset.clone()
    }

    /// What each class is (digits, or clothing names).
    #[wasm_bindgen(getter, js_name = classNames)]
    pub fn class_names(&self) -> Vec<String> {
        self.engine.borrow().data().class_names.clone()
    }

    /// Time steps of every inference.
    #[wasm_bindgen(getter)]
    pub fn steps(&self) -> usize {
        self.engine.borrow().steps()
    }

    /// Number of classes.
    #[wasm_bindgen(getter)]
    pub fn classes(&self) -> usize {
        self.engine.borrow().spec().classes()
    }

    /// Most spikes a neuron emits in one step (S_max).
    #[wasm_bindgen(getter, js_name = sMax)]
    pub fn s_max(&self) -> u32 {
        self.engine.borrow().s_max()
    }

    /// Where inferences run: `"webgpu"` or `"cpu"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.to_string()
    }

    /// Whether this build has the WebGPU path: `true` in the npm package's `mtsnn` entry, `false`
    /// in its CPU-only `mtsnn/cpu` entry, where asking for `"webgpu"` fails.
    #[wasm_bindgen(getter, js_name = hasWebGpu)]
    pub fn has_webgpu() -> bool {
        cfg!(feature = "gpu")
    }

    /// Why the model runs where it runs: the adapter for WebGPU, the reason for the CPU.
    #[wasm_bindgen(getter, js_name = backendNote)]
    pub fn backend_note(&self) -> String {
        self.note.clone()
    }

    /// The weighted layers, output layer last.
    #[wasm_bindgen(getter, unchecked_return_type = "LayerDescription[]")]
    pub fn layers(&self) -> Result<Array, JsError> {
        let engine = self.engine.borrow();
        let list = Array::new();
        for info in layer_infos(engine.spec()) {
            let shape: Array = info
                .shape
                .iter()
                .map(|&d| JsValue::from(d as u32))
                .collect();
            let layer = object(&[
                ("kind", info.kind.into()),
                ("shape", shape.into()),
                ("units", (info.units as u32).into()),
            ])?;
            list.push(&layer);
        }
        Ok(list)
    }
}

/// Turns a drawing into the 28×28 input the networks were trained on, MNIST-style: the ink's
/// bounding box scaled into 20×20 (aspect kept, anti-aliased) and centred by its centre of mass.
/// `ink` holds `width`×`height` values in 0..1 (0 = background), row-major; the result holds 784
/// multiples of 1/255.
#[wasm_bindgen]
pub fn mnistify(ink: Vec<f32>, width: usize, height: usize) -> Result<Vec<f32>, JsError> {
    Ok(prepare::mnistify(&ink, width, height)?)
}

/// Where `Model.load` with `"auto"` (`auto`) or `"webgpu"` runs `model`: a WebGPU backend holding
/// it, or `None` for the CPU; with why (see [`webgpu::place`]).
#[cfg(feature = "gpu")]
async fn place(
    model: &Network,
    auto: bool,
) -> Result<(Option<Box<dyn Backend>>, String), WebError> {
    // Without `navigator.gpu` (Node, older browsers) there is no adapter to ask for.
    let Some(gpu) = navigator_gpu() else {
        return if auto {
            Ok((
                None,
                "auto: no WebGPU here (navigator.gpu is missing)".into(),
            ))
        } else {
            Err(WebError::Gpu(
                "no adapter (navigator.gpu is missing)".into(),
            ))
        };
    };
    let placed = webgpu::place(model, auto, adapter_words(&gpu).await).await?;
    let gpu = placed.gpu.map(|b| Box::new(b) as Box<dyn Backend>);
    Ok((gpu, placed.note))
}

/// The CPU-only build (no `gpu` feature: the npm package's `mtsnn/cpu`) has no WebGPU path.
#[cfg(not(feature = "gpu"))]
async fn place(_: &Network, auto: bool) -> Result<(Option<Box<dyn Backend>>, String), WebError> {
    if auto {
        Ok((
            None,
            "auto: this build has no WebGPU path (CPU only)".into(),
        ))
    } else {
        Err(WebError::Gpu(
            "this build has no WebGPU path: it is the CPU-only one (the package's `mtsnn/cpu` \
             entry); import `mtsnn` for WebGPU"
                .into(),
        ))
    }
}

/// The vendor and architecture of the adapter `gpu.requestAdapter()` gives (e.g. `google
/// swiftshader`): browsers hide its name (`info.description`), which is all wgpu reports.
#[cfg(feature = "gpu")]
async fn adapter_words(gpu: &JsValue) -> Option<String> {
    let get = |o: &JsValue, key: &str| Reflect::get(o, &key.into()).ok();
    let request = get(gpu, "requestAdapter")?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let promise = request
        .call0(gpu)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let info = get(&adapter, "info").filter(JsValue::is_object)?;
    let words: Vec<String> = ["vendor", "architecture"]
        .iter()
        .filter_map(|key| get(&info, key)?.as_string())
        .filter(|w| !w.is_empty())
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// `navigator.gpu`, when the JavaScript environment has it. wgpu must not be asked otherwise: it
/// panics outside windows and workers (in Node, say) instead of reporting no adapter.
#[cfg(feature = "gpu")]
fn navigator_gpu() -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &"navigator".into())
        .ok()
        .filter(JsValue::is_object)
        .and_then(|navigator| Reflect::get(&navigator, &"gpu".into()).ok())
        .filter(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

/// `options[key]` as a string, `None` when `options` or the key is absent.
fn option(options: &JsValue, key: &str) -> Result<Option<String>, WebError> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let value = Reflect::get(options, &key.into())
        .map_err(|_| WebError::Option("options must be an object".into()))?;
    if value.is_undefined() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| WebError::Option(format!("{key} must be a string")))
}

/// An object with these properties.
fn object(fields: &[(&str, JsValue)]) -> Result<Object, JsError> {
    let o = Object::new();
    for (k, v) in fields {
        Reflect::set(&o, &(*k).into(), v)
            .map_err(|_| JsError::new("internal: cannot build a result object"))?;
    }
    Ok(o)
}

/// The `InferResult` object of an outcome.
fn to_js(o: &Outcome, backend: &str, micros: f64) -> Result<JsValue, JsError> {
    let output: Array = o
        .output_counts
        .iter()
        .map(|step| step.iter().map(|&c| JsValue::from(c)).collect::<Array>())
        .collect();
    let layers: Array = o
        .layer_counts
        .iter()
        .map(|layer| {
            layer
                .iter()
                .map(|step| Uint32Array::from(&step[..]))
                .collect::<Array>()
        })
        .collect();
    Ok(object(&[
        ("label", (o.label as u32).into()),
        ("outputCounts", output.into()),
        ("layerCounts", layers.into()),
        ("totalSpikes", (o.total_spikes as f64).into()),
        ("synops", o.synops.into()),
        ("backend", backend.into()),
        ("micros", micros.into()),
    ])?
    .into())
}
