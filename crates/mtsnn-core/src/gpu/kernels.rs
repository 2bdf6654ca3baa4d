//! A typed launcher per WGSL kernel, each named after its CPU twin in [`crate::cpu::kernels`]
//! or [`crate::cpu::conv`] and taking the same sizes. They compile (or fetch from the cache) the
//! pipeline for their override constants and return a [`Dispatch`] to record with
//! [`GpuContext::execute`]. The tensors of a schedule's step must hold what the step's
//! [`crate::schedule::Step::bindings`] say, which the executor checks once before calling them;
//! the pass kernels ([`gather`], [`tally`]), outside the schedule, check their own.

use super::context::{Count, GpuContext};
use super::gemm::Loads;
use super::shaders::{
    AdamParams, ConvParams, GatherParams, GemmParams, Kernel, LifForwardParams, MatmulParams,
    OutputErrorParams, Params, PoolParams, StepsParams, TallyParams,
};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use super::tile::{TILE_L, TILE_U};
use crate::dataset::ImageSet;
use crate::error::{Error, Result};
use crate::hyper::GradMode;
use crate::kernel_params::{AdamStep, ScanParams};
use crate::pass::Record;
use crate::plan::ConvGeom;
use crate::schedule::Pool;
use crate::spec::Shape;
use crate::surrogate::{GAUSS_CUTOFF, SurrogateParams};

/// Invocations per workgroup of the one-thread-per-element kernels (WGSL override `WG`).
const WG: u32 = 64;

/// A size as the u32 the kernels take.
fn u32_of(what: &str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| {
        Error::Shape(format!(
            "{what} = {n} exceeds the GPU kernels' 32-bit sizes"
        ))
    })
}

/// A grid of `count` workgroups that respects the per-dimension limit (65,535 in WebGPU):
/// `[x, y, 1]` with x·y ≥ count; the kernels number workgroups `y·x_count + x` and skip those
/// past `count`.
fn grid(ctx: &GpuContext, count: usize) -> Result<[u32; 3]> {
    let max = ctx.limits().max_compute_workgroups_per_dimension as usize;
    if count <= max {
        return Ok([count as u32, 1, 1]);
    }
    let y = count.div_ceil(max);
    if y > max {
        return Err(Error::Gpu(format!(
            "{count} workgroups exceed a {max}×{max} grid"
        )));
    }
    Ok([max as u32, y as u32, 1])
}

/// The launch of `kernel` with uniform parameters `params` at binding 0 and `tensors` at
/// bindings 1, 2, … in order. Panics if `P` is not the parameter struct the registry declares
/// for `kernel` (a bug that every GPU test of the kernel would show).
async fn dispatch<P: Params>(
    ctx: &GpuContext,
    kernel: Kernel,
    constants: &[(&'static str, f64)],
    params: &P,
    tensors: &[&GpuTensor],
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    assert_eq!(
        kernel.params().name,
        P::LAYOUT.name,
        "the parameters of {}",
        kernel.file_name()
    );
    let pipeline = ctx.pipeline(kernel, constants).await?;
    let scope = ctx.scope();
    ctx.count(Count::BytesUploaded, size_of::<P>() as u64);
    let uniform = wgpu::util::DeviceExt::create_buffer_init(
        &ctx.device,
        &wgpu::util::BufferInitDescriptor {
            label: Some(kernel.file_name()),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        },
    );
    let bind_group = bind(ctx, kernel, &pipeline, &uniform, tensors);
    scope
        .finish(&format!("binding {}", kernel.file_name()))
        .await?;
    Ok(Dispatch {
        pipeline,
        bind_group,
        workgroups,
        params: uniform,
    })
}

fn bind(
    ctx: &GpuContext,
    kernel: Kernel,
    pipeline: &wgpu::ComputePipeline,
    uniform: &wgpu::Buffer,
    tensors: &[&GpuTensor],
) -> wgpu::BindGroup {
    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: uniform.as_entire_binding(),
    }];
    for (i, t) in tensors.iter().enumerate() {
        entries.push(wgpu::BindGroupEntry {
            binding: i as u32 + 1,
            resource: t.buffer.as_entire_binding(),
        });
    }
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(kernel.file_name()),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

/// The launch of an element-wise kernel (`shaders/lib/elementwise.wgsl`) over `n` elements: one
/// invocation each, in workgroups of [`WG`], as [`dispatch`] otherwise.
async fn dispatch_elementwise<P: Params>(
    ctx: &GpuContext,
    kernel: Kernel,
    constants: &[(&'static str, f64)],
    params: &P,
    tensors: &[&GpuTensor],
    n: usize,
) -> Result<Dispatch> {
    let mut constants = constants.to_vec();
    constants.push(("WG", f64::from(WG)));
    let workgroups = grid(ctx, n.div_ceil(WG as usize))?;
    dispatch(ctx, kernel, &constants, params, tensors, workgroups).await
}

/// The launch of a kernel on the register tile (`shaders/lib/register_tile.wgsl`), as
/// [`dispatch`] otherwise: C has `u_len` rows and `l_len` lanes, computed in tiles of [`TILE_U`]
/// rows × `tl` lanes, one workgroup each; `params` receives the number of tiles along the lanes.
async fn dispatch_tiles<P: Params>(
    ctx: &GpuContext,
    kernel: Kernel,
    constants: &[(&'static str, f64)],
    tensors: &[&GpuTensor],
    [u_len, l_len, tl]: [usize; 3],
    params: impl FnOnce(usize) -> Result<P>,
) -> Result<Dispatch> {
    let tiles_l = l_len.div_ceil(tl);
    let workgroups = grid(ctx, u_len.div_ceil(TILE_U) * tiles_l)?;
    dispatch(
        ctx,
        kernel,
        constants,
        &params(tiles_l)?,
        tensors,
        workgroups,
    )
    .await
}

/// The override constants of the LIF neuron.
fn neuron_constants(lambda: f32, sp: &SurrogateParams) -> [(&'static str, f64); 3] {
    [
        ("V_TH", sp.v_th as f64),
        ("S_MAX", sp.s_max as f64),
        ("LAMBDA", lambda as f64),
    ]
}

/// A bool override constant.
fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// C = op(A)·op(B) with C `[m][n]`; the layouts of [`crate::cpu::kernels::matmul`]: op(A) is
/// A `[m][k]` or, with `a_t`, Aᵀ of an A stored `[k][m]`; op(B) is B `[k][n]` or, with `b_t`, Bᵀ of
/// a B stored `[n][k]`. The kernel is the context's [`GpuContext::matmul_path`]:
/// `shaders/gemm_vec4.wgsl` (16-byte loads where the rows allow) or `shaders/gemm.wgsl` with its
/// tile for this C on hardware GPUs, `shaders/matmul.wgsl` on software adapters.
#[allow(clippy::too_many_arguments)]
pub async fn matmul(
    ctx: &GpuContext,
    a: &GpuTensor,
    b: &GpuTensor,
    c: &GpuTensor,
    m: usize,
    n: usize,
    k: usize,
    a_t: bool,
    b_t: bool,
) -> Result<Dispatch> {
    let Some(gemm) = ctx.matmul_path().gemm_for(m, n, k, a_t, b_t) else {
        return matmul_direct(ctx, [a, b, c], [m, n, k], a_t, b_t).await;
    };
    let tiles_n = n.div_ceil(gemm.tile.cols());
    let workgroups = grid(ctx, m.div_ceil(gemm.tile.rows()) * tiles_n)?;
    let mut constants = vec![("TRANS_A", flag(a_t)), ("TRANS_B", flag(b_t))];
    constants.extend(gemm.constants());
    let params = GemmParams {
        m: u32_of("m", m)?,
        n: u32_of("n", n)?,
        k: u32_of("k", k)?,
        tiles_n: u32_of("tiles", tiles_n)?,
    };
    dispatch(
        ctx,
        gemm.kernel(),
        &constants,
        &params,
        &[a, b, c],
        workgroups,
    )
    .await
}

/// [`matmul`] by `shaders/matmul.wgsl`, the register tile fed straight from the buffers.
async fn matmul_direct(
    ctx: &GpuContext,
    [a, b, c]: [&GpuTensor; 3],
    [m, n, k]: [usize; 3],
    a_t: bool,
    b_t: bool,
) -> Result<Dispatch> {
    // Lanes along the longer side of C, so that a narrow C (10 classes) still fills them.
    let lanes_on_rows = m > n;
    let (u_len, l_len) = if lanes_on_rows { (n, m) } else { (m, n) };
    let constants = [
        ("TRANS_A", flag(a_t)),
        ("TRANS_B", flag(b_t)),
        ("LANES_ON_ROWS", flag(lanes_on_rows)),
    ];
    dispatch_tiles(
        ctx,
        Kernel::Matmul,
        &constants,
        &[a, b, c],
        [u_len, l_len, TILE_L],
        |tiles_l| {
            Ok(MatmulParams {
                m: u32_of("m", m)?,
                n: u32_of("n", n)?,
                k: u32_of("k", k)?,
                tiles_l: u32_of("tiles", tiles_l)?,
            })
        },
    )
    .await
}

/// Eq 3–5 for `m` neurons over `steps` steps (`shaders/lif_forward.wgsl`), as
/// [`crate::cpu::kernels::lif_forward`]: `current` is `[steps][m]`, or `[m]` when `constant`;
/// writes the pre-reset potentials `v` and spike counts `s`, `[steps][m]`.
#[allow(clippy::too_many_arguments)]
pub async fn lif_forward(
    ctx: &GpuContext,
    current: &GpuTensor,
    constant: bool,
    steps: usize,
    m: usize,
    lambda: f32,
    sp: &SurrogateParams,
    v: &GpuTensor,
    s: &GpuTensor,
) -> Result<Dispatch> {
    let params = LifForwardParams {
        m: u32_of("m", m)?,
        steps: u32_of("steps", steps)?,
        constant: u32::from(constant),
        _pad: 0,
    };
    let [v_th, s_max, lam] = neuron_constants(lambda, sp);
    let constants = [v_th, s_max, lam];
    dispatch_elementwise(
        ctx,
        Kernel::LifForward,
        &constants,
        &params,
        &[current, v, s],
        m,
    )
    .await
}

/// Eq 6 and the first factor of eq 10 (`shaders/output_error.wgsl`), as
/// [`crate::cpu::kernels::output_error`]: from the output spikes `s` `[steps][batch][classes]`
/// and `labels` (u32), writes `upstream = (s − y) / batch` and, per sample, its loss
/// Σ_t ½ Σ_i (y_i − s_i\[t\])² into `loss` `[batch]` (the batch loss is their sum / batch).
#[allow(clippy::too_many_arguments)]
pub async fn output_error(
    ctx: &GpuContext,
    s: &GpuTensor,
    labels: &GpuTensor,
    steps: usize,
    batch: usize,
    classes: usize,
    target: f32,
    upstream: &GpuTensor,
    loss: &GpuTensor,
) -> Result<Dispatch> {
    let params = OutputErrorParams {
        batch: u32_of("batch", batch)?,
        steps: u32_of("steps", steps)?,
        classes: u32_of("classes", classes)?,
        target_count: target,
    };
    dispatch_elementwise(
        ctx,
        Kernel::OutputError,
        &[],
        &params,
        &[s, labels, upstream, loss],
        batch,
    )
    .await
}

/// The backward pass through one layer of neurons (`shaders/surrogate_g_scan.wgsl`), as
/// [`crate::cpu::kernels::surrogate_g_scan`]: δ\[t\] = upstream\[t\] ⊙ f′\[t\] (eq 9, 10), f′ the
/// surrogate of eq 14–16, and G by the paper's recursion (eq 11–13 unrolled) or BPTT's, with
/// or without the reset path, as `p` says.
#[allow(clippy::too_many_arguments)]
pub async fn surrogate_g_scan(
    ctx: &GpuContext,
    upstream: &GpuTensor,
    v: &GpuTensor,
    steps: usize,
    m: usize,
    p: &ScanParams,
    delta: &GpuTensor,
    g: &GpuTensor,
) -> Result<Dispatch> {
    let params = steps_params(steps, m)?;
    let sp = &p.sp;
    let [v_th, s_max, lam] = neuron_constants(p.lambda, sp);
    let constants = [
        ("SURROGATE", sp.kind.index() as f64),
        v_th,
        s_max,
        lam,
        ("ALPHA_H", sp.alpha_h as f64),
        // f32 arithmetic of `SurrogateParams::eval` and `window`, so both sides use the same values.
        ("INV_ALPHA_W", (1.0 / sp.alpha_w) as f64),
        ("RADIUS", (sp.alpha_w * GAUSS_CUTOFF).sqrt() as f64),
        ("BPTT", flag(p.mode == GradMode::Bptt)),
        ("DETACH_RESET", flag(p.detach_reset)),
    ];
    dispatch_elementwise(
        ctx,
        Kernel::SurrogateGScan,
        &constants,
        &params,
        &[upstream, v, delta, g],
        m,
    )
    .await
}

/// The parameters of a kernel on a `[steps][m]` buffer.
fn steps_params(steps: usize, m: usize) -> Result<StepsParams> {
    Ok(StepsParams {
        m: u32_of("m", m)?,
        steps: u32_of("steps", steps)?,
        _pad0: 0,
        _pad1: 0,
    })
}

/// Σ_t x\[t\] of a `[steps][m]` tensor into `out` `[m]` (`shaders/sum_steps.wgsl`), as
/// [`crate::cpu::kernels::sum_steps`].
pub async fn sum_steps(
    ctx: &GpuContext,
    x: &GpuTensor,
    steps: usize,
    m: usize,
    out: &GpuTensor,
) -> Result<Dispatch> {
    let params = steps_params(steps, m)?;
    dispatch_elementwise(ctx, Kernel::SumSteps, &[], &params, &[x, out], m).await
}

/// One Adam update of the `n` weights `w` with their moments `m`, `v` from `grad` (`shaders/adam.wgsl`), as
/// [`crate::cpu::kernels::adam_update`]. The step's constants live in the launch's uniform
/// buffer, so one [`AdamUpdate`] serves every step: [`AdamUpdate::set_step`] before each submission.
pub async fn adam_update(
    ctx: &GpuContext,
    w: &GpuTensor,
    grad: &GpuTensor,
    m: &GpuTensor,
    v: &GpuTensor,
    n: usize,
    step: &AdamStep,
) -> Result<AdamUpdate> {
    let params = adam_params(n, step)?;
    let dispatch =
        dispatch_elementwise(ctx, Kernel::Adam, &[], &params, &[grad, w, m, v], n).await?;
    Ok(AdamUpdate { dispatch, n })
}

/// An [`adam_update`] launch whose step constants can be changed.
#[derive(Debug)]
pub struct AdamUpdate {
    dispatch: Dispatch,
    n: usize,
}

impl AdamUpdate {
    /// The launch to record.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// Sets the learning rate, β's, ε and bias corrections of `step`, for submissions after this call.
    pub fn set_step(&self, ctx: &GpuContext, step: &AdamStep) -> Result<()> {
        ctx.count(Count::BytesUploaded, size_of::<AdamParams>() as u64);
        ctx.queue.write_buffer(
            &self.dispatch.params,
            0,
            bytemuck::bytes_of(&adam_params(self.n, step)?),
        );
        Ok(())
    }
}

impl AdamUpdate {
    /// The launch's uniform buffer, whose bytes [`ADAM_CONSTANTS_AT`].. hold [`adam_constants`].
    pub(crate) fn params(&self) -> &wgpu::Buffer {
        &self.dispatch.params
    }
}

/// Byte offset in `adam.wgsl`'s parameters of the six values of [`adam_constants`].
pub(crate) const ADAM_CONSTANTS_AT: u64 = std::mem::offset_of!(AdamParams, lr) as u64;

/// What changes from one Adam step to the next, in the order of `adam.wgsl`'s parameters from
/// `lr` on: lr, β₁, β₂, ε and the two bias corrections. A table of these, one row per batch of an
/// epoch, is uploaded once and copied into each Adam launch's uniforms before its batch.
pub(crate) fn adam_constants(p: &AdamStep) -> [f32; 6] {
    let (c1, c2) = p.corrections();
    [p.lr, p.beta1, p.beta2, p.eps, c1, c2]
}

fn adam_params(n: usize, p: &AdamStep) -> Result<AdamParams> {
    let [lr, beta1, beta2, eps, c1, c2] = adam_constants(p);
    Ok(AdamParams {
        n: u32_of("weights", n)?,
        lr,
        beta1,
        beta2,
        eps,
        c1,
        c2,
        _pad: 0,
    })
}

/// Where the parts of an image set lie in its device buffer ([`image_set_words`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetLayout {
    /// Shape of one sample.
    pub shape: Shape,
    /// Number of samples.
    pub samples: usize,
    /// Word where the labels start.
    pub labels_at: usize,
    /// Word where the packed pixels start.
    pub pixels_at: usize,
}

/// An image set as `gather.wgsl` reads it: the tables (as f32 bits), the labels, then the pixels
/// packed 4 per word (byte k of a word in bits 8k..8k+7), and where each part starts. Fails with
/// [`Error::Shape`] when a pixel's byte index would not fit the kernel's u32.
pub fn image_set_words(set: &ImageSet) -> Result<(Vec<u32>, SetLayout)> {
    u32_of("pixels of the image set", set.pixels.len())?;
    let mut words: Vec<u32> = set.tables.iter().flatten().map(|v| v.to_bits()).collect();
    let labels_at = words.len();
    words.extend_from_slice(&set.labels);
    let pixels_at = words.len();
    words.extend(set.pixels.chunks(4).map(|c| {
        let mut b = [0u8; 4];
        b[..c.len()].copy_from_slice(c);
        u32::from_le_bytes(b)
    }));
    u32_of("words of the image set", words.len())?;
    let layout = SetLayout {
        shape: set.shape,
        samples: set.len(),
        labels_at,
        pixels_at,
    };
    Ok((words, layout))
}

/// Byte offset of `first` in `gather.wgsl`'s parameters, set per batch by a copy.
pub const GATHER_FIRST_AT: u64 = std::mem::offset_of!(GatherParams, first) as u64;

/// Byte offset of `first` in `tally.wgsl`'s parameters, set per batch by a copy.
pub const TALLY_FIRST_AT: u64 = std::mem::offset_of!(TallyParams, first) as u64;

/// One batch of `batch` samples from the image set `set` (laid out as `layout` says) into `x`
/// and, with `with_labels`, `labels` (`shaders/gather.wgsl`), as
/// [`crate::pass::gather`]: positions `first`.. of the pass `order` (`[sample, augment]`
/// words), cropped with padding `pad`. `first` may be changed per batch by copying it into the
/// launch's uniforms at [`GATHER_FIRST_AT`].
#[allow(clippy::too_many_arguments)]
pub async fn gather(
    ctx: &GpuContext,
    set: &GpuTensor,
    layout: &SetLayout,
    order: &GpuTensor,
    pad: usize,
    first: usize,
    batch: usize,
    x: &GpuTensor,
    labels: &GpuTensor,
    with_labels: bool,
) -> Result<Dispatch> {
    let shape = layout.shape;
    set.check_holds(
        "gather set",
        layout.pixels_at + (layout.samples * shape.len()).div_ceil(4),
    )?;
    order.check_holds("gather order", 2 * (first + batch))?;
    x.check_holds("gather x", batch * shape.len())?;
    if with_labels {
        labels.check_holds("gather labels", batch)?;
    }
    if pad > 64 {
        return Err(Error::Shape(format!(
            "a crop padding of {pad} (at most 64)"
        )));
    }
    let params = GatherParams {
        batch: u32_of("batch", batch)?,
        channels: u32_of("channels", shape.channels)?,
        height: u32_of("height", shape.height)?,
        width: u32_of("width", shape.width)?,
        pad: pad as u32,
        first: u32_of("first", first)?,
        labels_at: u32_of("labels_at", layout.labels_at)?,
        pixels_at: u32_of("pixels_at", layout.pixels_at)?,
        with_labels: u32::from(with_labels),
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    let n = batch * shape.len();
    dispatch_elementwise(
        ctx,
        Kernel::Gather,
        &[],
        &params,
        &[set, order, x, labels],
        n,
    )
    .await
}

/// The per-sample records of a batch of `batch` (`shaders/tally.wgsl`), as
/// [`crate::pass::tally`]: from the output spikes `s` `[steps][batch][classes]`, the
/// `labels` and per-sample `loss` (read for [`Record::Training`] only), into `records` from
/// position `first` (changed per batch by a copy at [`TALLY_FIRST_AT`]).
#[allow(clippy::too_many_arguments)]
pub async fn tally(
    ctx: &GpuContext,
    s: &GpuTensor,
    labels: &GpuTensor,
    loss: &GpuTensor,
    steps: usize,
    batch: usize,
    classes: usize,
    record: Record,
    first: usize,
    records: &GpuTensor,
) -> Result<Dispatch> {
    s.check_holds("tally s", steps * batch * classes)?;
    records.check_holds("tally records", (first + batch) * record.len(classes))?;
    let training = record == Record::Training;
    if training {
        labels.check_holds("tally labels", batch)?;
        loss.check_holds("tally loss", batch)?;
    }
    let params = TallyParams {
        batch: u32_of("batch", batch)?,
        steps: u32_of("steps", steps)?,
        classes: u32_of("classes", classes)?,
        first: u32_of("first", first)?,
    };
    let constants = [("TRAINING", flag(training))];
    let tensors = [s, labels, loss, records];
    dispatch_elementwise(ctx, Kernel::Tally, &constants, &params, &tensors, batch).await
}

/// The uniform parameters shared by the three convolution kernels; `tiles_l` is the number of
/// tiles along the lane side of the kernel's implicit GEMM.
fn conv_params(images: usize, g: &ConvGeom, tiles_l: usize) -> Result<ConvParams> {
    Ok(ConvParams {
        images: u32_of("images", images)?,
        in_ch: u32_of("in_channels", g.in_channels)?,
        out_ch: u32_of("out_channels", g.out_channels)?,
        kernel: u32_of("kernel", g.kernel)?,
        padding: u32_of("padding", g.padding)?,
        height: u32_of("height", g.height)?,
        width: u32_of("width", g.width)?,
        out_h: u32_of("out_height", g.out_height())?,
        out_w: u32_of("out_width", g.out_width())?,
        tiles_l: u32_of("tiles", tiles_l)?,
        _pad0: 0,
        _pad1: 0,
    })
}

/// The weights per output channel, in_ch·k·k: a row of the implicit GEMMs' weight matrix.
fn patch_len(g: &ConvGeom) -> usize {
    g.in_channels * g.kernel * g.kernel
}

/// Eq 3's I = W ∗ s_in for `images` maps (`shaders/conv_forward.wgsl`), as
/// [`crate::cpu::conv::conv_forward`]: `input` `[images][in_ch][h][w]`, `w`
/// `[out_ch][in_ch][k][k]`, `out` `[images][out_ch][oh][ow]`.
///
/// On hardware GPUs (a [`GpuContext::matmul_path`] with tiles) the forward pass and the input
/// gradient run `conv_forward_tiled.wgsl` and `conv_input_grad_tiled.wgsl`: implicit GEMMs on
/// `gemm.wgsl`'s workgroup-memory tile, with coalesced, image-major loads (not yet measured on a
/// GPU). The weight gradient has one kernel on every adapter, split across workgroups by chunks
/// of images on hardware GPUs ([`conv_weight_grad`]).
///
/// On software adapters the three conv kernels are implicit GEMMs on matmul's register tile
/// (`gpu/tile.rs`: a workgroup of 64 computes 16 channels × 256 pixels or patch positions). Both
/// compute the im2col index on the fly: no column buffer (k² times the layer's input, which soon
/// outgrows a 128 MiB binding such as lavapipe's). Measured on lavapipe (Mesa 22.3, 2 cores,
/// both busy with two CPU trainings), device time per launch, two runs of
/// `cargo run --release -p mtsnn-core --example gpu_conv` each side (medians of 5 launches):
///
/// | MNIST net layer, 256 maps (128 for conv1) | direct loops (before) | implicit GEMM |
/// |-------------------------------------------|-----------------------|---------------|
/// | conv2 (15→40, 5×5, 12×12) forward         | 0.91 s                | 0.29–0.31 s   |
/// | conv2 input gradient                      | 1.26–1.50 s           | 0.30–0.32 s   |
/// | conv2 weight gradient                     | 1.27–1.63 s           | 0.35–0.36 s   |
/// | conv1 (1→15, 5×5, 28×28) forward          | 0.12–0.13 s           | 0.04–0.05 s   |
/// | conv1 weight gradient                     | 0.17–0.18 s           | 0.02–0.03 s   |
///
/// `matmul.wgsl` on the GEMMs of im2col + GEMM for conv2 (im2col not counted): 0.28–0.30 s and
/// 0.41–0.44 s, so the convolutions now run at matmul's speed. The whole MNIST CNN
/// (`mtsnn bench --net 15C5-P2-40C5-P2-300 --backend gpu --iters 2 --infer-iters 10`, same load,
/// three runs each side, interleaved) went from a median of 28 (27–36) to 82 (78–118) training
/// samples/s. Weak spot: an input gradient with few input channels (conv1's, 1 channel, 0.5 s)
/// fills 1 of the tile's 16 rows; training never computes one for the first layer.
pub async fn conv_forward(
    ctx: &GpuContext,
    input: &GpuTensor,
    w: &GpuTensor,
    out: &GpuTensor,
    images: usize,
    g: &ConvGeom,
) -> Result<Dispatch> {
    g.check()?;
    // Output channels × output pixels (over all images).
    let c = [
        g.out_channels,
        images * g.out_height() * g.out_width(),
        TILE_L,
    ];
    if let Some(d) =
        conv_tiled(ctx, Kernel::ConvForwardTiled, [input, w, out], c, images, g).await?
    {
        return Ok(d);
    }
    dispatch_tiles(
        ctx,
        Kernel::ConvForward,
        &[],
        &[input, w, out],
        c,
        |tiles_l| conv_params(images, g, tiles_l),
    )
    .await
}

/// Eq 9 through a conv layer (`shaders/conv_input_grad.wgsl`), as
/// [`crate::cpu::conv::conv_input_grad`]: the transposed convolution of `grad_out`
/// `[images][out_ch][oh][ow]` into `grad_in` `[images][in_ch][h][w]`.
pub async fn conv_input_grad(
    ctx: &GpuContext,
    grad_out: &GpuTensor,
    w: &GpuTensor,
    grad_in: &GpuTensor,
    images: usize,
    g: &ConvGeom,
) -> Result<Dispatch> {
    g.check()?;
    // Input channels × input pixels (over all images).
    let c = [g.in_channels, images * g.height * g.width, TILE_L];
    let tensors = [grad_out, w, grad_in];
    if let Some(d) = conv_tiled(ctx, Kernel::ConvInputGradTiled, tensors, c, images, g).await? {
        return Ok(d);
    }
    dispatch_tiles(ctx, Kernel::ConvInputGrad, &[], &tensors, c, |tiles_l| {
        conv_params(images, g, tiles_l)
    })
    .await
}

/// The launch of a convolution's implicit GEMM on `gemm.wgsl`'s workgroup-memory tile
/// (`conv_forward_tiled.wgsl`, `conv_input_grad_tiled.wgsl`) when the context's
/// [`GpuContext::matmul_path`] has a tile for its C of `[m, n, _]`; `None` on the direct path,
/// where the register-tile kernel runs.
async fn conv_tiled(
    ctx: &GpuContext,
    kernel: Kernel,
    tensors: [&GpuTensor; 3],
    [m, n, _]: [usize; 3],
    images: usize,
    g: &ConvGeom,
) -> Result<Option<Dispatch>> {
    let Some(tile) = ctx.matmul_path().tile_for(m, n) else {
        return Ok(None);
    };
    let tiles_n = n.div_ceil(tile.cols());
    let workgroups = grid(ctx, m.div_ceil(tile.rows()) * tiles_n)?;
    let params = conv_params(images, g, tiles_n)?;
    let mut constants = tile.constants().to_vec();
    if kernel == Kernel::ConvForwardTiled {
        // The weights by 16-byte loads where every patch is whole vec4s.
        let vec4 = ctx.matmul_path().loads() == Some(Loads::Vec4);
        constants.push(("VEC_A", flag(vec4 && patch_len(g).is_multiple_of(4))));
    }
    let d = dispatch(ctx, kernel, &constants, &params, &tensors, workgroups).await?;
    Ok(Some(d))
}

/// The number of groups (1, 2, 4 or 8) into which `conv_weight_grad.wgsl` divides a workgroup,
/// each taking a share of the images for a tile of TILE_L/groups patch positions: the one that pads
/// `patch` (in_ch·k·k) the least, the fewest groups among equals.
fn weight_grad_split(patch: usize) -> usize {
    [1, 2, 4, 8]
        .into_iter()
        .min_by_key(|&s| patch.div_ceil(TILE_L / s) * (TILE_L / s))
        .expect("four candidates")
}

/// The most chunks a weight gradient is split into: the grid's z dimension in WebGPU, and the
/// bound under which `conv_weight_grad.wgsl`'s u32 arithmetic on chunk numbers cannot overflow.
const MAX_CHUNKS: usize = 65_535;

/// The launches of a conv layer's weight gradient ([`conv_weight_grad`]), in order: the partial
/// sums, then, when the images are split into chunks, the pass that adds the chunks.
#[derive(Debug)]
pub struct ConvWeightGrad {
    /// `conv_weight_grad.wgsl`, into grad_w (one chunk) or the scratch.
    partials: Dispatch,
    /// With more than one chunk: `sum_steps.wgsl` adding the scratch's chunks into grad_w, and
    /// the scratch `[chunks][out_ch][in_ch·k·k]` (owned by the launch, not by the schedule).
    sum: Option<(Dispatch, GpuTensor)>,
    chunks: usize,
}

impl ConvWeightGrad {
    /// The image ranges the gradient is split into across workgroups (1: one launch, no scratch).
    pub fn chunks(&self) -> usize {
        self.chunks
    }

    /// The launches, in the order they must run: one, or two with chunks.
    pub fn dispatches(&self) -> impl Iterator<Item = &Dispatch> {
        std::iter::once(&self.partials).chain(self.sum.as_ref().map(|(d, _)| d))
    }
}

/// Eq 13 for a conv layer (`shaders/conv_weight_grad.wgsl`), as
/// [`crate::cpu::conv::conv_weight_grad`]: `grad_w` `[out_ch][in_ch][k][k]` from `input` and
/// `grad_out` over `images` maps.
///
/// The images are split into [`GpuContext::weight_grad_chunks`] chunks across workgroups
/// (split-K: see [`super::WeightGradChunks`]), capped so that the scratch fits one storage
/// binding and the grid's z dimension. With one chunk this is a single launch writing grad_w, as
/// on software adapters; with more, each chunk's workgroups write its partial sums to a scratch
/// buffer and `sum_steps.wgsl` adds the chunks in chunk order ([`sum_steps`] with the chunks as
/// its steps): a fixed order, so the result does not depend on scheduling.
///
/// Software adapters keep one chunk: on lavapipe (Mesa 22.3, 2 cores, trainings paused but
/// another helper's builds running) the split was no faster. The MNIST CNN's two weight gradients
/// in one profiled training batch (`mtsnn bench --backend gpu --profile --net
/// 15C5-P2-40C5-P2-300 --dataset mnist --iters 5 --warmup 1 --infer-iters 1 --epoch-batches 0`,
/// with `MTSNN_WEIGHT_GRAD_CHUNKS` unset, 8 or 32, alternated, 3 + 4 rounds in two sittings;
/// `results/bench/weight-grad-split-lavapipe-2026-11-30.txt`): one chunk 120–272 ms,
/// 8 chunks 71–244 ms, 32 chunks 73–244 ms, of which `sum_steps.wgsl` 0.4–6 ms; training
/// 122–367, 124–375 and 122–363 samples/s; the round-to-round spread exceeds any difference.
/// Per layer (`cargo run --release -p mtsnn-core --example gpu_conv`, medians of 5 launches,
/// 4 alternated rounds; medians of the rounds): conv2 (256 maps) 0.198 s in one chunk, 0.19 s in
/// 2 or 8, 0.185 s in 32; conv1 (128 maps) 0.018 s in one chunk, 0.020–0.023 s split. Hardware
/// GPUs, for which the split is built, have not been measured: `scripts/gpu-bench.sh` profiles
/// the CNN with the adapter's chunks and with one.
pub async fn conv_weight_grad(
    ctx: &GpuContext,
    input: &GpuTensor,
    grad_out: &GpuTensor,
    grad_w: &GpuTensor,
    images: usize,
    g: &ConvGeom,
) -> Result<ConvWeightGrad> {
    g.check()?;
    let patch = patch_len(g);
    let weights = g.out_channels * patch;
    // Output channels × patch positions, TILE_L/split of them per tile.
    let split = weight_grad_split(patch);
    let tiles_l = patch.div_ceil(TILE_L / split);
    let tiles = g.out_channels.div_ceil(TILE_U) * tiles_l;
    let pixels = g.out_height() * g.out_width();
    let chunks = ctx
        .weight_grad_chunks()
        .chunks(tiles, images, pixels)
        .min(MAX_CHUNKS)
        .min(ctx.limits().max_compute_workgroups_per_dimension as usize)
        .min(ctx.max_tensor_values() / weights.max(1))
        .max(1);
    let [x, y, _] = grid(ctx, tiles)?;
    let scratch = if chunks > 1 {
        Some(ctx.zeros("conv_weight_grad chunks", chunks * weights)?)
    } else {
        None
    };
    let partials = dispatch(
        ctx,
        Kernel::ConvWeightGrad,
        &[("SPLIT", split as f64)],
        &conv_params(images, g, tiles_l)?,
        &[input, grad_out, scratch.as_ref().unwrap_or(grad_w)],
        [x, y, u32_of("chunks", chunks)?],
    )
    .await?;
    let sum = match scratch {
        Some(scratch) => Some((
            sum_steps(ctx, &scratch, chunks, weights, grad_w).await?,
            scratch,
        )),
        None => None,
    };
    Ok(ConvWeightGrad {
        partials,
        sum,
        chunks,
    })
}

/// The uniform parameters of the pooling kernels, after checking the window.
fn pool_params(maps: usize, h: usize, w: usize, k: usize) -> Result<PoolParams> {
    Pool {
        maps,
        height: h,
        width: w,
        kernel: k,
    }
    .check()?;
    Ok(PoolParams {
        maps: u32_of("maps", maps)?,
        height: u32_of("height", h)?,
        width: u32_of("width", w)?,
        kernel: u32_of("kernel", k)?,
    })
}

/// k×k average pooling, stride k (`shaders/avg_pool_forward.wgsl`), as
/// [`crate::cpu::conv::avg_pool_forward`]: `input` `[maps][h][w]`, `out` `[maps][h/k][w/k]`.
pub async fn avg_pool_forward(
    ctx: &GpuContext,
    input: &GpuTensor,
    out: &GpuTensor,
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<Dispatch> {
    pool_forward(ctx, Kernel::AvgPoolForward, input, out, [maps, h, w, k]).await
}

/// One invocation per output value of a pooling kernel, `[maps, h, w, k]` as [`pool_params`].
async fn pool_forward(
    ctx: &GpuContext,
    kernel: Kernel,
    input: &GpuTensor,
    out: &GpuTensor,
    [maps, h, w, k]: [usize; 4],
) -> Result<Dispatch> {
    let params = pool_params(maps, h, w, k)?;
    let out_len = maps * (h / k) * (w / k);
    dispatch_elementwise(ctx, kernel, &[], &params, &[input, out], out_len).await
}

/// The transpose of [`avg_pool_forward`] (`shaders/avg_pool_backward.wgsl`), as
/// [`crate::cpu::conv::avg_pool_backward`]: `grad_out` `[maps][h/k][w/k]`, `grad_in` `[maps][h][w]`.
pub async fn avg_pool_backward(
    ctx: &GpuContext,
    grad_out: &GpuTensor,
    grad_in: &GpuTensor,
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<Dispatch> {
    let params = pool_params(maps, h, w, k)?;
    dispatch_elementwise(
        ctx,
        Kernel::AvgPoolBackward,
        &[],
        &params,
        &[grad_out, grad_in],
        maps * h * w,
    )
    .await
}

/// k×k max pooling, stride k (`shaders/max_pool_forward.wgsl`), as
/// [`crate::cpu::conv::max_pool_forward`]: `input` `[maps][h][w]`, `out` `[maps][h/k][w/k]`.
pub async fn max_pool_forward(
    ctx: &GpuContext,
    input: &GpuTensor,
    out: &GpuTensor,
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<Dispatch> {
    pool_forward(ctx, Kernel::MaxPoolForward, input, out, [maps, h, w, k]).await
}

/// The gradient of [`max_pool_forward`] (`shaders/max_pool_backward.wgsl`), as
/// [`crate::cpu::conv::max_pool_backward`]: each window's gradient goes to the first maximum of
/// the window in `input` (the pool's input, `[maps][h][w]`); `grad_out` `[maps][h/k][w/k]`,
/// `grad_in` `[maps][h][w]`.
#[allow(clippy::too_many_arguments)]
pub async fn max_pool_backward(
    ctx: &GpuContext,
    input: &GpuTensor,
    grad_out: &GpuTensor,
    grad_in: &GpuTensor,
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<Dispatch> {
    let params = pool_params(maps, h, w, k)?;
    dispatch_elementwise(
        ctx,
        Kernel::MaxPoolBackward,
        &[],
        &params,
        &[input, grad_out, grad_in],
        maps * h * w,
    )
    .await
}
