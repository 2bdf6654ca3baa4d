//! The CPU executor: a schedule's buffers as host vectors and its steps run one after the other
//! by the kernels of this backend's family modules; passes gather each batch on the host
//! ([`crate::pass::gather`]) and tally it into the pass's records ([`crate::pass::tally`]).

use std::ops::Range;
use std::sync::Arc;

use crate::backend::Task;
use crate::checkpoint::{WeightFormat, quantize_rows};
use crate::dataset::ImageSet;
use crate::error::{Error, Result};
use crate::executor::{Executor, Job, Pass, PassBatch, PassResult, Ran, Runner, model_buffers};
use crate::kernel_params::AdamStep;
use crate::model::Model;
use crate::pass::{Record, gather, tally};
use crate::schedule::{Binding, Bindings, Buf, Params, Role, Schedule, Step};
use crate::spec::LayerKind;

use super::dots::RowWeights;
use super::{adam, conv, gemm, neuron, pool, simd};

/// The network on the CPU, a [`crate::Backend`] built with `CpuBackend::new(&model)`: schedules
/// run by the CPU executor.
pub type CpuBackend = Runner<CpuExecutor>;

impl CpuBackend {
    /// Takes the model (weights and optimiser state) onto the CPU.
    pub fn new(model: &Model) -> Result<Self> {
        model.check_shapes()?;
        let params = model_buffers(model).into_iter().map(|(_, v)| v).collect();
        Runner::on(CpuExecutor::new(params), model)
    }

    /// A backend for inference only whose dense layers read their weights as `format`:
    /// [`WeightFormat::I8`] quantises each weight row as `mtsnn export --dtype i8` does (and gives
    /// back an I8 export's own codes) and computes every dense product from the codes
    /// (`cpu/dots.rs`), a quarter of F32's bytes; [`WeightFormat::F32`] is [`CpuBackend::new`].
    /// Convolutions keep F32. Training on it fails.
    pub fn for_inference(model: &Model, format: WeightFormat) -> Result<Self> {
        model.check_shapes()?;
        let params = model_buffers(model).into_iter().map(|(_, v)| v).collect();
        let mut executor = CpuExecutor::new(params);
        match format {
            WeightFormat::F32 => {}
            WeightFormat::I8 => {
                for (i, layer) in model.spec.weighted_layers().enumerate() {
                    if let LayerKind::Dense { outputs, .. } = layer.kind {
                        let w = Params::of(i).w.0;
                        let codes = &mut executor.codes;
                        codes.resize_with(codes.len().max(w + 1), || None);
                        codes[w] = Some(RowCodes::of(&model.weights[i], outputs));
                    }
                }
            }
            WeightFormat::F16 => {
                return Err(Error::InvalidParam {
                    name: "weights",
                    reason: "the CPU backend computes with F32 or 8-bit (I8) weights, not F16"
                        .into(),
                });
            }
        }
        Runner::on(executor, model)
    }
}

/// A weight matrix's 8-bit codes and per-row scales.
#[derive(Debug)]
struct RowCodes {
    codes: Vec<i8>,
    scales: Vec<f32>,
}

impl RowCodes {
    fn of(w: &[f32], rows: usize) -> Self {
        let (codes, scales) = quantize_rows(w, rows);
        Self { codes, scales }
    }
}

/// Runs schedules with the CPU kernels (`cpu/gemm.rs`, `neuron.rs`, `conv.rs`, `pool.rs`,
/// `adam.rs`), one step after the other.
#[derive(Debug)]
pub struct CpuExecutor {
    /// Every buffer, `Buf(i)` at `i`: the model's, then those of the schedule that ran last.
    store: Vec<Vec<f32>>,
    /// The image sets loaded, by number.
    sets: Vec<Arc<ImageSet>>,
    /// The pass under way: each batch runs when it is enqueued.
    pass: Option<CpuPass>,
    /// 8-bit codes of weight buffers, by buffer number, for an inference backend's dense products
    /// ([`CpuBackend::for_inference`]); empty on a backend that trains.
    codes: Vec<Option<RowCodes>>,
}

/// A pass on the CPU: what [`Pass`] gave, and what the batches run so far left.
#[derive(Debug)]
struct CpuPass {
    plan: Pass,
    records: Vec<f32>,
    losses: Vec<f32>,
    /// Samples run so far.
    done: usize,
}

impl CpuExecutor {
    /// An executor holding the model's buffers `params` (`Buf(0)`, `Buf(1)`, …).
    pub fn new(params: Vec<Vec<f32>>) -> Self {
        Self {
            store: params,
            sets: Vec::new(),
            pass: None,
            codes: Vec::new(),
        }
    }

    /// Runs `steps` of `schedule` (Adam's with `adam`); returns the batch loss of an
    /// output-error step among them.
    fn run_steps(
        &mut self,
        schedule: &Schedule,
        bindings: &[Bindings],
        steps: Range<usize>,
        adam: Option<&AdamStep>,
    ) -> Result<Option<f32>> {
        let mut loss = None;
        let (list, binds) = (&schedule.steps[steps.clone()], &bindings[steps]);
        let mut i = 0;
        while i < list.len() {
            if let (&Step::SurrogateGScan { g, steps, m, scan, .. }, Some(&Step::SumSteps { x, steps: t, m: n, .. })) =
                (&list[i], list.get(i + 1))
                && (x, t, n) == (g, steps, m)
            {
                use Role::*;
                // Eq 13 for a layer whose input is the same at every step: Σ_t G[t] summed
                // chunk by chunk as the scan writes G, not in a second pass over it.
                let [upstream, v, delta, g, g_sum] =
                    self.bind_two(&binds[i], [Upstream, V, Delta, G], &binds[i + 1], Out)?;
                neuron::surrogate_g_scan_summed(upstream, v, steps, m, &scan, delta, g, g_sum);
                i += 2;
                continue;
            }
            if let Some(l) = self.step(&list[i], &binds[i], adam)? {
                loss = Some(l);
            }
            i += 1;
        }
        Ok(loss)
    }

    /// [`Self::bind`] of the buffers of `roles` in `first` and of `role` in `second` (two steps
    /// run as one); they must be distinct buffers.
    fn bind_two(
        &mut self,
        first: &Bindings,
        roles: [Role; 4],
        second: &Bindings,
        role: Role,
    ) -> Result<[&mut [f32]; 5]> {
        let store = &self.store;
        let lens = |b: Buf| store.get(b.0).map(Vec::len);
        let [a, b, c, d] = first.take(roles, lens)?;
        let [e] = second.take([role], lens)?;
        self.cut([a, b, c, d, e])
    }

    /// Sizes the per-batch buffers for `schedule` (the model's keep their values).
    fn fit(&mut self, schedule: &Schedule) {
        if self.store.len() < schedule.buffers.len() {
            self.store.resize_with(schedule.buffers.len(), Vec::new);
        }
        for (values, b) in self.store.iter_mut().zip(&schedule.buffers) {
            if !b.param {
                values.resize(b.len, 0.0);
            }
        }
    }

    /// Copies of the first `len` values of each buffer in `needs`.
    fn read_prefixes(&self, needs: &[(Buf, usize)]) -> Result<Vec<Vec<f32>>> {
        needs
            .iter()
            .map(|&(b, len)| {
                self.store
                    .get(b.0)
                    .and_then(|v| v.get(..len))
                    .map(<[f32]>::to_vec)
                    .ok_or_else(|| {
                        Error::Shape(format!("buffer {} holds fewer than {len} values", b.0))
                    })
            })
            .collect()
    }

    /// The buffers of `roles` in `bindings`, each cut to the values its kernel uses (checked by
    /// [`Bindings::take`]); they must be distinct buffers.
    fn bind<const N: usize>(
        &mut self,
        bindings: &Bindings,
        roles: [Role; N],
    ) -> Result<[&mut [f32]; N]> {
        let store = &self.store;
        let taken = bindings.take(roles, |b| store.get(b.0).map(Vec::len))?;
        self.cut(taken)
    }

    /// The buffers `taken` names, each cut to its checked length; they must be distinct buffers.
    fn cut<const N: usize>(&mut self, taken: [Binding; N]) -> Result<[&mut [f32]; N]> {
        let values = self
            .store
            .get_disjoint_mut(taken.map(|b| b.buf.0))
            .map_err(|e| Error::Shape(format!("buffers {taken:?}: {e}")))?;
        let mut lens = taken.iter().map(|b| b.len);
        Ok(values.map(|v| &mut v[..lens.next().unwrap_or(0)]))
    }

    /// Runs one step on its buffers `b` ([`Step::bindings`]); returns the batch loss of an
    /// output-error step.
    fn step(&mut self, step: &Step, b: &Bindings, adam: Option<&AdamStep>) -> Result<Option<f32>> {
        use Role::*;
        match *step {
            Step::Matmul {
                m, n, k, a_t, b_t, ..
            } => {
                let weights = b.iter().find(|x| x.role == B).map(|x| x.buf.0);
                let codes = weights.and_then(|w| self.codes.get(w)).and_then(Option::as_ref);
                if let (Some(codes), true, false) = (codes, b_t, a_t) {
                    let store = &self.store;
                    let [a, c] = b.take([A, C], |b| store.get(b.0).map(Vec::len))?;
                    let [a, c] = self
                        .store
                        .get_disjoint_mut([a.buf.0, c.buf.0])
                        .map_err(|e| Error::Shape(format!("buffers {a:?}, {c:?}: {e}")))?;
                    let w = RowWeights::I8 {
                        codes: &codes.codes,
                        scales: &codes.scales,
                    };
                    gemm::times_weights_t(&a[..m * k], w, &mut c[..m * n], m, n, k)
                } else {
                    let [a, b, c] = self.bind(b, [A, B, C])?;
                    gemm::matmul(a, b, c, m, n, k, a_t, b_t)
                }
            }
            Step::LifForward {
                constant,
                steps,
                m,
                lambda,
                sp,
                ..
            } => {
                let [current, v, s] = self.bind(b, [Current, V, S])?;
                neuron::lif_forward(current, constant, steps, m, lambda, &sp, v, s)
            }
            Step::OutputError {
                steps,
                classes,
                target,
                ..
            } => {
                let [s, labels, upstream, losses] = self.bind(b, [S, Labels, Upstream, Loss])?;
                let labels = bytemuck::cast_slice(labels);
                let loss =
                    neuron::output_error(s, labels, steps, classes, target, upstream, losses);
                return Ok(Some(loss));
            }
            Step::SurrogateGScan { steps, m, scan, .. } => {
                let [upstream, v, delta, g] = self.bind(b, [Upstream, V, Delta, G])?;
                neuron::surrogate_g_scan(upstream, v, steps, m, &scan, delta, g)
            }
            Step::SumSteps { steps, m, .. } => {
                let [x, out] = self.bind(b, [X, Out])?;
                neuron::sum_steps(x, steps, m, out)
            }
            Step::Adam { .. } => {
                if !self.codes.is_empty() {
                    return Err(Error::InvalidParam {
                        name: "backend",
                        reason: "this CPU backend computes with 8-bit weights, for inference \
                                 only: train on CpuBackend::new"
                            .into(),
                    });
                }
                let step = adam.ok_or_else(|| Error::InvalidParam {
                    name: "adam",
                    reason: "a schedule with Adam steps ran without their constants".into(),
                })?;
                let [w, grad, m, v] = self.bind(b, [W, Grad, M, V])?;
                adam::adam_update(w, grad, m, v, step)
            }
            Step::ConvForward { images, geom, .. } => {
                let [input, w, out] = self.bind(b, [Input, W, Out])?;
                conv::conv_forward(input, w, out, images, &geom)
            }
            Step::ConvInputGrad { images, geom, .. } => {
                let [grad_out, w, grad_in] = self.bind(b, [GradOut, W, GradIn])?;
                conv::conv_input_grad(grad_out, w, grad_in, images, &geom)
            }
            Step::ConvWeightGrad { images, geom, .. } => {
                let [input, grad_out, grad_w] = self.bind(b, [Input, GradOut, GradW])?;
                conv::conv_weight_grad(input, grad_out, grad_w, images, &geom)
            }
            Step::AvgPoolForward { pool: p, .. } => {
                let [input, out] = self.bind(b, [Input, Out])?;
                pool::avg_pool_forward(input, out, p.maps, p.height, p.width, p.kernel)
            }
            Step::AvgPoolBackward { pool: p, .. } => {
                let [grad_out, grad_in] = self.bind(b, [GradOut, GradIn])?;
                pool::avg_pool_backward(grad_out, grad_in, p.maps, p.height, p.width, p.kernel)
            }
            Step::MaxPoolForward { pool: p, .. } => {
                let [input, out] = self.bind(b, [Input, Out])?;
                pool::max_pool_forward(input, out, p.maps, p.height, p.width, p.kernel)
            }
            Step::MaxPoolBackward { pool: p, .. } => {
                let [input, grad_out, grad_in] = self.bind(b, [Input, GradOut, GradIn])?;
                let (maps, h, w, k) = (p.maps, p.height, p.width, p.kernel);
                pool::max_pool_backward(input, grad_out, grad_in, maps, h, w, k)
            }
        }
        Ok(None)
    }
}

impl Executor for CpuExecutor {
    type Prepared = Vec<Bindings>;

    fn name(&self) -> String {
        let weights = match self.codes.is_empty() {
            true => "",
            false => ", 8-bit dense weights",
        };
        format!(
            "cpu ({} threads, {}{weights})",
            rayon::current_num_threads(),
            simd::active()
        )
    }

    fn max_values(&self) -> usize {
        usize::MAX
    }

    /// The buffers of each step, with the values it uses of each.
    fn prepare<'a>(&'a mut self, schedule: &'a Schedule) -> Task<'a, Vec<Bindings>> {
        Box::pin(async move { schedule.steps.iter().map(Step::bindings).collect() })
    }

    fn run<'a>(
        &'a mut self,
        schedule: &'a Schedule,
        bindings: &'a Vec<Bindings>,
        job: Job<'a>,
    ) -> Task<'a, Ran> {
        Box::pin(async move {
            self.fit(schedule);
            for &(b, data) in &job.loads {
                let values = self.store.get_mut(b.0).filter(|v| v.len() == data.len());
                let Some(values) = values else {
                    return Err(Error::Shape(format!(
                        "{} values loaded into buffer {} of {}",
                        data.len(),
                        b.0,
                        schedule.len_of(b)
                    )));
                };
                values.copy_from_slice(data);
                if let Some(Some(codes)) = self.codes.get_mut(b.0) {
                    *codes = RowCodes::of(values, codes.scales.len());
                }
            }
            let loss = self.run_steps(schedule, bindings, job.steps.clone(), job.adam.as_ref())?;
            let needs: Vec<(Buf, usize)> =
                job.reads.iter().map(|&b| (b, schedule.len_of(b))).collect();
            let values = self.read_prefixes(&needs)?;
            Ok(Ran { loss, values })
        })
    }

    fn read<'a>(&'a mut self, params: &'a [Buf]) -> Task<'a, Vec<Vec<f32>>> {
        Box::pin(async move {
            let needs: Vec<(Buf, usize)> = params
                .iter()
                .map(|&b| (b, self.store.get(b.0).map_or(0, Vec::len)))
                .collect();
            self.read_prefixes(&needs)
        })
    }

    fn load_set<'a>(&'a mut self, set: Arc<ImageSet>) -> Task<'a, (usize, String)> {
        Box::pin(async move {
            let note = format!("in memory ({:.1} MB)", set.pixels.len() as f64 / 1e6);
            self.sets.push(set);
            Ok((self.sets.len() - 1, note))
        })
    }

    fn begin_pass(&mut self, pass: Pass) -> Task<'_, ()> {
        Box::pin(async move {
            if pass.set >= self.sets.len() {
                return Err(Error::Shape(format!("no image set {}", pass.set)));
            }
            self.pass = Some(CpuPass {
                records: vec![0.0; pass.records_len()],
                plan: pass,
                losses: Vec::new(),
                done: 0,
            });
            Ok(())
        })
    }

    fn enqueue<'a>(
        &'a mut self,
        schedule: &'a Schedule,
        bindings: &'a Vec<Bindings>,
        b: PassBatch,
    ) -> Task<'a, ()> {
        Box::pin(async move {
            self.fit(schedule);
            let pass = self
                .pass
                .as_ref()
                .ok_or_else(|| Error::Shape("a batch enqueued outside a pass".into()))?;
            let plan = &pass.plan;
            let (first, size) = plan.batches[b.index];
            let set = &self.sets[plan.set];
            let training = plan.record == Record::Training;
            let [x, labels] = self
                .store
                .get_disjoint_mut([b.input.0, b.labels.0])
                .map_err(|e| Error::Shape(format!("input and label buffers: {e}")))?;
            let labels: &mut [u32] = if training {
                bytemuck::cast_slice_mut(&mut labels[..size])
            } else {
                &mut []
            };
            gather(
                set,
                &plan.order,
                plan.pad,
                first,
                &mut x[..size * set.shape.len()],
                labels,
            );
            let adam = plan.adam.get(b.index).copied();
            let loss = self.run_steps(schedule, bindings, b.steps.clone(), adam.as_ref())?;
            let pass = self.pass.as_mut().expect("the pass checked above");
            let (steps, classes, record) = (pass.plan.steps, pass.plan.classes, pass.plan.record);
            let per = record.len(classes);
            let s = &self.store[b.output.0][..steps * size * classes];
            let (labels, losses): (&[u32], &[f32]) = if training {
                (
                    bytemuck::cast_slice(&self.store[b.labels.0][..size]),
                    &self.store[b.loss.0][..size],
                )
            } else {
                (&[], &[])
            };
            let records = &mut pass.records[first * per..(first + size) * per];
            tally(s, labels, losses, steps, classes, record, records);
            if training {
                pass.losses.push(
                    loss.ok_or_else(|| Error::Shape("a training batch computed no loss".into()))?,
                );
            }
            pass.done = first + size;
            Ok(())
        })
    }

    fn progress(&mut self) -> usize {
        self.pass.as_ref().map_or(0, |p| p.done)
    }

    fn finish_pass<'a>(
        &'a mut self,
        progress: &'a mut dyn FnMut(usize),
        params: &'a [Buf],
    ) -> Task<'a, PassResult> {
        Box::pin(async move {
            let pass = self
                .pass
                .take()
                .ok_or_else(|| Error::Shape("no pass to finish".into()))?;
            progress(pass.done);
            Ok(PassResult {
                records: pass.records,
                losses: pass.losses,
                params: self.read(params).await?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::hyper::Hyper;
    use crate::rng::Rng;
    use crate::schedule::{Mode, NetSchedule};
    use crate::spec::{NetSpec, Shape};
    use crate::surrogate::Surrogate;

    /// An inference backend with 8-bit weights gives, on an I8 export's model, the output
    /// potentials' spikes of the F32 backend on the same dequantised weights at every batch size
    /// but for neurons whose potential lies within rounding of a threshold (none here), names its
    /// weights, and refuses to train.
    #[test]
    fn eight_bit_inference_agrees_with_f32_and_refuses_training() {
        let spec = NetSpec::parse("40-30-20-5", Shape::flat(40), 5).unwrap();
        let model = Model::init(spec, Hyper::default(), 9).unwrap();
        let bytes = model.to_export_bytes(WeightFormat::I8, &[]).unwrap();
        let exported = Model::from_bytes(&bytes, std::path::Path::new("i8")).unwrap();
        let mut rng = Rng::new(4);
        let x: Vec<f32> = (0..16 * 40).map(|_| 3.0 * rng.normal() as f32).collect();
        let mut f32_backend = CpuBackend::new(&exported).unwrap();
        let mut i8_backend = CpuBackend::for_inference(&exported, WeightFormat::I8).unwrap();
        assert!(i8_backend.name().contains("8-bit"), "{}", i8_backend.name());
        for batch in [1, 3, 16] {
            let x = &x[..batch * 40];
            let want = f32_backend.infer(x, false).unwrap();
            let got = i8_backend.infer(x, false).unwrap();
            assert_eq!(got.output, want.output, "batch {batch}");
        }
        let err = i8_backend.train_batch(&x[..40], &[1]).unwrap_err();
        assert!(err.to_string().contains("inference"), "{err}");
        assert!(CpuBackend::for_inference(&exported, WeightFormat::F16).is_err());
    }

    /// The G-recursion gradient equals the paper's per-synapse trace of eq 11–13, computed directly:
    /// e_ji[t] = (λ e_ji[t−1] + s_in_i[t]) / (1 + V_th f′_j[t]),  ∂L/∂W_ji = Σ_b Σ_t δ_j[t] e_ji[t],
    /// with δ from eq 10 (output) and eq 9 (hidden), all in plain loops in f64.
    #[test]
    fn g_recursion_equals_direct_trace_of_eq_11_to_13() {
        for surrogate in [Surrogate::F1, Surrogate::F2, Surrogate::F3] {
            let hyper = Hyper {
                steps: 4,
                surrogate,
                ..Hyper::default()
            };
            let spec = NetSpec::parse("6-7-5-3", Shape::flat(6), 3).unwrap();
            let mut model = Model::init(spec, hyper.clone(), 11).unwrap();
            // Weights spread so that every layer spikes, some neurons near thresholds, none saturated.
            let mut rng = Rng::new(5);
            for w in &mut model.weights {
                w.iter_mut()
                    .for_each(|x| *x = (rng.uniform() * 8.0 - 2.0) as f32);
            }
            let batch = 4;
            let x: Vec<f32> = (0..batch * 6)
                .map(|_| (rng.uniform() * 3.0) as f32)
                .collect();
            let labels: Vec<u32> = (0..batch as u32).map(|b| b % 3).collect();
            let mut cpu = CpuBackend::new(&model).unwrap();
            let (_, grads) = cpu.gradients(&x, &labels).unwrap();
            // Potentials and spikes of every layer, where the run left them.
            let run = NetSchedule::new(&model.spec, &hyper, batch, Mode::Gradients).unwrap();
            let store = &cpu.executor().store;
            let v_of = |li: usize| &store[run.potentials[li].unwrap().0];
            let s_of = |li: usize| &store[run.spikes[li].0];

            let (steps, lambda, sp) =
                (hyper.steps, hyper.lambda() as f64, hyper.surrogate_params());
            let sizes: Vec<(usize, usize)> = model
                .spec
                .layers()
                .iter()
                .map(|l| (l.input.len(), l.output.len()))
                .collect();
            let at = |li: usize, t: usize, b: usize, j: usize| {
                t * batch * sizes[li].1 + b * sizes[li].1 + j
            };
            let f =
                |li: usize, t: usize, b: usize, j: usize| sp.eval(v_of(li)[at(li, t, b, j)]) as f64;
            let s_in = |li: usize, t: usize, b: usize, i: usize| {
                if li == 0 {
                    x[b * 6 + i] as f64
                } else {
                    s_of(li - 1)[at(li - 1, t, b, i)] as f64
                }
            };
            // δ per layer, [t][b][j].
            let n = sizes.len();
            let mut delta: Vec<Vec<f64>> = sizes
                .iter()
                .map(|&(_, o)| vec![0.0; steps * batch * o])
                .collect();
            for t in 0..steps {
                for b in 0..batch {
                    for j in 0..3 {
                        let y = if j == labels[b] as usize {
                            hyper.target_count as f64
                        } else {
                            0.0
                        };
                        let s = s_of(n - 1)[at(n - 1, t, b, j)] as f64;
                        delta[n - 1][at(n - 1, t, b, j)] =
                            (s - y) / batch as f64 * f(n - 1, t, b, j);
                    }
                }
            }
            for li in (0..n - 1).rev() {
                let (up_in, up_out) = sizes[li + 1];
                for t in 0..steps {
                    for b in 0..batch {
                        for i in 0..up_in {
                            let back: f64 = (0..up_out)
                                .map(|k| {
                                    model.weights[li + 1][k * up_in + i] as f64
                                        * delta[li + 1][at(li + 1, t, b, k)]
                                })
                                .sum();
                            delta[li][at(li, t, b, i)] = f(li, t, b, i) * back;
                        }
                    }
                }
            }
            for li in 0..n {
                let (n_in, n_out) = sizes[li];
                for j in 0..n_out {
                    for i in 0..n_in {
                        let mut g = 0.0;
                        for b in 0..batch {
                            let mut e = 0.0;
                            for t in 0..steps {
                                e = (lambda * e + s_in(li, t, b, i))
                                    / (1.0 + sp.v_th as f64 * f(li, t, b, j));
                                g += delta[li][at(li, t, b, j)] * e;
                            }
                        }
                        let got = grads[li][j * n_in + i] as f64;
                        assert!(
                            (got - g).abs() <= 1e-4 * g.abs().max(1e-3),
                            "{surrogate} layer {li} w[{j},{i}]: {got} vs {g}"
                        );
                    }
                }
            }
            assert!(
                grads.iter().all(|g| g.iter().any(|&x| x != 0.0)),
                "{surrogate}: a layer got no gradient"
            );
        }
    }

    /// The CPU executor with a device's limit on buffer sizes.
    struct Small {
        cpu: CpuExecutor,
        max_values: usize,
    }

    impl Executor for Small {
        type Prepared = Vec<Bindings>;
        fn name(&self) -> String {
            "small".into()
        }
        fn max_values(&self) -> usize {
            self.max_values
        }
        fn prepare<'a>(&'a mut self, schedule: &'a Schedule) -> Task<'a, Vec<Bindings>> {
            self.cpu.prepare(schedule)
        }
        fn run<'a>(
            &'a mut self,
            schedule: &'a Schedule,
            bindings: &'a Vec<Bindings>,
            job: Job<'a>,
        ) -> Task<'a, Ran> {
            self.cpu.run(schedule, bindings, job)
        }
        fn read<'a>(&'a mut self, params: &'a [Buf]) -> Task<'a, Vec<Vec<f32>>> {
            self.cpu.read(params)
        }
        fn load_set<'a>(&'a mut self, set: Arc<ImageSet>) -> Task<'a, (usize, String)> {
            self.cpu.load_set(set)
        }
        fn begin_pass(&mut self, pass: Pass) -> Task<'_, ()> {
            self.cpu.begin_pass(pass)
        }
        fn enqueue<'a>(
            &'a mut self,
            schedule: &'a Schedule,
            bindings: &'a Vec<Bindings>,
            batch: PassBatch,
        ) -> Task<'a, ()> {
            self.cpu.enqueue(schedule, bindings, batch)
        }
        fn progress(&mut self) -> usize {
            self.cpu.progress()
        }
        fn finish_pass<'a>(
            &'a mut self,
            progress: &'a mut dyn FnMut(usize),
            params: &'a [Buf],
        ) -> Task<'a, PassResult> {
            self.cpu.finish_pass(progress, params)
        }
    }

    /// Inference splits a batch larger than the executor holds, and the pieces join into what
    /// one run gives; training refuses it, naming the largest batch that fits.
    #[test]
    fn large_batches_are_split_for_inference_and_refused_for_training() {
        let spec = NetSpec::parse("P2-3C3p0-P2-4", Shape::new(1, 10, 10), 4).unwrap();
        let h = Hyper {
            steps: 3,
            ..Hyper::default()
        };
        let model = Model::init(spec, h, 3).unwrap();
        let (_, _, per_sample) =
            NetSchedule::max_batch(&model.spec, &model.hyper, Mode::Training, usize::MAX).unwrap();
        let params = model_buffers(&model).into_iter().map(|(_, v)| v).collect();
        let small = Small {
            cpu: CpuExecutor::new(params),
            max_values: 2 * per_sample,
        };
        let mut small = Runner::on(small, &model).unwrap();
        assert_eq!(small.max_batch(Mode::Training), 2);
        assert!(small.max_batch(Mode::Inference) < 5);

        let mut rng = Rng::new(4);
        let x: Vec<f32> = (0..5 * 100).map(|_| (rng.uniform() * 3.0) as f32).collect();
        let whole = CpuBackend::new(&model).unwrap().infer(&x, true).unwrap();
        assert_eq!(small.infer_all(&x, true).unwrap(), whole);
        assert!(matches!(small.infer(&x, true), Err(Error::Gpu(_))));
        let err = small.train_batch(&x, &[0, 1, 2, 3, 0]).unwrap_err();
        assert!(
            err.to_string().contains("the largest batch that fits is 2"),
            "{err}"
        );
    }
}
