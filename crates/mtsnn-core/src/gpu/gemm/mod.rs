//! The launchers of the GEMM kernels (`shaders/gemm/`), twins of `cpu/gemm.rs`'s [`matmul`]:
//! the tiled `gemm.wgsl` and `gemm_vec4.wgsl` on hardware GPUs and `matmul.wgsl`'s register tile on
//! software adapters, as the context's [`MatmulPath`] (`path.rs`) chooses.

mod path;

pub(super) use path::{DISCRETE_FILL, INTEGRATED_FILL};
pub use path::{GEMM_TILES, GemmTile, Loads, MatmulPath, TiledGemm, vec4_operands};

use super::context::GpuContext;
use super::launch::{dispatch, dispatch_tiles, flag, grid, u32_of};
use super::shaders::{GemmParams, Kernel, MatmulParams};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use super::tile::TILE_L;
use crate::error::Result;

/// C = op(A)·op(B) with C `[m][n]`; the layouts of [`crate::cpu::gemm::matmul`]: op(A) is
/// A `[m][k]` or, with `a_t`, Aᵀ of an A stored `[k][m]`; op(B) is B `[k][n]` or, with `b_t`, Bᵀ of
/// a B stored `[n][k]`. The kernel is the context's [`GpuContext::matmul_path`]:
/// `shaders/gemm/gemm_vec4.wgsl` (16-byte loads where the rows allow) or `shaders/gemm/gemm.wgsl` with its
/// tile for this C on hardware GPUs, `shaders/gemm/matmul.wgsl` on software adapters.
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

/// [`matmul`] by `shaders/gemm/matmul.wgsl`, the register tile fed straight from the buffers.
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
