//! The WGSL kernels, one per file in the workspace's `shaders/` folder.
//!
//! They are embedded at build time by `include_str!` of a path relative to this file
//! (`../../../../shaders/`). A crate cannot publish files outside its own folder, so this works
//! because `mtsnn-core` is built only inside this workspace and is not published on its own.

/// One compute kernel: a `.wgsl` file with a `main` entry point, and its CPU twin in
/// [`crate::cpu::kernels`] or [`crate::cpu::conv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// C = op(A)·op(B) with optional transposes.
    Matmul,
    /// Eq 3–5: membrane potentials and multi-threshold spike counts.
    LifForward,
    /// Eq 6 and the first factor of eq 10.
    OutputError,
    /// Eq 9–13 with the surrogates of eq 14–16: δ and the backward trace G.
    SurrogateGScan,
    /// Σ_t over the steps of a `[steps][m]` buffer.
    SumSteps,
    /// One Adam update.
    Adam,
    /// Eq 3's I = W ∗ s_in for a conv layer (stride 1, zero padding).
    ConvForward,
    /// Eq 9's (W^{l+1})ᵀ δ^{l+1} for a conv layer: the transposed convolution.
    ConvInputGrad,
    /// Eq 13's ∂L/∂W for a conv layer.
    ConvWeightGrad,
    /// k×k average pooling of spike maps.
    AvgPoolForward,
    /// The transpose of average pooling.
    AvgPoolBackward,
    /// k×k max pooling of spike maps.
    MaxPoolForward,
    /// The gradient of max pooling, to the first maximum of each window.
    MaxPoolBackward,
}

impl Kernel {
    /// Every kernel, in no particular order.
    pub const ALL: [Kernel; 13] = [
        Kernel::Matmul,
        Kernel::LifForward,
        Kernel::OutputError,
        Kernel::SurrogateGScan,
        Kernel::SumSteps,
        Kernel::Adam,
        Kernel::ConvForward,
        Kernel::ConvInputGrad,
        Kernel::ConvWeightGrad,
        Kernel::AvgPoolForward,
        Kernel::AvgPoolBackward,
        Kernel::MaxPoolForward,
        Kernel::MaxPoolBackward,
    ];

    /// The file's name inside `shaders/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Kernel::Matmul => "matmul.wgsl",
            Kernel::LifForward => "lif_forward.wgsl",
            Kernel::OutputError => "output_error.wgsl",
            Kernel::SurrogateGScan => "surrogate_g_scan.wgsl",
            Kernel::SumSteps => "sum_steps.wgsl",
            Kernel::Adam => "adam.wgsl",
            Kernel::ConvForward => "conv_forward.wgsl",
            Kernel::ConvInputGrad => "conv_input_grad.wgsl",
            Kernel::ConvWeightGrad => "conv_weight_grad.wgsl",
            Kernel::AvgPoolForward => "avg_pool_forward.wgsl",
            Kernel::AvgPoolBackward => "avg_pool_backward.wgsl",
            Kernel::MaxPoolForward => "max_pool_forward.wgsl",
            Kernel::MaxPoolBackward => "max_pool_backward.wgsl",
        }
    }

    /// The WGSL source, as embedded at build time.
    pub fn source(self) -> &'static str {
        match self {
            Kernel::Matmul => include_str!("../../../../shaders/matmul.wgsl"),
            Kernel::LifForward => include_str!("../../../../shaders/lif_forward.wgsl"),
            Kernel::OutputError => include_str!("../../../../shaders/output_error.wgsl"),
            Kernel::SurrogateGScan => include_str!("../../../../shaders/surrogate_g_scan.wgsl"),
            Kernel::SumSteps => include_str!("../../../../shaders/sum_steps.wgsl"),
            Kernel::Adam => include_str!("../../../../shaders/adam.wgsl"),
            Kernel::ConvForward => include_str!("../../../../shaders/conv_forward.wgsl"),
            Kernel::ConvInputGrad => include_str!("../../../../shaders/conv_input_grad.wgsl"),
            Kernel::ConvWeightGrad => include_str!("../../../../shaders/conv_weight_grad.wgsl"),
            Kernel::AvgPoolForward => include_str!("../../../../shaders/avg_pool_forward.wgsl"),
            Kernel::AvgPoolBackward => include_str!("../../../../shaders/avg_pool_backward.wgsl"),
            Kernel::MaxPoolForward => include_str!("../../../../shaders/max_pool_forward.wgsl"),
            Kernel::MaxPoolBackward => include_str!("../../../../shaders/max_pool_backward.wgsl"),
        }
    }

    /// The name of the entry point.
    pub fn entry_point(self) -> &'static str {
        "main"
    }
}
