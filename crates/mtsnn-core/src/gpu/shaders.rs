//! The registry of WGSL kernels: one declaration per kernel (in `kernels!` below) gives its
//! name, its source, its entry point and the `#[repr(C)]` twin of its `struct Params`.
//!
//! A kernel is `shaders/FAMILY/NAME.wgsl` in the workspace, composed at build time (`build.rs`, with the
//! snippets of `shaders/lib/`) and embedded from `$OUT_DIR`. Its uniform parameters (binding 0)
//! are a Rust struct declared with `params!`, which records each member's name, offset and WGSL
//! type; `tests/tests/shaders.rs` checks that record against the composed module's `struct Params`
//! as naga lays it out, so a member added, moved or retyped on one side only fails the tests.
//!
//! A new kernel is its `.wgsl` file in its family's folder, a line in `kernels!` (and a `params!`
//! struct if none of those below fits) and its launcher in the GPU module of its family; the
//! tests find it through [`Kernel::ALL`].

/// A WGSL scalar that a `struct Params` member can be.
pub trait Scalar: bytemuck::Pod {
    /// Its WGSL name.
    const WGSL: &'static str;
}

impl Scalar for u32 {
    const WGSL: &'static str = "u32";
}

impl Scalar for f32 {
    const WGSL: &'static str = "f32";
}

/// One member of a parameter struct, as Rust lays it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The member's name, the same in Rust and WGSL.
    pub name: &'static str,
    /// Bytes from the start of the struct.
    pub offset: usize,
    /// The WGSL scalar type: `u32` or `f32`.
    pub wgsl: &'static str,
}

/// The layout of a kernel's uniform parameters in Rust, which must be that of its WGSL
/// `struct Params`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamsLayout {
    /// The Rust struct's name.
    pub name: &'static str,
    /// Its size in bytes.
    pub size: usize,
    /// Its members in order.
    pub fields: &'static [Field],
}

/// A kernel's uniform parameters: a `#[repr(C)]` struct of WGSL scalars, uploaded as its bytes.
pub trait Params: bytemuck::Pod {
    const LAYOUT: ParamsLayout;
}

/// Declares a parameter struct (`#[repr(C)]`, `Pod`, public fields) and its [`Params`] layout.
macro_rules! params {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name {
            $(pub $field: $ty),*
        }

        impl Params for $name {
            const LAYOUT: ParamsLayout = ParamsLayout {
                name: stringify!($name),
                size: size_of::<$name>(),
                fields: &[$(Field {
                    name: stringify!($field),
                    offset: std::mem::offset_of!($name, $field),
                    wgsl: <$ty as Scalar>::WGSL,
                }),*],
            };
        }
    };
}

params! {
    /// `matmul.wgsl`'s: C is `[m][n]`, the inner dimension `k`; `tiles_l` tiles along the lane side.
    MatmulParams { m: u32, n: u32, k: u32, tiles_l: u32 }
}

params! {
    /// `gemm.wgsl`'s and `gemm_vec4.wgsl`'s: C is `[m][n]`, the inner dimension `k`; `tiles_n` tiles along C's columns.
    GemmParams { m: u32, n: u32, k: u32, tiles_n: u32 }
}

params! {
    /// `lif_forward.wgsl`'s: `m` neurons over `steps` steps; `constant` = 1 when the current is the
    /// same at every step.
    LifForwardParams { m: u32, steps: u32, constant: u32, _pad: u32 }
}

params! {
    /// `output_error.wgsl`'s: the desired spike count of the labelled class is `target_count`.
    OutputErrorParams { batch: u32, steps: u32, classes: u32, target_count: f32 }
}

params! {
    /// `surrogate_g_scan.wgsl`'s and `sum_steps.wgsl`'s: a `[steps][m]` buffer.
    StepsParams { m: u32, steps: u32, _pad0: u32, _pad1: u32 }
}

params! {
    /// `adam.wgsl`'s: `n` weights, the step's constants and bias corrections `c1`, `c2`.
    AdamParams { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, c1: f32, c2: f32, _pad: u32 }
}

params! {
    /// The three convolution kernels': the geometry, and `tiles_l` tiles along the lane side of
    /// the implicit GEMM.
    ConvParams {
        images: u32,
        in_ch: u32,
        out_ch: u32,
        kernel: u32,
        padding: u32,
        height: u32,
        width: u32,
        out_h: u32,
        out_w: u32,
        tiles_l: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

params! {
    /// The four pooling kernels': `maps` maps of `height` × `width`, `kernel` × `kernel` windows.
    PoolParams { maps: u32, height: u32, width: u32, kernel: u32 }
}

params! {
    /// `gather.wgsl`'s: a batch of `batch` samples of `channels`×`height`×`width` from position
    /// `first` of the pass, cropped with padding `pad`; the set's labels start at word
    /// `labels_at`, its packed pixels at `pixels_at`; `with_labels` = 1 to write the labels too.
    GatherParams {
        batch: u32,
        channels: u32,
        height: u32,
        width: u32,
        pad: u32,
        first: u32,
        labels_at: u32,
        pixels_at: u32,
        with_labels: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

params! {
    /// `tally.wgsl`'s: a batch of `batch` samples whose first is position `first` of the pass.
    TallyParams { batch: u32, steps: u32, classes: u32, first: u32 }
}

/// Declares [`Kernel`]: one line per kernel, `Variant: "family", "file name without .wgsl",
/// ParamsType;`.
macro_rules! kernels {
    ($($(#[$doc:meta])* $kernel:ident: $family:literal, $file:literal, $params:ty;)*) => {
        /// One compute kernel: a `.wgsl` file with a `main` entry point in its family's folder,
        /// its launcher in the GPU module and its CPU twin in the CPU module of that name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kernel {
            $($(#[$doc])* $kernel,)*
        }

        impl Kernel {
            /// Every kernel, in no particular order.
            pub const ALL: [Kernel; [$($file),*].len()] = [$(Kernel::$kernel),*];

            /// The file's name, `NAME.wgsl` (labels, messages).
            pub fn file_name(self) -> &'static str {
                match self {
                    $(Kernel::$kernel => concat!($file, ".wgsl"),)*
                }
            }

            /// Its family: the folder of `shaders/` holding it, and the name of the CPU and GPU
            /// modules holding its twin and its launcher.
            pub fn family(self) -> &'static str {
                match self {
                    $(Kernel::$kernel => $family,)*
                }
            }

            /// The file's path inside `shaders/`: `FAMILY/NAME.wgsl`.
            pub fn path(self) -> &'static str {
                match self {
                    $(Kernel::$kernel => concat!($family, "/", $file, ".wgsl"),)*
                }
            }

            /// The composed WGSL source, as embedded at build time.
            pub fn source(self) -> &'static str {
                match self {
                    $(Kernel::$kernel => include_str!(
                        concat!(env!("OUT_DIR"), "/", $family, "/", $file, ".wgsl")
                    ),)*
                }
            }

            /// The Rust layout of its `struct Params`.
            pub fn params(self) -> ParamsLayout {
                match self {
                    $(Kernel::$kernel => <$params as Params>::LAYOUT,)*
                }
            }
        }
    };
}

kernels! {
    /// C = op(A)·op(B) with optional transposes.
    Matmul: "gemm", "matmul", MatmulParams;
    /// The same GEMM on workgroup-memory tiles, for hardware GPUs.
    Gemm: "gemm", "gemm", GemmParams;
    /// The same tiled GEMM with 16-byte loads of the operands whose rows allow them.
    GemmVec4: "gemm", "gemm_vec4", GemmParams;
    /// Eq 3–5: membrane potentials and multi-threshold spike counts.
    LifForward: "neuron", "lif_forward", LifForwardParams;
    /// Eq 6 and the first factor of eq 10.
    OutputError: "neuron", "output_error", OutputErrorParams;
    /// Eq 9–13 with the surrogates of eq 14–16: δ and the backward trace G.
    SurrogateGScan: "neuron", "surrogate_g_scan", StepsParams;
    /// Σ_t over the steps of a `[steps][m]` buffer.
    SumSteps: "neuron", "sum_steps", StepsParams;
    /// One Adam update.
    Adam: "adam", "adam", AdamParams;
    /// Eq 3's I = W ∗ s_in for a conv layer (stride 1, zero padding).
    ConvForward: "conv", "conv_forward", ConvParams;
    /// Eq 9's (W^{l+1})ᵀ δ^{l+1} for a conv layer: the transposed convolution.
    ConvInputGrad: "conv", "conv_input_grad", ConvParams;
    /// Eq 3 for a conv layer on the workgroup-memory tile, for hardware GPUs.
    ConvForwardTiled: "conv", "conv_forward_tiled", ConvParams;
    /// Eq 9 for a conv layer on the workgroup-memory tile, for hardware GPUs.
    ConvInputGradTiled: "conv", "conv_input_grad_tiled", ConvParams;
    /// Eq 13's ∂L/∂W for a conv layer.
    ConvWeightGrad: "conv", "conv_weight_grad", ConvParams;
    /// k×k average pooling of spike maps.
    AvgPoolForward: "pool", "avg_pool_forward", PoolParams;
    /// The transpose of average pooling.
    AvgPoolBackward: "pool", "avg_pool_backward", PoolParams;
    /// k×k max pooling of spike maps.
    MaxPoolForward: "pool", "max_pool_forward", PoolParams;
    /// The gradient of max pooling, to the first maximum of each window.
    MaxPoolBackward: "pool", "max_pool_backward", PoolParams;
    /// A batch gathered, cropped, flipped and normalised from an image set on the device.
    Gather: "pass", "gather", GatherParams;
    /// Per-sample losses and hits, or output totals, of a batch into a pass's records.
    Tally: "pass", "tally", TallyParams;
}

impl Kernel {
    /// The name of the entry point: `main` in every kernel (`tests/tests/shaders.rs` checks).
    pub fn entry_point(self) -> &'static str {
        "main"
    }
}
