//! What every launcher shares: a size as the kernels' u32, the grid of workgroups within the
//! device's per-dimension limit, and a [`Dispatch`] built from a kernel, its override constants,
//! its uniform parameters (binding 0) and its tensors (bindings 1, 2, … in order).

use super::context::{Count, GpuContext};
use super::shaders::{Kernel, Params};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use super::tile::TILE_U;
use crate::error::{Error, Result};

/// Invocations per workgroup of the one-thread-per-element kernels (WGSL override `WG`).
pub(super) const WG: u32 = 64;

/// A size as the u32 the kernels take.
pub(super) fn u32_of(what: &str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| {
        Error::Shape(format!(
            "{what} = {n} exceeds the GPU kernels' 32-bit sizes"
        ))
    })
}

/// A grid of `count` workgroups that respects the per-dimension limit (65,535 in WebGPU):
/// `[x, y, 1]` with x·y ≥ count; the kernels number workgroups `y·x_count + x` and skip those
/// past `count`.
pub(super) fn grid(ctx: &GpuContext, count: usize) -> Result<[u32; 3]> {
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
pub(super) async fn dispatch<P: Params>(
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
pub(super) async fn dispatch_elementwise<P: Params>(
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
pub(super) async fn dispatch_tiles<P: Params>(
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

/// A bool override constant.
pub(super) fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}
