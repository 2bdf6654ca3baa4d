//! The one error type of the engine.

use std::path::PathBuf;

/// Everything that can go wrong inside `mtsnn-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A network string such as `784-800-10` that does not parse or does not fit the input.
    #[error("invalid network string {spec:?}: {reason}")]
    InvalidSpec { spec: String, reason: String },
    /// A hyper-parameter out of its meaningful range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParam { name: &'static str, reason: String },
    /// Buffers whose sizes do not match what the network expects.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A checkpoint that cannot be read or does not fit.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    /// A tensor holding NaN or ±∞, named as in a checkpoint (`layer1.weight`, `layer0.adam_m`).
    #[error(
        "tensor {tensor} holds {value} at index {index}: the weights are not finite (the training that \
         produced them diverged)"
    )]
    NonFinite {
        tensor: String,
        index: usize,
        value: f32,
    },
    /// A file-system error, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No GPU adapter could be found or opened.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// An error reported by wgpu (validation, out of memory, device lost, ...).
    #[error("GPU error: {0}")]
    Gpu(String),
}

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
