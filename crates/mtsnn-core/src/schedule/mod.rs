//! What a batch computes, backend-free: an ordered list of kernel launches ([`Step`]) over
//! numbered buffers ([`Buf`]), whose sizes are worked out here, once. [`NetSchedule::new`] is the
//! only place that knows the order of layers, time steps and passes; an [`crate::executor::Executor`]
//! runs the list with its own kernels (the CPU's directly, the GPU's recorded once per batch size
//! and replayed).

mod binding;
mod net;

pub use binding::{Binding, Bindings, Role};
pub use net::{NetSchedule, Params};

use crate::error::{Error, Result};
use crate::kernel_params::ScanParams;
use crate::plan::ConvGeom;
use crate::surrogate::SurrogateParams;

/// What a batch is run for. Each mode runs the steps of the one before it, then its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// The forward pass (eq 3–5).
    Inference,
    /// The forward pass, the loss (eq 6) and the gradients (eq 9–13).
    Gradients,
    /// The gradients, then one Adam update of every weighted layer.
    Training,
}

/// A buffer of a [`Schedule`]: an index into [`Schedule::buffers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Buf(pub usize);

/// One buffer of 32-bit values (f32, or the u32 bits of labels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// What it holds, for messages.
    pub name: String,
    /// Values: the most any step uses.
    pub len: usize,
    /// One of the model's tensors (weights, gradients, Adam moments): the same buffer in every
    /// schedule of a network, kept by the executor from batch to batch. Other buffers hold one
    /// batch's values, and their length is proportional to the batch.
    pub param: bool,
}

/// One kernel launch. Each variant is one kernel of `cpu/` and its twin in `shaders/`, with the
/// sizes the kernel takes; the layouts are those of the CPU kernel of the same name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// C = op(A)·op(B), C `[m][n]` (`cpu::gemm::matmul`).
    Matmul {
        /// A: `[m][k]`, or `[k][m]` when `a_t`.
        a: Buf,
        /// B: `[k][n]`, or `[n][k]` when `b_t`.
        b: Buf,
        /// Written: C, `[m][n]`.
        c: Buf,
        /// Rows of C.
        m: usize,
        /// Columns of C.
        n: usize,
        /// The inner dimension.
        k: usize,
        /// op(A) = Aᵀ.
        a_t: bool,
        /// op(B) = Bᵀ.
        b_t: bool,
    },
    /// Eq 3–5 for `m` neurons over `steps` steps (`cpu::neuron::lif_forward`).
    LifForward {
        /// Input current I, `[steps][m]`, or `[m]` when `constant`.
        current: Buf,
        /// The same current at every step (layer 1's direct-encoded input).
        constant: bool,
        /// Time steps T.
        steps: usize,
        /// Neurons (batch × layer width).
        m: usize,
        /// Leak λ = 1 − 1/τ_m.
        lambda: f32,
        /// V_th and S_max (the surrogate itself is not used here).
        sp: SurrogateParams,
        /// Written: pre-reset potentials v, `[steps][m]`.
        v: Buf,
        /// Written: spike counts s, `[steps][m]`.
        s: Buf,
    },
    /// Eq 6 and (s − y)/B (`cpu::neuron::output_error`); `loss` receives the per-sample losses.
    OutputError {
        /// The output layer's spikes, `[steps][batch][classes]`.
        s: Buf,
        /// Class indices, `[batch]`, as u32.
        labels: Buf,
        /// Time steps T.
        steps: usize,
        /// Samples.
        batch: usize,
        /// Output neurons.
        classes: usize,
        /// The desired spike count y of the labelled class at each step (0 for the others).
        target: f32,
        /// Written: ∂L/∂s = (s − y) / batch, `[steps][batch][classes]`.
        upstream: Buf,
        /// Written: each sample's loss, `[batch]`.
        loss: Buf,
    },
    /// δ and G through one layer of neurons, eq 9–13 or BPTT (`cpu::neuron::surrogate_g_scan`).
    SurrogateGScan {
        /// ∂L/∂s from the loss or the layer above, `[steps][m]`.
        upstream: Buf,
        /// The forward pass's pre-reset potentials, `[steps][m]`.
        v: Buf,
        /// Time steps T.
        steps: usize,
        /// Neurons (batch × layer width).
        m: usize,
        /// λ, the surrogate and the gradient mode.
        scan: ScanParams,
        /// Written: δ, `[steps][m]`.
        delta: Buf,
        /// Written: G, `[steps][m]`.
        g: Buf,
    },
    /// Σ_t x\[t\] (`cpu::neuron::sum_steps`).
    SumSteps {
        /// The values, `[steps][m]`.
        x: Buf,
        /// Time steps T.
        steps: usize,
        /// Values per step.
        m: usize,
        /// Written: their sum over steps, `[m]`.
        out: Buf,
    },
    /// One Adam update of `len` weights (`cpu::adam::adam_update`); the step's constants are
    /// given when the schedule runs.
    Adam {
        /// The weights, updated.
        w: Buf,
        /// Their gradient.
        grad: Buf,
        /// First-moment estimate, updated.
        m: Buf,
        /// Second-moment estimate, updated.
        v: Buf,
        /// Weights in the tensor.
        len: usize,
    },
    /// Eq 3's I = W ∗ s_in (`cpu::conv::conv_forward`).
    ConvForward {
        /// Input maps, `[images][in_ch][h][w]`.
        input: Buf,
        /// Weights, `[out_ch][in_ch][k][k]`.
        w: Buf,
        /// Written: the current, `[images][out_ch][oh][ow]`.
        out: Buf,
        /// Images convolved (samples, or samples × steps).
        images: usize,
        /// The convolution's sizes.
        geom: ConvGeom,
    },
    /// Eq 9 through a conv layer (`cpu::conv::conv_input_grad`).
    ConvInputGrad {
        /// Gradient of the output, `[images][out_ch][oh][ow]`.
        grad_out: Buf,
        /// Weights, `[out_ch][in_ch][k][k]`.
        w: Buf,
        /// Written: gradient of the input, `[images][in_ch][h][w]`.
        grad_in: Buf,
        /// Images (samples × steps).
        images: usize,
        /// The convolution's sizes.
        geom: ConvGeom,
    },
    /// Eq 13 for a conv layer (`cpu::conv::conv_weight_grad`).
    ConvWeightGrad {
        /// The forward pass's input maps, `[images][in_ch][h][w]`.
        input: Buf,
        /// Gradient of the output, `[images][out_ch][oh][ow]`.
        grad_out: Buf,
        /// Written: gradient of the weights, `[out_ch][in_ch][k][k]`, summed over images.
        grad_w: Buf,
        /// Images (samples, or samples × steps).
        images: usize,
        /// The convolution's sizes.
        geom: ConvGeom,
    },
    /// k×k average pooling (`cpu::pool::avg_pool_forward`).
    AvgPoolForward {
        /// Input maps, `[maps][h][w]`.
        input: Buf,
        /// Written: pooled maps, `[maps][h/k][w/k]`.
        out: Buf,
        /// The sizes.
        pool: Pool,
    },
    /// Its transpose (`cpu::pool::avg_pool_backward`).
    AvgPoolBackward {
        /// Gradient of the output, `[maps][h/k][w/k]`.
        grad_out: Buf,
        /// Written: gradient of the input, `[maps][h][w]`.
        grad_in: Buf,
        /// The sizes.
        pool: Pool,
    },
    /// k×k max pooling (`cpu::pool::max_pool_forward`).
    MaxPoolForward {
        /// Input maps, `[maps][h][w]`.
        input: Buf,
        /// Written: pooled maps, `[maps][h/k][w/k]`.
        out: Buf,
        /// The sizes.
        pool: Pool,
    },
    /// Its gradient, to the first maximum of each window of `input` (`cpu::pool::max_pool_backward`).
    MaxPoolBackward {
        /// The forward pass's input maps, `[maps][h][w]`.
        input: Buf,
        /// Gradient of the output, `[maps][h/k][w/k]`.
        grad_out: Buf,
        /// Written: gradient of the input, `[maps][h][w]`.
        grad_in: Buf,
        /// The sizes.
        pool: Pool,
    },
}

/// `maps` maps of `height × width` pooled by `kernel × kernel` windows, stride `kernel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Maps (images × channels).
    pub maps: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Window side k, also the stride.
    pub kernel: usize,
}

impl Pool {
    fn in_len(&self) -> usize {
        self.maps * self.height * self.width
    }

    fn out_len(&self) -> usize {
        self.maps * (self.height / self.kernel) * (self.width / self.kernel)
    }
}

impl Step {
    /// The name of its kernel: the CPU function's, the launcher's and the WGSL file's.
    pub fn kernel(&self) -> &'static str {
        match self {
            Step::Matmul { .. } => "matmul",
            Step::LifForward { .. } => "lif_forward",
            Step::OutputError { .. } => "output_error",
            Step::SurrogateGScan { .. } => "surrogate_g_scan",
            Step::SumSteps { .. } => "sum_steps",
            Step::Adam { .. } => "adam",
            Step::ConvForward { .. } => "conv_forward",
            Step::ConvInputGrad { .. } => "conv_input_grad",
            Step::ConvWeightGrad { .. } => "conv_weight_grad",
            Step::AvgPoolForward { .. } => "avg_pool_forward",
            Step::AvgPoolBackward { .. } => "avg_pool_backward",
            Step::MaxPoolForward { .. } => "max_pool_forward",
            Step::MaxPoolBackward { .. } => "max_pool_backward",
        }
    }

    /// What the step computes, in a few words: its kernel and sizes (for profiles).
    pub fn label(&self) -> String {
        match *self {
            Step::Matmul { m, n, k, .. } => format!("matmul {m}×{n}×{k}"),
            Step::LifForward { steps, m, .. } => format!("lif_forward {steps}×{m}"),
            Step::OutputError {
                steps,
                batch,
                classes,
                ..
            } => format!("output_error {steps}×{batch}×{classes}"),
            Step::SurrogateGScan { steps, m, .. } => format!("surrogate_g_scan {steps}×{m}"),
            Step::SumSteps { steps, m, .. } => format!("sum_steps {steps}×{m}"),
            Step::Adam { len, .. } => format!("adam {len}"),
            Step::ConvForward { images, geom, .. } => format!(
                "conv_forward {images}×{}→{} {}×{}",
                geom.in_channels, geom.out_channels, geom.height, geom.width
            ),
            Step::ConvInputGrad { images, geom, .. } => format!(
                "conv_input_grad {images}×{}→{} {}×{}",
                geom.in_channels, geom.out_channels, geom.height, geom.width
            ),
            Step::ConvWeightGrad { images, geom, .. } => format!(
                "conv_weight_grad {images}×{}→{} {}×{}",
                geom.in_channels, geom.out_channels, geom.height, geom.width
            ),
            Step::AvgPoolForward { pool, .. } => format!("avg_pool_forward {}", pool.maps),
            Step::AvgPoolBackward { pool, .. } => format!("avg_pool_backward {}", pool.maps),
            Step::MaxPoolForward { pool, .. } => format!("max_pool_forward {}", pool.maps),
            Step::MaxPoolBackward { pool, .. } => format!("max_pool_backward {}", pool.maps),
        }
    }
}

impl Pool {
    /// Fails with [`Error::Shape`] unless a window fits the maps.
    pub fn check(&self) -> Result<()> {
        if self.kernel == 0 || self.kernel > self.height.min(self.width) {
            return Err(Error::Shape(format!(
                "a {k}×{k} pooling window on {h}×{w} maps",
                k = self.kernel,
                h = self.height,
                w = self.width
            )));
        }
        Ok(())
    }
}

/// Kernel launches in order over buffers: what an executor runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The buffers, indexed by [`Buf`].
    pub buffers: Vec<Buffer>,
    /// The launches, in order.
    pub steps: Vec<Step>,
}

impl Schedule {
    /// The schedule of `steps` over buffers named `names` (`Buf(i)` is `names[i]`, with `true` for
    /// the model's tensors): each buffer as long as its steps need.
    pub fn new(names: Vec<(String, bool)>, steps: Vec<Step>) -> Result<Self> {
        let mut buffers: Vec<Buffer> = names
            .into_iter()
            .map(|(name, param)| Buffer {
                name,
                len: 0,
                param,
            })
            .collect();
        let count = buffers.len();
        for step in &steps {
            for b in step.bindings()?.iter() {
                let buffer = buffers.get_mut(b.buf.0).ok_or_else(|| {
                    Error::Shape(format!("{step:?} uses buffer {} of {count}", b.buf.0))
                })?;
                buffer.len = buffer.len.max(b.len);
            }
        }
        Ok(Self { buffers, steps })
    }

    /// The length of `b`.
    pub fn len_of(&self, b: Buf) -> usize {
        self.buffers[b.0].len
    }
}
