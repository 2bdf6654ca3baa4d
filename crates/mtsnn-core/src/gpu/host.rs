//! Each GPU kernel on host slices, with the signature of its CPU twin in
//! [`crate::cpu::kernels`] or [`crate::cpu::conv`] plus the context first and a `Result` (wrong sizes are
//! [`Error::Shape`], not panics). They upload, run one kernel and read back: for tests and
//! measurements; training keeps its data on the device ([`super::GpuBackend`]).

use super::context::GpuContext;
use super::kernels;
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::error::{Error, Result};
use crate::kernel_params::{AdamStep, ScanParams};
use crate::plan::ConvGeom;
use crate::surrogate::SurrogateParams;

fn check_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::Shape(format!(
            "{what}: {got} values, expected {want}"
        )));
    }
    Ok(())
}

/// C = op(A)·op(B) on the GPU; see [`crate::cpu::kernels::matmul`].
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    ctx: &GpuContext,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a_t: bool,
    b_t: bool,
) -> Result<()> {
    check_len("matmul A", a.len(), m * k)?;
    check_len("matmul B", b.len(), k * n)?;
    check_len("matmul C", c.len(), m * n)?;
    pollster::block_on(async {
        let (ta, tb, tc) = (
            ctx.upload("A", a)?,
            ctx.upload("B", b)?,
            ctx.zeros("C", m * n)?,
        );
        let d = kernels::matmul(ctx, &ta, &tb, &tc, m, n, k, a_t, b_t).await?;
        let out = ctx.execute(&[&d], &[(&tc, m * n)]).await?;
        c.copy_from_slice(&out[0]);
        Ok(())
    })
}

/// Eq 3–5 on the GPU; see [`crate::cpu::kernels::lif_forward`].
#[allow(clippy::too_many_arguments)]
pub fn lif_forward(
    ctx: &GpuContext,
    current: &[f32],
    constant: bool,
    steps: usize,
    m: usize,
    lambda: f32,
    sp: &SurrogateParams,
    v: &mut [f32],
    s: &mut [f32],
) -> Result<()> {
    check_len(
        "lif_forward current",
        current.len(),
        if constant { m } else { steps * m },
    )?;
    check_len("lif_forward v", v.len(), steps * m)?;
    check_len("lif_forward s", s.len(), steps * m)?;
    pollster::block_on(async {
        let tcur = ctx.upload("current", current)?;
        let (tv, ts) = (ctx.zeros("v", steps * m)?, ctx.zeros("s", steps * m)?);
        let d = kernels::lif_forward(ctx, &tcur, constant, steps, m, lambda, sp, &tv, &ts).await?;
        let out = ctx
            .execute(&[&d], &[(&tv, steps * m), (&ts, steps * m)])
            .await?;
        v.copy_from_slice(&out[0]);
        s.copy_from_slice(&out[1]);
        Ok(())
    })
}

/// Eq 6 and (s − y)/B on the GPU; see [`crate::cpu::kernels::output_error`]. Returns the batch
/// loss: the kernel's per-sample losses summed in f64 on the host and divided by the batch.
pub fn output_error(
    ctx: &GpuContext,
    s: &[f32],
    labels: &[u32],
    steps: usize,
    classes: usize,
    target: f32,
    upstream: &mut [f32],
) -> Result<f32> {
    let batch = labels.len();
    check_len("output_error s", s.len(), steps * batch * classes)?;
    check_len(
        "output_error upstream",
        upstream.len(),
        steps * batch * classes,
    )?;
    pollster::block_on(async {
        let (ts, tl) = (ctx.upload("s", s)?, ctx.upload("labels", labels)?);
        let (tu, tloss) = (ctx.zeros("upstream", s.len())?, ctx.zeros("loss", batch)?);
        let d = kernels::output_error(ctx, &ts, &tl, steps, batch, classes, target, &tu, &tloss)
            .await?;
        let out = ctx
            .execute(&[&d], &[(&tu, s.len()), (&tloss, batch)])
            .await?;
        upstream.copy_from_slice(&out[0]);
        Ok(batch_loss(&out[1]))
    })
}

/// The batch loss of eq 6 from the per-sample losses `output_error.wgsl` writes.
pub(crate) fn batch_loss(per_sample: &[f32]) -> f32 {
    let sum: f64 = per_sample.iter().map(|&l| l as f64).sum();
    (sum / per_sample.len().max(1) as f64) as f32
}

/// δ and G of the backward pass on the GPU; see [`crate::cpu::kernels::surrogate_g_scan`].
#[allow(clippy::too_many_arguments)]
pub fn surrogate_g_scan(
    ctx: &GpuContext,
    upstream: &[f32],
    v: &[f32],
    steps: usize,
    m: usize,
    p: &ScanParams,
    delta: &mut [f32],
    g: &mut [f32],
) -> Result<()> {
    check_len("surrogate_g_scan upstream", upstream.len(), steps * m)?;
    check_len("surrogate_g_scan v", v.len(), steps * m)?;
    check_len("surrogate_g_scan delta", delta.len(), steps * m)?;
    check_len("surrogate_g_scan g", g.len(), steps * m)?;
    pollster::block_on(async {
        let (tu, tv) = (ctx.upload("upstream", upstream)?, ctx.upload("v", v)?);
        let (td, tg) = (ctx.zeros("delta", steps * m)?, ctx.zeros("g", steps * m)?);
        let d = kernels::surrogate_g_scan(ctx, &tu, &tv, steps, m, p, &td, &tg).await?;
        let out = ctx
            .execute(&[&d], &[(&td, steps * m), (&tg, steps * m)])
            .await?;
        delta.copy_from_slice(&out[0]);
        g.copy_from_slice(&out[1]);
        Ok(())
    })
}

/// Σ_t x[t] on the GPU; see [`crate::cpu::kernels::sum_steps`].
pub fn sum_steps(
    ctx: &GpuContext,
    x: &[f32],
    steps: usize,
    m: usize,
    out: &mut [f32],
) -> Result<()> {
    check_len("sum_steps x", x.len(), steps * m)?;
    check_len("sum_steps out", out.len(), m)?;
    pollster::block_on(async {
        let (tx, tout) = (ctx.upload("x", x)?, ctx.zeros("out", m)?);
        let d = kernels::sum_steps(ctx, &tx, steps, m, &tout).await?;
        let res = ctx.execute(&[&d], &[(&tout, m)]).await?;
        out.copy_from_slice(&res[0]);
        Ok(())
    })
}

/// One Adam update on the GPU; see [`crate::cpu::kernels::adam_update`].
pub fn adam_update(
    ctx: &GpuContext,
    w: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    p: &AdamStep,
) -> Result<()> {
    let n = w.len();
    check_len("adam_update grad", grad.len(), n)?;
    check_len("adam_update m", m.len(), n)?;
    check_len("adam_update v", v.len(), n)?;
    pollster::block_on(async {
        let (tw, tg) = (ctx.upload("w", w)?, ctx.upload("grad", grad)?);
        let (tm, tv) = (ctx.upload("m", m)?, ctx.upload("v", v)?);
        let update = kernels::adam_update(ctx, &tw, &tg, &tm, &tv, p).await?;
        let out = ctx
            .execute(&[update.dispatch()], &[(&tw, n), (&tm, n), (&tv, n)])
            .await?;
        w.copy_from_slice(&out[0]);
        m.copy_from_slice(&out[1]);
        v.copy_from_slice(&out[2]);
        Ok(())
    })
}

/// Runs one conv launcher on uploaded `a` and `b`, reading back `out_len` values into `out`.
async fn run_conv<F, Fut>(
    ctx: &GpuContext,
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    launch: F,
) -> Result<()>
where
    F: FnOnce(GpuTensor, GpuTensor, GpuTensor) -> Fut,
    Fut: std::future::Future<Output = Result<(Dispatch, GpuTensor)>>,
{
    let (ta, tb, tout) = (
        ctx.upload("a", a)?,
        ctx.upload("b", b)?,
        ctx.zeros("out", out.len())?,
    );
    let (d, tout) = launch(ta, tb, tout).await?;
    let res = ctx.execute(&[&d], &[(&tout, out.len())]).await?;
    out.copy_from_slice(&res[0]);
    Ok(())
}

/// Eq 3's I = W ∗ s_in on the GPU; see [`crate::cpu::conv::conv_forward`].
pub fn conv_forward(
    ctx: &GpuContext,
    input: &[f32],
    w: &[f32],
    out: &mut [f32],
    images: usize,
    g: &ConvGeom,
) -> Result<()> {
    check_len("conv_forward input", input.len(), images * g.in_len())?;
    check_len("conv_forward w", w.len(), conv_weights(g))?;
    check_len("conv_forward out", out.len(), images * g.out_len())?;
    pollster::block_on(run_conv(ctx, input, w, out, |ti, tw, to| async move {
        let d = kernels::conv_forward(ctx, &ti, &tw, &to, images, g).await?;
        Ok((d, to))
    }))
}

/// Eq 9 through a conv layer on the GPU; see [`crate::cpu::conv::conv_input_grad`].
pub fn conv_input_grad(
    ctx: &GpuContext,
    grad_out: &[f32],
    w: &[f32],
    grad_in: &mut [f32],
    images: usize,
    g: &ConvGeom,
) -> Result<()> {
    check_len(
        "conv_input_grad grad_out",
        grad_out.len(),
        images * g.out_len(),
    )?;
    check_len("conv_input_grad w", w.len(), conv_weights(g))?;
    check_len(
        "conv_input_grad grad_in",
        grad_in.len(),
        images * g.in_len(),
    )?;
    pollster::block_on(run_conv(
        ctx,
        grad_out,
        w,
        grad_in,
        |tg, tw, ti| async move {
            let d = kernels::conv_input_grad(ctx, &tg, &tw, &ti, images, g).await?;
            Ok((d, ti))
        },
    ))
}

/// Eq 13 for a conv layer on the GPU; see [`crate::cpu::conv::conv_weight_grad`].
pub fn conv_weight_grad(
    ctx: &GpuContext,
    input: &[f32],
    grad_out: &[f32],
    grad_w: &mut [f32],
    images: usize,
    g: &ConvGeom,
) -> Result<()> {
    check_len("conv_weight_grad input", input.len(), images * g.in_len())?;
    check_len(
        "conv_weight_grad grad_out",
        grad_out.len(),
        images * g.out_len(),
    )?;
    check_len("conv_weight_grad grad_w", grad_w.len(), conv_weights(g))?;
    pollster::block_on(run_conv(
        ctx,
        input,
        grad_out,
        grad_w,
        |ti, tg, tw| async move {
            let d = kernels::conv_weight_grad(ctx, &ti, &tg, &tw, images, g).await?;
            Ok((d, tw))
        },
    ))
}

fn conv_weights(g: &ConvGeom) -> usize {
    g.out_channels * g.in_channels * g.kernel * g.kernel
}

/// k×k average pooling on the GPU; see [`crate::cpu::conv::avg_pool_forward`].
pub fn avg_pool_forward(
    ctx: &GpuContext,
    input: &[f32],
    out: &mut [f32],
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<()> {
    check_len("avg_pool_forward input", input.len(), maps * h * w)?;
    check_len(
        "avg_pool_forward out",
        out.len(),
        maps * (h / k.max(1)) * (w / k.max(1)),
    )?;
    pollster::block_on(async {
        let (ti, to) = (ctx.upload("input", input)?, ctx.zeros("out", out.len())?);
        let d = kernels::avg_pool_forward(ctx, &ti, &to, maps, h, w, k).await?;
        let res = ctx.execute(&[&d], &[(&to, out.len())]).await?;
        out.copy_from_slice(&res[0]);
        Ok(())
    })
}

/// The transpose of average pooling on the GPU; see [`crate::cpu::conv::avg_pool_backward`].
pub fn avg_pool_backward(
    ctx: &GpuContext,
    grad_out: &[f32],
    grad_in: &mut [f32],
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<()> {
    check_len("avg_pool_backward grad_in", grad_in.len(), maps * h * w)?;
    check_len(
        "avg_pool_backward grad_out",
        grad_out.len(),
        maps * (h / k.max(1)) * (w / k.max(1)),
    )?;
    pollster::block_on(async {
        let (to, ti) = (
            ctx.upload("grad_out", grad_out)?,
            ctx.zeros("grad_in", grad_in.len())?,
        );
        let d = kernels::avg_pool_backward(ctx, &to, &ti, maps, h, w, k).await?;
        let res = ctx.execute(&[&d], &[(&ti, grad_in.len())]).await?;
        grad_in.copy_from_slice(&res[0]);
        Ok(())
    })
}

/// k×k max pooling on the GPU; see [`crate::cpu::conv::max_pool_forward`].
pub fn max_pool_forward(
    ctx: &GpuContext,
    input: &[f32],
    out: &mut [f32],
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<()> {
    check_len("max_pool_forward input", input.len(), maps * h * w)?;
    check_len(
        "max_pool_forward out",
        out.len(),
        maps * (h / k.max(1)) * (w / k.max(1)),
    )?;
    pollster::block_on(async {
        let (ti, to) = (ctx.upload("input", input)?, ctx.zeros("out", out.len())?);
        let d = kernels::max_pool_forward(ctx, &ti, &to, maps, h, w, k).await?;
        let res = ctx.execute(&[&d], &[(&to, out.len())]).await?;
        out.copy_from_slice(&res[0]);
        Ok(())
    })
}

/// The gradient of max pooling on the GPU; see [`crate::cpu::conv::max_pool_backward`].
#[allow(clippy::too_many_arguments)]
pub fn max_pool_backward(
    ctx: &GpuContext,
    input: &[f32],
    grad_out: &[f32],
    grad_in: &mut [f32],
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<()> {
    check_len("max_pool_backward input", input.len(), maps * h * w)?;
    check_len("max_pool_backward grad_in", grad_in.len(), maps * h * w)?;
    check_len(
        "max_pool_backward grad_out",
        grad_out.len(),
        maps * (h / k.max(1)) * (w / k.max(1)),
    )?;
    pollster::block_on(async {
        let (ti, to, tg) = (
            ctx.upload("input", input)?,
            ctx.upload("grad_out", grad_out)?,
            ctx.zeros("grad_in", grad_in.len())?,
        );
        let d = kernels::max_pool_backward(ctx, &ti, &to, &tg, maps, h, w, k).await?;
        let res = ctx.execute(&[&d], &[(&tg, grad_in.len())]).await?;
        grad_in.copy_from_slice(&res[0]);
        Ok(())
    })
}
