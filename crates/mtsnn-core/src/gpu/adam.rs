//! The launcher of one Adam update (`shaders/adam/adam.wgsl`), the twin of `cpu/adam.rs`, and
//! the table of per-batch Adam constants a pass copies into its uniforms.

use super::context::{Count, GpuContext};
use super::launch::{dispatch_elementwise, u32_of};
use super::shaders::{AdamParams, Kernel};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::error::Result;
use crate::kernel_params::AdamStep;

/// One Adam update of the `n` weights `w` with their moments `m`, `v` from `grad` (`shaders/adam/adam.wgsl`), as
/// [`crate::cpu::adam::adam_update`]. The step's constants live in the launch's uniform
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
