//! The one error type of the browser crate; the JavaScript API turns it into a `JsError`.

/// Everything that can go wrong between JavaScript and the engine.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The model file could not be read (not a safetensors checkpoint of `mtsnn`, truncated, …).
    #[error("cannot load the model: {0}")]
    Model(String),
    /// An input of the wrong size or with values out of range.
    #[error("bad input: {0}")]
    Input(String),
    /// An option object with an unknown or malformed value.
    #[error("bad option: {0}")]
    Option(String),
    /// WebGPU was asked for and is missing, or failed.
    #[error("WebGPU: {0}")]
    Gpu(String),
    /// The engine failed while running.
    #[error("inference failed: {0}")]
    Engine(#[from] mtsnn_core::Error),
}
