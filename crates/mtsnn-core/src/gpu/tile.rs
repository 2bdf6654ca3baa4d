//! The size of the register tile that `shaders/lib/register_tile.wgsl` gives the GEMM kernels
//! (matmul and the three convolutions), in one place: `build.rs` writes these values into the WGSL
//! as it composes the kernels, and the launchers in [`super::kernels`] size their grids with them.
//! A tile is [`TILE_U`] rows (the "uniform" side) × [`TILE_L`] lanes, computed by a workgroup of
//! [`TILE_LANES`] invocations with [`TILE_U`] × 4 sums each.

/// Rows of C per tile: one named vec4 of sums per row in each invocation.
pub const TILE_U: usize = 16;
/// Invocations per workgroup of the GEMM kernels.
pub const TILE_LANES: usize = 64;
/// Columns of C per tile: 4 per invocation.
pub const TILE_L: usize = 4 * TILE_LANES;

/// The constants the WGSL writes `${NAME}`, with their values.
pub const WGSL_CONSTANTS: [(&str, usize); 3] = [
    ("TILE_U", TILE_U),
    ("TILE_LANES", TILE_LANES),
    ("TILE_L", TILE_L),
];
