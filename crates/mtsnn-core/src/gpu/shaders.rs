//! The WGSL kernels, one per file in the workspace's `shaders/` folder.
//!
//! They are embedded at build time by `include_str!` of a path relative to this file
//! (`../../../../shaders/`). A crate cannot publish files outside its own folder, so this works
//! because `mtsnn-core` is built only inside this workspace and is not published on its own.

/// One compute kernel: a `.wgsl` file with a `main` entry point, and its CPU twin in
/// [`crate::cpu::kernels`].
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
}

impl Kernel {
    /// Every kernel, in no particular order.
    pub const ALL: [Kernel; 6] = [
        Kernel::Matmul,
        Kernel::LifForward,
        Kernel::OutputError,
        Kernel::SurrogateGScan,
        Kernel::SumSteps,
        Kernel::Adam,
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
        }
    }

    /// The name of the entry point.
    pub fn entry_point(self) -> &'static str {
        "main"
    }
}
