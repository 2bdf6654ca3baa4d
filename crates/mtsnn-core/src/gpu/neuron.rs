//! The launchers of the neuron kernels (`shaders/neuron/`), each the twin of the function of the
//! same name in `cpu/neuron.rs` and taking its sizes: the LIF forward pass (eq 3–5), the output
//! error (eq 6, 10), the backward scan with the surrogate (eq 9–16) and the sum over steps.

use super::context::GpuContext;
use super::launch::{dispatch_elementwise, flag, u32_of};
use super::shaders::{Kernel, LifForwardParams, OutputErrorParams, StepsParams};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::error::Result;
use crate::hyper::GradMode;
use crate::kernel_params::ScanParams;
use crate::surrogate::{GAUSS_CUTOFF, SurrogateParams};

/// The override constants of the LIF neuron.
fn neuron_constants(lambda: f32, sp: &SurrogateParams) -> [(&'static str, f64); 3] {
    [
        ("V_TH", sp.v_th as f64),
        ("S_MAX", sp.s_max as f64),
        ("LAMBDA", lambda as f64),
    ]
}

/// Eq 3–5 for `m` neurons over `steps` steps (`shaders/neuron/lif_forward.wgsl`), as
/// [`crate::cpu::neuron::lif_forward`]: `current` is `[steps][m]`, or `[m]` when `constant`;
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

/// Eq 6 and the first factor of eq 10 (`shaders/neuron/output_error.wgsl`), as
/// [`crate::cpu::neuron::output_error`]: from the output spikes `s` `[steps][batch][classes]`
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

/// The backward pass through one layer of neurons (`shaders/neuron/surrogate_g_scan.wgsl`), as
/// [`crate::cpu::neuron::surrogate_g_scan`]: δ\[t\] = upstream\[t\] ⊙ f′\[t\] (eq 9, 10), f′ the
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

/// Σ_t x\[t\] of a `[steps][m]` tensor into `out` `[m]` (`shaders/neuron/sum_steps.wgsl`), as
/// [`crate::cpu::neuron::sum_steps`].
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
