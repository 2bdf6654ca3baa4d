//! The one error type of the engine.

use std::path::PathBuf;

/// Everything that can go wrong inside `mtsnn-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A network string such as `784-800-10` that does not parse or does not fit the input.
    #[error("invalid network string {spec:?}: {reason}")]
    InvalidSpec {
        /// The network string as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A hyper-parameter out of its meaningful range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParam {
        /// The parameter's name (`tau_m`, `v_th`, ...).
        name: &'static str,
        /// Why its value is refused.
        reason: String,
    },
    /// Buffers whose sizes do not match what the network expects.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A checkpoint that cannot be read or does not fit.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A tensor holding NaN or ±∞, named as in a checkpoint (`layer1.weight`, `layer0.adam_m`).
    #[error(
        "tensor {tensor} holds {value} at index {index}: the weights are not finite (the training that \
         produced them diverged)"
    )]
    NonFinite {
        /// The tensor's name.
        tensor: String,
        /// The flat index of the first non-finite element.
        index: usize,
        /// That element's value.
        value: f32,
    },
    /// A file-system error, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A run folder whose files do not describe a run this version can continue, or a training
    /// that cannot go on (its loss or weights stopped being finite).
    #[error("{path}: {reason}")]
    Run {
        /// The run folder or the file in it.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No GPU adapter could be found or opened, or the crate was built without its `gpu` feature.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// An error reported by wgpu (validation, out of memory, device lost, ...).
    #[error("GPU error: {0}")]
    Gpu(String),
}

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
