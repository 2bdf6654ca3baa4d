//! mtsnn-web: multi-threshold spiking networks for web pages and wasm apps.
//!
//! The JavaScript API (built with `wasm-bindgen --target web`, see `scripts/web.sh`):
//!
//! ```js
//! import init, { Model, mnistify } from "./pkg/mtsnn_web.js";
//! await init();
//! const model = await Model.load(bytes, { dataset: "mnist" }); // a checkpoint of `mtsnn train`
//! const r = await model.infer(pixels); // 784 intensities in 0..1, row-major
//! r.label; r.outputCounts; r.layerCounts; r.totalSpikes; r.synops; r.backend; r.micros;
//! model.drawSpikes(canvas, r); // heat maps of the hidden layers and the output spikes
//! ```
//!
//! The `gpu` feature (on by default) brings the WebGPU path; without it the build runs on the CPU
//! alone and its wasm is a fraction of the size (`Model.hasWebGpu` tells which build it is).
//!
//! Everything but the JavaScript boundary ([`api`]) is plain Rust and tested natively.

pub mod api;
pub mod dataset;
pub mod draw;
pub mod engine;
pub mod error;
pub mod outcome;
pub mod prepare;
pub mod turns;
#[cfg(feature = "gpu")]
pub mod webgpu;

pub use dataset::Dataset;
pub use engine::Engine;
pub use error::WebError;
pub use outcome::{LayerInfo, Outcome};
