//! A typed launcher per WGSL kernel, each named after its CPU twin in [`crate::cpu::kernels`]
//! and taking the same sizes. They check every tensor against those sizes ([`Error::Shape`]),
//! compile (or fetch from the cache) the pipeline for their override constants, and return a
//! [`Dispatch`] to record with [`GpuContext::execute`].

use super::context::{GpuContext, MatmulPath};
use super::shaders::Kernel;
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::cpu::kernels::{AdamStep, ScanParams};
use crate::error::{Error, Result};
use crate::hyper::GradMode;
use crate::surrogate::{GAUSS_CUTOFF, SurrogateParams};

/// Invocations per workgroup of the one-thread-per-element kernels (WGSL override `WG`).
const WG: u32 = 64;
/// The tile of C one `matmul.wgsl` workgroup computes: 16 along its uniform side, 256 along its lanes.
const MATMUL_TILE_U: usize = 16;
const MATMUL_TILE_L: usize = 256;

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
/// bindings 1, 2, … in order.
async fn dispatch(
    ctx: &GpuContext,
    kernel: Kernel,
    constants: &[(&'static str, f64)],
    params: &[u8],
    tensors: &[&GpuTensor],
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let pipeline = ctx.pipeline(kernel, constants).await?;
    let scope = ctx.scope();
    let uniform = wgpu::util::DeviceExt::create_buffer_init(
        &ctx.device,
        &wgpu::util::BufferInitDescriptor {
            label: Some(kernel.file_name()),
            contents: params,
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

fn words(values: &[u32]) -> Vec<u8> {
    bytemuck::cast_slice(values).to_vec()
}

/// C = op(A)·op(B) with C `[m][n]` (`shaders/matmul.wgsl`); the layouts of
/// [`crate::cpu::kernels::matmul`]: op(A) is A `[m][k]` or, with `a_t`, Aᵀ of an A stored `[k][m]`;
/// op(B) is B `[k][n]` or, with `b_t`, Bᵀ of a B stored `[n][k]`.
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
    a.check_holds("matmul A", m * k)?;
    b.check_holds("matmul B", k * n)?;
    c.check_holds("matmul C", m * n)?;
    // Lanes along the longer side of C, so that a narrow C (10 classes) still fills them.
    let lanes_on_rows = m > n;
    let (u_len, l_len) = if lanes_on_rows { (n, m) } else { (m, n) };
    let tiles_l = l_len.div_ceil(MATMUL_TILE_L);
    let params = words(&[
        u32_of("m", m)?,
        u32_of("n", n)?,
        u32_of("k", k)?,
        u32_of("tiles", tiles_l)?,
    ]);
    let constants = [
        ("TRANS_A", flag(a_t)),
        ("TRANS_B", flag(b_t)),
        ("LANES_ON_ROWS", flag(lanes_on_rows)),
        (
            "WORKGROUP_TILES",
            flag(ctx.matmul_path() == MatmulPath::WorkgroupTiles),
        ),
    ];
    let workgroups = grid(ctx, u_len.div_ceil(MATMUL_TILE_U) * tiles_l)?;
    dispatch(
        ctx,
        Kernel::Matmul,
        &constants,
        &params,
        &[a, b, c],
        workgroups,
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
    current.check_holds("lif_forward current", if constant { m } else { steps * m })?;
    v.check_holds("lif_forward v", steps * m)?;
    s.check_holds("lif_forward s", steps * m)?;
    let params = words(&[
        u32_of("m", m)?,
        u32_of("steps", steps)?,
        u32::from(constant),
        0,
    ]);
    let [v_th, s_max, lam] = neuron_constants(lambda, sp);
    let constants = [v_th, s_max, lam, ("WG", WG as f64)];
    let workgroups = grid(ctx, m.div_ceil(WG as usize))?;
    dispatch(
        ctx,
        Kernel::LifForward,
        &constants,
        &params,
        &[current, v, s],
        workgroups,
    )
    .await
}

/// Eq 6 and the first factor of eq 10 (`shaders/output_error.wgsl`), as
/// [`crate::cpu::kernels::output_error`]: from the output spikes `s` `[steps][batch][classes]`
/// and `labels` (u32), writes `upstream = (s − y) / batch` and, per sample, its loss
/// Σ_t ½ Σ_i (y_i − s_i[t])² into `loss` `[batch]` (the batch loss is their sum / batch).
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
    s.check_holds("output_error s", steps * batch * classes)?;
    labels.check_holds("output_error labels", batch)?;
    upstream.check_holds("output_error upstream", steps * batch * classes)?;
    loss.check_holds("output_error loss", batch)?;
    let params = words(&[
        u32_of("batch", batch)?,
        u32_of("steps", steps)?,
        u32_of("classes", classes)?,
        target.to_bits(),
    ]);
    let workgroups = grid(ctx, batch.div_ceil(WG as usize))?;
    dispatch(
        ctx,
        Kernel::OutputError,
        &[("WG", WG as f64)],
        &params,
        &[s, labels, upstream, loss],
        workgroups,
    )
    .await
}

/// The backward pass through one layer of neurons (`shaders/surrogate_g_scan.wgsl`), as
/// [`crate::cpu::kernels::surrogate_g_scan`]: δ[t] = upstream[t] ⊙ f′[t] (eq 9, 10), f′ the
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
    for (what, t) in [("upstream", upstream), ("v", v), ("delta", delta), ("g", g)] {
        t.check_holds(&format!("surrogate_g_scan {what}"), steps * m)?;
    }
    let params = words(&[u32_of("m", m)?, u32_of("steps", steps)?, 0, 0]);
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
        ("WG", WG as f64),
    ];
    let workgroups = grid(ctx, m.div_ceil(WG as usize))?;
    dispatch(
        ctx,
        Kernel::SurrogateGScan,
        &constants,
        &params,
        &[upstream, v, delta, g],
        workgroups,
    )
    .await
}

/// Σ_t x[t] of a `[steps][m]` tensor into `out` `[m]` (`shaders/sum_steps.wgsl`), as
/// [`crate::cpu::kernels::sum_steps`].
pub async fn sum_steps(
    ctx: &GpuContext,
    x: &GpuTensor,
    steps: usize,
    m: usize,
    out: &GpuTensor,
) -> Result<Dispatch> {
    x.check_holds("sum_steps x", steps * m)?;
    out.check_holds("sum_steps out", m)?;
    let params = words(&[u32_of("m", m)?, u32_of("steps", steps)?, 0, 0]);
    let workgroups = grid(ctx, m.div_ceil(WG as usize))?;
    dispatch(
        ctx,
        Kernel::SumSteps,
        &[("WG", WG as f64)],
        &params,
        &[x, out],
        workgroups,
    )
    .await
}

/// One Adam update of `w` with its moments `m`, `v` from `grad` (`shaders/adam.wgsl`), as
/// [`crate::cpu::kernels::adam_update`]. The step's constants live in the launch's uniform
/// buffer, so one [`AdamUpdate`] serves every step: [`AdamUpdate::set_step`] before each submission.
pub async fn adam_update(
    ctx: &GpuContext,
    w: &GpuTensor,
    grad: &GpuTensor,
    m: &GpuTensor,
    v: &GpuTensor,
    step: &AdamStep,
) -> Result<AdamUpdate> {
    let n = w.len();
    for (what, t) in [("grad", grad), ("m", m), ("v", v)] {
        t.check_holds(&format!("adam_update {what}"), n)?;
    }
    let params = adam_params(n, step)?;
    let workgroups = grid(ctx, n.div_ceil(WG as usize))?;
    let dispatch = dispatch(
        ctx,
        Kernel::Adam,
        &[("WG", WG as f64)],
        &params,
        &[grad, w, m, v],
        workgroups,
    )
    .await?;
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
        ctx.queue
            .write_buffer(&self.dispatch.params, 0, &adam_params(self.n, step)?);
        Ok(())
    }
}

fn adam_params(n: usize, p: &AdamStep) -> Result<Vec<u8>> {
    let (c1, c2) = p.corrections();
    let f = f32::to_bits;
    Ok(words(&[
        u32_of("weights", n)?,
        f(p.lr),
        f(p.beta1),
        f(p.beta2),
        f(p.eps),
        f(c1),
        f(c2),
        0,
    ]))
}
