//! The schedule of a network ([`NetSchedule`]): the buffers its layers need, then the forward
//! pass (eq 3–5), the backward pass (eq 6, 9–13) and the Adam updates as [`Step`]s, each pass
//! emitted by its own method of a builder.

use std::ops::Range;

use super::{Buf, Mode, Pool, Schedule, Step};
use crate::error::{Error, Result};
use crate::hyper::Hyper;
use crate::kernel_params::ScanParams;
use crate::plan::{LayerOp, Op, layer_ops};
use crate::spec::NetSpec;
use crate::surrogate::SurrogateParams;

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
        let mut b = Builder::new(spec, h, batch);
        b.forward()?;
        let forward_end = b.list.len();
        if mode >= Mode::Gradients {
            b.output_error(h.target_count);
            b.backward(ScanParams::of(h))?;
        }
        let backward_end = b.list.len();
        if mode == Mode::Training {
            b.update(spec);
        }
        let ends = [forward_end, backward_end, b.list.len()];
        Ok(Self {
            schedule: Schedule::new(b.names, b.list)?,
            batch,
            mode,
            ends,
            input: b.input,
            labels: b.labels,
            loss: b.loss,
            spikes: b.spikes,
            potentials: b.potentials,
            params: b.params,
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

/// A network's buffers, and its steps as the passes emit them.
struct Builder {
    ops: Vec<LayerOp>,
    /// Buffer names, with `true` for the model's tensors: `Buf(i)` is `names[i]`.
    names: Vec<(String, bool)>,
    batch: usize,
    steps: usize,
    lambda: f32,
    sp: SurrogateParams,
    input: Buf,
    spikes: Vec<Buf>,
    potentials: Vec<Option<Buf>>,
    /// The scratch buffers every layer shares.
    current: Buf,
    labels: Buf,
    loss: Buf,
    upstream: [Buf; 2],
    delta: Buf,
    g: Buf,
    gsum: Buf,
    params: Vec<Params>,
    /// Which of `upstream` holds ∂L/∂s of the layer the backward pass is visiting.
    up: usize,
    list: Vec<Step>,
}

impl Builder {
    /// The buffers of `spec` at `batch`: the model's tensors first, then per layer its potentials
    /// and spikes, then the scratch buffers.
    fn new(spec: &NetSpec, h: &Hyper, batch: usize) -> Self {
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
        Self {
            ops,
            names,
            batch,
            steps: h.steps,
            lambda: h.lambda(),
            sp: h.surrogate_params(),
            input,
            spikes,
            potentials,
            current,
            labels,
            loss,
            upstream,
            delta,
            g,
            gsum,
            params: (0..weighted).map(Params::of).collect(),
            up: 0,
            list: Vec::new(),
        }
    }

    /// The input of layer `li` and whether it is the same at every step.
    fn input_of(&self, li: usize) -> (Buf, bool) {
        match li.checked_sub(1) {
            Some(below) => (self.spikes[below], self.ops[below].constant),
            None => (self.input, true),
        }
    }

    /// Layer `li`'s pre-reset potentials.
    fn potentials_of(&self, li: usize) -> Result<Buf> {
        self.potentials[li]
            .ok_or_else(|| Error::Shape(format!("layer {} has neurons but no potentials", li + 1)))
    }

    /// The pooling of `rows` inputs of `channels` maps of layer `op`.
    fn pool(rows: usize, op: Op) -> Pool {
        match op {
            Op::Pool {
                channels,
                height,
                width,
                kernel,
                ..
            } => Pool {
                maps: rows * channels,
                height,
                width,
                kernel,
            },
            Op::Dense { .. } | Op::Conv { .. } => unreachable!("only pooling layers pool"),
        }
    }

    /// Eq 3–5, layer by layer.
    fn forward(&mut self) -> Result<()> {
        for li in 0..self.ops.len() {
            let l = self.ops[li];
            let (x, in_constant) = self.input_of(li);
            let rows = if in_constant {
                self.batch
            } else {
                self.steps * self.batch
            };
            let step = match l.op {
                Op::Pool { max, .. } => {
                    let (out, pool) = (self.spikes[li], Self::pool(rows, l.op));
                    self.list.push(if max {
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
                } => Step::Matmul {
                    a: x,
                    b: self.params[weight].w,
                    c: self.current,
                    m: rows,
                    n: outputs,
                    k: inputs,
                    a_t: false,
                    b_t: true,
                },
                Op::Conv { geom, weight } => Step::ConvForward {
                    input: x,
                    w: self.params[weight].w,
                    out: self.current,
                    images: rows,
                    geom,
                },
            };
            self.list.push(step);
            // Eq 4–5; with a constant input the one current drives every step.
            self.list.push(Step::LifForward {
                current: self.current,
                constant: in_constant,
                steps: self.steps,
                m: self.batch * l.out_len,
                lambda: self.lambda,
                sp: self.sp,
                v: self.potentials_of(li)?,
                s: self.spikes[li],
            });
        }
        Ok(())
    }

    /// Eq 6 and the first factor of eq 10: the loss and ∂L/∂s of the output layer.
    fn output_error(&mut self, target: f32) {
        let last = self.ops.len() - 1;
        self.list.push(Step::OutputError {
            s: self.spikes[last],
            labels: self.labels,
            steps: self.steps,
            batch: self.batch,
            classes: self.ops[last].out_len,
            target,
            upstream: self.upstream[self.up],
            loss: self.loss,
        });
    }

    /// Eq 9–13 from the top layer down: each weighted layer's scan and ∂L/∂W, and ∂L/∂s passed
    /// to the layer below where it feeds a weighted layer.
    fn backward(&mut self, scan: ScanParams) -> Result<()> {
        for li in (0..self.ops.len()).rev() {
            let l = self.ops[li];
            // Only layers that feed a weighted layer need ∂L/∂s passed down.
            let pass_down = !self.input_of(li).1;
            match l.op {
                Op::Pool { max, .. } if pass_down => self.pool_backward(li, max),
                Op::Pool { .. } => {}
                Op::Dense { .. } | Op::Conv { .. } => {
                    self.weighted_backward(li, scan, pass_down)?
                }
            }
        }
        Ok(())
    }

    /// ∂L/∂s through pooling layer `li`, into the other `upstream` buffer.
    fn pool_backward(&mut self, li: usize, max: bool) {
        let (x, _) = self.input_of(li);
        let pool = Self::pool(self.steps * self.batch, self.ops[li].op);
        let (grad_out, grad_in) = (self.upstream[self.up], self.upstream[1 - self.up]);
        self.list.push(if max {
            // The argmax is recomputed from the pool's input, the layer below's spikes.
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
        self.up = 1 - self.up;
    }

    /// The scan of weighted layer `li` (δ and G, eq 9–13), its ∂L/∂W (eq 13) and, with
    /// `pass_down`, ∂L/∂s of the layer below (eq 9).
    fn weighted_backward(&mut self, li: usize, scan: ScanParams, pass_down: bool) -> Result<()> {
        let l = self.ops[li];
        let (x, in_constant) = self.input_of(li);
        let (steps, batch) = (self.steps, self.batch);
        let rows = steps * batch;
        let m = batch * l.out_len;
        let (delta, g, upstream) = (self.delta, self.g, self.upstream[self.up]);
        // What the layer below receives: Wᵀ δ (eq 9) or, in BPTT, Wᵀ G.
        let down = if scan.pass_down_g() { g } else { delta };
        let weight = l.weight().expect("a weighted layer");
        let p = self.params[weight];
        self.list.push(Step::SurrogateGScan {
            upstream,
            v: self.potentials_of(li)?,
            steps,
            m,
            scan,
            delta,
            g,
        });
        // ∂L/∂W = Σ_t G[t]ᵀ s_in[t] over the stacked (t, b) rows, or (Σ_t G[t])ᵀ s_in
        // when the input is the same at every step (eq 13).
        let (g_in, grad_rows) = if in_constant {
            self.list.push(Step::SumSteps {
                x: g,
                steps,
                m,
                out: self.gsum,
            });
            (self.gsum, batch)
        } else {
            (g, rows)
        };
        // Eq 9: the layer below receives (W^l)ᵀ δ^l[t]; it overwrites `upstream`, already
        // consumed by the scan.
        match l.op {
            Op::Dense {
                inputs, outputs, ..
            } => {
                self.list.push(Step::Matmul {
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
                    self.list.push(Step::Matmul {
                        a: down,
                        b: p.w,
                        c: upstream,
                        m: rows,
                        n: inputs,
                        k: outputs,
                        a_t: false,
                        b_t: false,
                    });
                }
            }
            Op::Conv { geom, .. } => {
                self.list.push(Step::ConvWeightGrad {
                    input: x,
                    grad_out: g_in,
                    grad_w: p.grad,
                    images: grad_rows,
                    geom,
                });
                if pass_down {
                    self.list.push(Step::ConvInputGrad {
                        grad_out: down,
                        w: p.w,
                        grad_in: upstream,
                        images: rows,
                        geom,
                    });
                }
            }
            Op::Pool { .. } => unreachable!("pooling layers have no weights"),
        }
        Ok(())
    }

    /// One Adam update of every weighted layer.
    fn update(&mut self, spec: &NetSpec) {
        for (p, l) in self.params.iter().zip(spec.weighted_layers()) {
            self.list.push(Step::Adam {
                w: p.w,
                grad: p.grad,
                m: p.m,
                v: p.v,
                len: l.weight_len(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Mode;
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
