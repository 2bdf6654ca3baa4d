//! The launchers of the pooling kernels (`shaders/pool/`), twins of `cpu/pool.rs`: average and
//! max pooling, k×k windows with stride k, and their gradients.

use super::context::GpuContext;
use super::launch::{dispatch_elementwise, u32_of};
use super::shaders::{Kernel, PoolParams};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::error::Result;
use crate::schedule::Pool;

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

/// k×k average pooling, stride k (`shaders/pool/avg_pool_forward.wgsl`), as
/// [`crate::cpu::pool::avg_pool_forward`]: `input` `[maps][h][w]`, `out` `[maps][h/k][w/k]`.
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

/// The transpose of [`avg_pool_forward`] (`shaders/pool/avg_pool_backward.wgsl`), as
/// [`crate::cpu::pool::avg_pool_backward`]: `grad_out` `[maps][h/k][w/k]`, `grad_in` `[maps][h][w]`.
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

/// k×k max pooling, stride k (`shaders/pool/max_pool_forward.wgsl`), as
/// [`crate::cpu::pool::max_pool_forward`]: `input` `[maps][h][w]`, `out` `[maps][h/k][w/k]`.
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

/// The gradient of [`max_pool_forward`] (`shaders/pool/max_pool_backward.wgsl`), as
/// [`crate::cpu::pool::max_pool_backward`]: each window's gradient goes to the first maximum of
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
