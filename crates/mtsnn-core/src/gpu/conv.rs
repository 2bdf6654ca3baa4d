//! The launchers of the convolution kernels (`shaders/conv/`), twins of `cpu/conv.rs`: eq 3's
//! forward pass, eq 9's input gradient and eq 13's weight gradient as implicit GEMMs (the im2col
//! index computed on the fly, no column buffer), on `gemm.wgsl`'s workgroup-memory tile on
//! hardware GPUs and on matmul's register tile on software adapters; and into how many chunks of
//! images a weight gradient is split across workgroups ([`WeightGradChunks`]).

use super::context::GpuContext;
use super::gemm::{DISCRETE_FILL, INTEGRATED_FILL, Loads};
use super::launch::{dispatch, dispatch_tiles, flag, grid, u32_of};
use super::neuron::sum_steps;
use super::shaders::{ConvParams, Kernel};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use super::tile::{TILE_L, TILE_U};
use crate::error::Result;
use crate::plan::ConvGeom;

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

/// Eq 3's I = W ∗ s_in for `images` maps (`shaders/conv/conv_forward.wgsl`), as
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
/// outgrows a 128 MiB binding such as lavapipe's). Their timings against direct loops:
/// `docs/performance.md`.
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

/// Eq 9 through a conv layer (`shaders/conv/conv_input_grad.wgsl`), as
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

/// Eq 13 for a conv layer (`shaders/conv/conv_weight_grad.wgsl`), as
/// [`crate::cpu::conv::conv_weight_grad`]: `grad_w` `[out_ch][in_ch][k][k]` from `input` and
/// `grad_out` over `images` maps.
///
/// The images are split into [`GpuContext::weight_grad_chunks`] chunks across workgroups
/// (split-K: see [`WeightGradChunks`]), capped so that the scratch fits one storage
/// binding and the grid's z dimension. With one chunk this is a single launch writing grad_w, as
/// on software adapters; with more, each chunk's workgroups write its partial sums to a scratch
/// buffer and `sum_steps.wgsl` adds the chunks in chunk order ([`sum_steps`] with the chunks as
/// its steps): a fixed order, so the result does not depend on scheduling.
///
/// Software adapters keep one chunk (on lavapipe the split was no faster:
/// `docs/performance.md`).
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

/// Fewest terms of the weight gradient's inner sum (images × output pixels) a chunk should hold,
/// so that its partial sums and the pass that adds the chunks cost little beside the chunk's
/// multiply-adds. Each invocation of a chunk's workgroup does 64 multiply-adds per term it takes
/// (its 16 × 4 sums) and writes its 64 sums once; the pass that adds the chunks reads each weight
/// once per chunk, 1/2048 of a chunk's multiply-adds per weight. A reasoned guess, not yet
/// measured on a GPU.
pub const MIN_CHUNK_TERMS: usize = 2048;

/// Into how many image ranges ("chunks") a conv layer's weight gradient is split across
/// workgroups (split-K): `conv_weight_grad.wgsl` gets a third grid dimension of chunks, each
/// workgroup sums its tile over its chunk's images into a scratch buffer `[chunks][out_ch][patch]`,
/// and `sum_steps.wgsl` adds the chunks in chunk order into the gradient (deterministic).
///
/// The gradient's GEMM has few output tiles (out_ch × in_ch·k·k weights: one workgroup for the
/// MNIST net's first layer) and a long inner sum (images × output pixels: 128 × 576 = 73,728
/// terms there at batch 128, its input being the same at every step), so without the split it
/// runs on a few workgroups of a GPU that has over a hundred compute units. Software adapters run workgroups on a few CPU threads that the single
/// pass already keeps busy, and the split costs them a second launch and the scratch: they keep
/// the single pass (measured on lavapipe: `docs/performance.md`).
///
/// | adapter (wgpu device type)       | chunks                                             |
/// |----------------------------------|----------------------------------------------------|
/// | software (`Cpu`)                 | 1: the single pass                                 |
/// | discrete GPU                     | enough for ≥ 256 workgroups in all, within the floor |
/// | integrated, virtual, other GPU   | enough for ≥ 32 workgroups in all, within the floor |
///
/// The floor: each chunk keeps at least [`MIN_CHUNK_TERMS`] terms (whole images). A chunk may
/// hold fewer images than the kernel has groups of invocations sharing a workgroup's images,
/// leaving some idle: on a GPU the split is for, more workgroups beat fuller ones. The launcher
/// caps any count at what the scratch's storage binding and the grid's z dimension allow.
///
/// Chosen this way at batch 128, T = 2 on a discrete GPU (fill 256): the MNIST net's conv1 (1
/// tile, 128 maps of 576 terms) 32 chunks, its conv2 (9 tiles, 256 maps of 64 terms) 8; the
/// FashionMNIST net's conv1 (2 tiles, 128 maps of 576) 32, its conv2 (100 tiles, 256 maps of 64)
/// 3.
/// [`super::GpuContext::with_weight_grad_chunks`] overrides the choice (tests, benchmarks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightGradChunks {
    /// One pass: each workgroup sums its tile over all the images (no scratch, one launch).
    Single,
    /// Enough chunks for this many workgroups in all, within the floor of the table above.
    Fill(usize),
    /// This many chunks whatever the sizes (the launcher's caps apart); more chunks than images
    /// leave some empty, which add zeros.
    Fixed(usize),
}

impl WeightGradChunks {
    /// The rule for an adapter, as the table of [`WeightGradChunks`] says.
    pub fn for_adapter(info: &wgpu::AdapterInfo) -> Self {
        match info.device_type {
            wgpu::DeviceType::Cpu => Self::Single,
            wgpu::DeviceType::DiscreteGpu => Self::Fill(DISCRETE_FILL),
            _ => Self::Fill(INTEGRATED_FILL),
        }
    }

    /// The chunks for a weight gradient of `tiles` output tiles over `images` images of
    /// `terms_per_image` terms (output pixels) each. At least 1.
    pub fn chunks(&self, tiles: usize, images: usize, terms_per_image: usize) -> usize {
        match *self {
            Self::Single => 1,
            Self::Fixed(n) => n.max(1),
            Self::Fill(fill) => {
                let wanted = fill.div_ceil(tiles.max(1));
                let min_images = MIN_CHUNK_TERMS.div_ceil(terms_per_image.max(1));
                wanted.min(images / min_images).max(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(device_type: wgpu::DeviceType) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo::new(device_type, wgpu::Backend::Vulkan)
    }

    #[test]
    fn weight_gradients_split_on_gpus_only_and_keep_long_chunks() {
        let chunks = |kind| WeightGradChunks::for_adapter(&adapter(kind));
        assert_eq!(chunks(wgpu::DeviceType::Cpu), WeightGradChunks::Single);
        let discrete = chunks(wgpu::DeviceType::DiscreteGpu);
        let integrated = chunks(wgpu::DeviceType::IntegratedGpu);
        assert_eq!(discrete, WeightGradChunks::Fill(DISCRETE_FILL));
        assert_eq!(integrated, WeightGradChunks::Fill(INTEGRATED_FILL));
        // Software adapters keep the single pass whatever the sizes.
        assert_eq!(WeightGradChunks::Single.chunks(1, 128, 576), 1);
        // The MNIST net's conv1 at batch 128 (1 tile, 128 maps of 24×24 outputs): 2048 terms
        // are 4 maps, so 32 chunks; the fill alone would want 256 (discrete) or 32.
        assert_eq!(discrete.chunks(1, 128, 576), 32);
        assert_eq!(integrated.chunks(1, 128, 576), 32);
        // Its conv2 (9 tiles, 256 maps of 8×8 outputs): 2048 terms are 32 maps, so 8 chunks.
        assert_eq!(discrete.chunks(9, 256, 64), 8);
        // The FashionMNIST net's conv2 (100 tiles): 256 / 100 → 3 chunks fill the GPU.
        assert_eq!(discrete.chunks(100, 256, 64), 3);
        // Plenty of images: the fill decides (256 / 9 tiles → 29 chunks; 32 / 9 → 4).
        assert_eq!(discrete.chunks(9, 100_000, 64), 29);
        assert_eq!(integrated.chunks(9, 100_000, 64), 4);
        // Many tiles already fill the GPU: one chunk.
        assert_eq!(discrete.chunks(300, 100_000, 64), 1);
        // Too few terms for two chunks, or no images at all: one.
        assert_eq!(discrete.chunks(1, 7, 576), 1);
        assert_eq!(discrete.chunks(1, 0, 576), 1);
        // Every chunk keeps the floor.
        for (tiles, images, terms) in [(1, 128, 576), (9, 256, 64), (2, 777, 100), (1, 9, 5000)] {
            let n = discrete.chunks(tiles, images, terms);
            assert!(
                (images / n) * terms >= MIN_CHUNK_TERMS,
                "{n} chunks of {images} maps"
            );
        }
        assert_eq!(WeightGradChunks::Fixed(5).chunks(1, 3, 576), 5);
        assert_eq!(WeightGradChunks::Fixed(0).chunks(1, 3, 576), 1);
    }
}
