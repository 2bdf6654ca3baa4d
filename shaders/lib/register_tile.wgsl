// The register tile of the GEMM kernels: matmul.wgsl and the implicit GEMMs of conv_forward.wgsl,
// conv_input_grad.wgsl and conv_weight_grad.wgsl, which compute C[u][l] = Σ_p U[u][p]·L[p][l].
//
// A workgroup of LANES invocations computes a TU × TL tile of C. Each invocation keeps TU × 4 sums
// in registers: TU along the tile's "uniform" side (the same for the whole workgroup) and 4 along
// its "lane" side (its lane + LANES·j). Per step p of the inner product it reads TU values of the
// uniform operand (one address for the whole workgroup: a broadcast) and 4 of the lane operand,
// for 4·TU multiply-adds. The sums are named vec4 variables acc0, acc1, …, one `#for u in
// TILE_U:` line each, not an array: an array indexed by a loop counter anywhere stays in memory
// on some compilers (lavapipe: half the speed). Sums past the end of C read the last row or column
// instead: computed, never stored, and the inner loop needs no branch. The tile size is
// `gpu::tile`'s, which also sizes the host's grids.
#include grid

// Invocations per workgroup.
const LANES: u32 = ${TILE_LANES}u;
// The tile: TU (uniform side) × TL (lane side, 4 per invocation).
const TU: u32 = ${TILE_U}u;
const TL: u32 = ${TILE_L}u;

// Where a workgroup's tile starts; `live` is false for the workgroups past the last tile. Tiles
// run lane side first: `tiles_l` of `tl` lanes each per TU rows of the `u_len` of C. Uniform
// across the workgroup, so barriers after the test stay in uniform control flow.
struct Tile {
    u0: u32,
    l0: u32,
    live: bool,
}

fn tile_at(g: Grid, u_len: u32, tiles_l: u32, tl: u32) -> Tile {
    let tile = workgroup_index(g);
    let tiles_u = (u_len + TU - 1u) / TU;
    return Tile((tile / tiles_l) * TU, (tile % tiles_l) * tl, tile < tiles_u * tiles_l);
}

// The 4 lane-side indices of an invocation: first, first + stride, first + 2·stride, first + 3·stride.
fn lane_indices(first: u32, stride: u32) -> vec4<u32> {
    return vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u) * stride;
}

// Stores row u of the tile (u < u_len) through the kernel's `store_c(offset, value)`: the lanes
// whose offsets in C are `at` + u·u_stride, those `inside` C.
fn store_row(u: u32, u_len: u32, at: vec4<u32>, u_stride: u32, inside: vec4<bool>, sums: vec4<f32>) {
    if u >= u_len {
        return;
    }
    let o = at + vec4<u32>(u * u_stride);
    for (var j = 0u; j < 4u; j++) {
        if inside[j] {
            store_c(o[j], sums[j]);
        }
    }
}
