//! What a batch computes, backend-free: an ordered list of kernel launches ([`Step`]) over
//! numbered buffers ([`Buf`]), whose sizes are worked out here, once. [`NetSchedule::new`] is the
//! only place that knows the order of layers, time steps and passes; an [`crate::executor::Executor`]
//! runs the list with its own kernels (the CPU's directly, the GPU's recorded once per batch size
//! and replayed).

mod binding;

use std::ops::Range;

pub use binding::{Binding, Bindings, Role};

use crate::error::{Error, Result};
use crate::hyper::Hyper;
use crate::kernel_params::ScanParams;
use crate::plan::{ConvGeom, Op, layer_ops};
use crate::spec::NetSpec;
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
    /// C = op(A)·op(B), C `[m][n]` (`cpu::kernels::matmul`).
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
    /// Eq 3–5 for `m` neurons over `steps` steps (`cpu::kernels::lif_forward`).
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
    /// Eq 6 and (s − y)/B (`cpu::kernels::output_error`); `loss` receives the per-sample losses.
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
    /// δ and G through one layer of neurons, eq 9–13 or BPTT (`cpu::kernels::surrogate_g_scan`).
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
    /// Σ_t x\[t\] (`cpu::kernels::sum_steps`).
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
    /// One Adam update of `len` weights (`cpu::kernels::adam_update`); the step's constants are
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
    /// k×k average pooling (`cpu::conv::avg_pool_forward`).
    AvgPoolForward {
        /// Input maps, `[maps][h][w]`.
        input: Buf,
        /// Written: pooled maps, `[maps][h/k][w/k]`.
        out: Buf,
        /// The sizes.
        pool: Pool,
    },
    /// Its transpose (`cpu::conv::avg_pool_backward`).
    AvgPoolBackward {
        /// Gradient of the output, `[maps][h/k][w/k]`.
        grad_out: Buf,
        /// Written: gradient of the input, `[maps][h][w]`.
        grad_in: Buf,
        /// The sizes.
        pool: Pool,
    },
    /// k×k max pooling (`cpu::conv::max_pool_forward`).
    MaxPoolForward {
        /// Input maps, `[maps][h][w]`.
        input: Buf,
        /// Written: pooled maps, `[maps][h/k][w/k]`.
        out: Buf,
        /// The sizes.
        pool: Pool,
    },
    /// Its gradient, to the first maximum of each window of `input` (`cpu::conv::max_pool_backward`).
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

    /// The buffers of the step, each under the name of the field that holds it, with the values
    /// the kernel uses of it. Fails with [`Error::Shape`] for a convolution or pooling window that
    /// does not fit its maps.
    pub fn bindings(&self) -> Result<Bindings> {
        use Role::*;
        let list = match *self {
            Step::Matmul {
                a, b, c, m, n, k, ..
            } => vec![(A, a, m * k), (B, b, k * n), (C, c, m * n)],
            Step::LifForward {
                current,
                constant,
                steps,
                m,
                v,
                s,
                ..
            } => vec![
                (Current, current, if constant { m } else { steps * m }),
                (V, v, steps * m),
                (S, s, steps * m),
            ],
            Step::OutputError {
                s,
                labels,
                steps,
                batch,
                classes,
                upstream,
                loss,
                ..
            } => {
                let n = steps * batch * classes;
                vec![
                    (S, s, n),
                    (Labels, labels, batch),
                    (Upstream, upstream, n),
                    (Loss, loss, batch),
                ]
            }
            Step::SurrogateGScan {
                upstream,
                v,
                steps,
                m,
                delta,
                g,
                ..
            } => [(Upstream, upstream), (V, v), (Delta, delta), (G, g)]
                .map(|(r, b)| (r, b, steps * m))
                .to_vec(),
            Step::SumSteps { x, steps, m, out } => vec![(X, x, steps * m), (Out, out, m)],
            Step::Adam { w, grad, m, v, len } => [(W, w), (Grad, grad), (M, m), (V, v)]
                .map(|(r, b)| (r, b, len))
                .to_vec(),
            Step::ConvForward {
                input,
                w,
                out,
                images,
                geom,
            } => {
                geom.check()?;
                vec![
                    (Input, input, images * geom.in_len()),
                    (W, w, geom.weight_len()),
                    (Out, out, images * geom.out_len()),
                ]
            }
            Step::ConvInputGrad {
                grad_out,
                w,
                grad_in,
                images,
                geom,
            } => {
                geom.check()?;
                vec![
                    (GradOut, grad_out, images * geom.out_len()),
                    (W, w, geom.weight_len()),
                    (GradIn, grad_in, images * geom.in_len()),
                ]
            }
            Step::ConvWeightGrad {
                input,
                grad_out,
                grad_w,
                images,
                geom,
            } => {
                geom.check()?;
                vec![
                    (Input, input, images * geom.in_len()),
                    (GradOut, grad_out, images * geom.out_len()),
                    (GradW, grad_w, geom.weight_len()),
                ]
            }
            Step::AvgPoolForward { input, out, pool }
            | Step::MaxPoolForward { input, out, pool } => {
                pool.check()?;
                vec![(Input, input, pool.in_len()), (Out, out, pool.out_len())]
            }
            Step::AvgPoolBackward {
                grad_out,
                grad_in,
                pool,
            } => {
                pool.check()?;
                vec![
                    (GradOut, grad_out, pool.out_len()),
                    (GradIn, grad_in, pool.in_len()),
                ]
            }
            Step::MaxPoolBackward {
                input,
                grad_out,
                grad_in,
                pool,
            } => {
                pool.check()?;
                vec![
                    (Input, input, pool.in_len()),
                    (GradOut, grad_out, pool.out_len()),
                    (GradIn, grad_in, pool.in_len()),
                ]
            }
        };
        Ok(Bindings {
            step: self.kernel(),
            list: list
                .into_iter()
                .map(|(role, buf, len)| Binding { role, buf, len })
                .collect(),
        })
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

/// The buffers of one weighted layer's tensors: the same in every schedule of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// The weights.
    pub w: Buf,
    /// Their gradient.
    pub grad: Buf,
    /// Adam's first moment.
    pub m: Buf,
    /// Adam's second moment.
    pub v: Buf,
}

impl Params {
    /// Weighted layer `i`'s: buffers 4i … 4i + 3, before every per-batch buffer.
    pub fn of(i: usize) -> Self {
        Self {
            w: Buf(4 * i),
            grad: Buf(4 * i + 1),
            m: Buf(4 * i + 2),
            v: Buf(4 * i + 3),
        }
    }

    /// Names of the four buffers, in buffer order.
    pub fn names(i: usize) -> [String; 4] {
        [
            format!("w{i}"),
            format!("grad{i}"),
            format!("adam.m{i}"),
            format!("adam.v{i}"),
        ]
    }
}

/// The schedule of one batch size and mode of a network, and which buffers hold what.
#[derive(Clone, Debug, PartialEq)]
pub struct NetSchedule {
    /// The launches and buffers.
    pub schedule: Schedule,
    /// Samples per batch.
    pub batch: usize,
    /// What the batch is run for; the schedule also holds the steps of the modes before it.
    pub mode: Mode,
    /// `schedule.steps[..ends[m]]` is what mode `m` runs.
    ends: [usize; 3],
    /// `[batch][input_len]`.
    pub input: Buf,
    /// `[batch]` class indices, as u32.
    pub labels: Buf,
    /// `[batch]` per-sample losses (eq 6), written by the output-error step.
    pub loss: Buf,
    /// Spike counts of every layer (pooled values for pooling), `[steps][batch][values]`, or
    /// `[batch][values]` when the layer's output is the same at every step.
    pub spikes: Vec<Buf>,
    /// Pre-reset potentials of every layer with neurons, `[steps][batch][neurons]`.
    pub potentials: Vec<Option<Buf>>,
    /// Per weighted layer.
    pub params: Vec<Params>,
}

impl NetSchedule {
    /// The schedule of `spec` trained with `h` for batches of `batch` in `mode`.
    ///
    /// Forward (eq 3–5): a layer whose input is the same at every step (layer 1 under direct
    /// encoding, or after pooling the raw input) computes its current once; otherwise all T steps
    /// run as one GEMM/convolution over `T·B` rows. Backward (eq 6, 9–13): the output error, then
    /// per layer from the top the scan, ∂L/∂W and, for layers that feed a weighted layer, ∂L/∂s
    /// of the layer below. Scratch buffers (input currents, ∂L/∂s twice, δ, G, Σ_t G) are shared
    /// by all layers and as long as the widest layer needs.
    pub fn new(spec: &NetSpec, h: &Hyper, batch: usize, mode: Mode) -> Result<Self> {
        let ops = layer_ops(spec);
        let weighted = spec.weighted_layers().count();
        let mut names: Vec<(String, bool)> = (0..weighted)
            .flat_map(|i| Params::names(i).map(|n| (n, true)))
            .collect();
        let mut buf = |name: String| {
            names.push((name, false));
            Buf(names.len() - 1)
        };
        let input = buf("input".into());
        let (mut spikes, mut potentials) = (Vec::new(), Vec::new());
        for (li, l) in ops.iter().enumerate() {
            potentials.push(
                l.weight()
                    .map(|_| buf(format!("layer {} potentials", li + 1))),
            );
            spikes.push(buf(format!("layer {} spikes", li + 1)));
        }
        let current = buf("input currents".into());
        let labels = buf("labels".into());
        let loss = buf("losses".into());
        let upstream = [buf("∂L/∂s".into()), buf("∂L/∂s below".into())];
        let delta = buf("δ".into());
        let g = buf("G".into());
        let gsum = buf("Σ_t G".into());
        let params: Vec<Params> = (0..weighted).map(Params::of).collect();

        let (steps, lambda, sp) = (h.steps, h.lambda(), h.surrogate_params());
        // The input of layer li and whether it is the same at every step.
        let input_of = |li: usize| match li.checked_sub(1) {
            Some(below) => (spikes[below], ops[below].constant),
            None => (input, true),
        };
        let mut list = Vec::new();
        for (li, l) in ops.iter().enumerate() {
            let (x, in_constant) = input_of(li);
            let rows = if in_constant { batch } else { steps * batch };
            match l.op {
                Op::Pool {
                    channels,
                    height,
                    width,
                    kernel,
                    max,
                } => {
                    let pool = Pool {
                        maps: rows * channels,
                        height,
                        width,
                        kernel,
                    };
                    let out = spikes[li];
                    list.push(if max {
                        Step::MaxPoolForward {
                            input: x,
                            out,
                            pool,
                        }
                    } else {
                        Step::AvgPoolForward {
                            input: x,
                            out,
                            pool,
                        }
                    });
                    continue;
                }
                // Eq 3 with all steps in one GEMM: [rows, n_in] × Wᵀ.
                Op::Dense {
                    inputs,
                    outputs,
                    weight,
                } => list.push(Step::Matmul {
                    a: x,
                    b: params[weight].w,
                    c: current,
                    m: rows,
                    n: outputs,
                    k: inputs,
                    a_t: false,
                    b_t: true,
                }),
                Op::Conv { geom, weight } => list.push(Step::ConvForward {
                    input: x,
                    w: params[weight].w,
                    out: current,
                    images: rows,
                    geom,
                }),
            }
            // Eq 4–5; with a constant input the one current drives every step.
            list.push(Step::LifForward {
                current,
                constant: in_constant,
                steps,
                m: batch * l.out_len,
                lambda,
                sp,
                v: potentials[li].ok_or_else(|| missing(li))?,
                s: spikes[li],
            });
        }
        let forward_end = list.len();

        if mode >= Mode::Gradients {
            let scan = ScanParams::of(h);
            let rows = steps * batch;
            // Which of `upstream` holds ∂L/∂s of the layer being visited.
            let mut up = 0;
            let last = ops.len() - 1;
            list.push(Step::OutputError {
                s: spikes[last],
                labels,
                steps,
                batch,
                classes: ops[last].out_len,
                target: h.target_count,
                upstream: upstream[up],
                loss,
            });
            // What the layer below receives: Wᵀ δ (eq 9) or, in BPTT, Wᵀ G.
            let down = if scan.pass_down_g() { g } else { delta };
            for (li, l) in ops.iter().enumerate().rev() {
                let (x, in_constant) = input_of(li);
                // Only layers that feed a weighted layer need ∂L/∂s passed down.
                let pass_down = !in_constant;
                let m = batch * l.out_len;
                let weight = match l.op {
                    Op::Pool {
                        channels,
                        height,
                        width,
                        kernel,
                        max,
                    } => {
                        if pass_down {
                            let pool = Pool {
                                maps: rows * channels,
                                height,
                                width,
                                kernel,
                            };
                            let (grad_out, grad_in) = (upstream[up], upstream[1 - up]);
                            list.push(if max {
                                // The argmax is recomputed from the pool's input, the layer
                                // below's spikes.
                                Step::MaxPoolBackward {
                                    input: x,
                                    grad_out,
                                    grad_in,
                                    pool,
                                }
                            } else {
                                Step::AvgPoolBackward {
                                    grad_out,
                                    grad_in,
                                    pool,
                                }
                            });
                            up = 1 - up;
                        }
                        continue;
                    }
                    Op::Dense { weight, .. } | Op::Conv { weight, .. } => weight,
                };
                let p = params[weight];
                list.push(Step::SurrogateGScan {
                    upstream: upstream[up],
                    v: potentials[li].ok_or_else(|| missing(li))?,
                    steps,
                    m,
                    scan,
                    delta,
                    g,
                });
                // ∂L/∂W = Σ_t G[t]ᵀ s_in[t] over the stacked (t, b) rows, or (Σ_t G[t])ᵀ s_in
                // when the input is the same at every step (eq 13).
                let (g_in, grad_rows) = if in_constant {
                    list.push(Step::SumSteps {
                        x: g,
                        steps,
                        m,
                        out: gsum,
                    });
                    (gsum, batch)
                } else {
                    (g, rows)
                };
                // Eq 9: the layer below receives (W^l)ᵀ δ^l[t]; it overwrites `upstream[up]`,
                // already consumed by the scan.
                match l.op {
                    Op::Dense {
                        inputs, outputs, ..
                    } => {
                        list.push(Step::Matmul {
                            a: g_in,
                            b: x,
                            c: p.grad,
                            m: outputs,
                            n: inputs,
                            k: grad_rows,
                            a_t: true,
                            b_t: false,
                        });
                        if pass_down {
                            list.push(Step::Matmul {
                                a: down,
                                b: p.w,
                                c: upstream[up],
                                m: rows,
                                n: inputs,
                                k: outputs,
                                a_t: false,
                                b_t: false,
                            });
                        }
                    }
                    Op::Conv { geom, .. } => {
                        list.push(Step::ConvWeightGrad {
                            input: x,
                            grad_out: g_in,
                            grad_w: p.grad,
                            images: grad_rows,
                            geom,
                        });
                        if pass_down {
                            list.push(Step::ConvInputGrad {
                                grad_out: down,
                                w: p.w,
                                grad_in: upstream[up],
                                images: rows,
                                geom,
                            });
                        }
                    }
                    Op::Pool { .. } => unreachable!("pooling continued above"),
                }
            }
        }
        let backward_end = list.len();

        if mode == Mode::Training {
            for (p, l) in params.iter().zip(spec.weighted_layers()) {
                list.push(Step::Adam {
                    w: p.w,
                    grad: p.grad,
                    m: p.m,
                    v: p.v,
                    len: l.weight_len(),
                });
            }
        }
        let ends = [forward_end, backward_end, list.len()];
        Ok(Self {
            schedule: Schedule::new(names, list)?,
            batch,
            mode,
            ends,
            input,
            labels,
            loss,
            spikes,
            potentials,
            params,
        })
    }

    /// The steps `mode` runs (a prefix of the schedule: every mode runs the one before it first).
    pub fn steps(&self, mode: Mode) -> Range<usize> {
        0..self.ends[mode as usize]
    }

    /// The largest batch whose per-batch buffers each hold at most `max_values` values in `mode`,
    /// with the widest buffer's name and its values per sample (the first of the widest, in
    /// schedule order).
    pub fn max_batch(
        spec: &NetSpec,
        h: &Hyper,
        mode: Mode,
        max_values: usize,
    ) -> Result<(usize, String, usize)> {
        // Every per-batch buffer is proportional to the batch: at batch 1 it holds one sample's.
        let one = Self::new(spec, h, 1, mode)?;
        let widest = one
            .schedule
            .buffers
            .into_iter()
            .filter(|b| !b.param)
            .rev()
            .max_by_key(|b| b.len)
            .map_or((String::new(), 0), |b| (b.name, b.len));
        Ok((max_values / widest.1.max(1), widest.0, widest.1))
    }
}

fn missing(li: usize) -> Error {
    Error::Shape(format!("layer {} has neurons but no potentials", li + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Shape;

    #[test]
    fn modes_extend_each_other_and_sizes_follow_the_widest_layer() {
        let spec = NetSpec::parse("P2-3C3p0-P2-4", Shape::new(1, 10, 10), 4).unwrap();
        let h = Hyper {
            steps: 5,
            ..Hyper::default()
        };
        let train = NetSchedule::new(&spec, &h, 5, Mode::Training).unwrap();
        let infer = NetSchedule::new(&spec, &h, 5, Mode::Inference).unwrap();
        assert_eq!(
            infer.schedule.steps[..],
            train.schedule.steps[train.steps(Mode::Inference)]
        );
        let adams = train.schedule.steps[train.steps(Mode::Gradients).end..].len();
        assert_eq!(adams, 2);
        // Layer 2 (3 channels of 3×3 on a constant 5×5 input) spikes at every step.
        assert_eq!(train.schedule.len_of(train.spikes[1]), 5 * 5 * 27);
        // The widest per-batch buffer: layer 2's potentials, 5·27 values per sample (more than
        // the 100 of the input).
        let (max, name, per_sample) =
            NetSchedule::max_batch(&spec, &h, Mode::Training, 810).unwrap();
        assert_eq!(
            (max, name.as_str(), per_sample),
            (6, "layer 2 potentials", 135)
        );
    }
}
