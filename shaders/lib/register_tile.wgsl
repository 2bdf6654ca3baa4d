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
// instead: computed, never stored, and the inner loop needs no branch. The tile size is set in
// crates/mtsnn-core/src/gpu/tile.rs, which also sizes the host's grids.
#include grid

// Invocations per workgroup.
const LANES: u32 = ${TILE_LANES}u;
// The tile: TU (uniform side) × TL (lane side, 4 per invocation).
const TU: u32 = ${TILE_U}u;
const TL: u32 = ${TILE_L}u;
const_assert TL == 4u * LANES;

// A workgroup's tile. Tiles run lane side first: `tiles_l` tiles of `tl` lanes (TL, or less where
// groups of invocations share a tile) per TU rows of C, which has `u_len` rows. `live` is false
// for the workgroups past the last tile. All of it is uniform across the workgroup (it is computed
// from Grid alone), so barriers after the test of `live` stay in uniform control flow.
struct Tile {
    live: bool,
    // The first row and lane of the tile, its lane count, and C's last row.
    u0: u32,
    l0: u32,
    tl: u32,
    u_last: u32,
}

fn tile_at(g: Grid, u_len: u32, tiles_l: u32, tl: u32) -> Tile {
    let tile = workgroup_index(g);
    let tiles_u = (u_len + TU - 1u) / TU;
    return Tile(tile < tiles_u * tiles_l, (tile / tiles_l) * TU, (tile % tiles_l) * tl, tl, u_len - 1u);
}

// An invocation's 4 lanes in the tile: their indices in C, clamped to its last lane (C has
// `l_len` lanes), and which of them are inside C. Invocations lid, lid + tl/4, … share a tile:
// theirs are lanes (lid mod tl/4) + (tl/4)·j of it.
struct Lanes {
    at: vec4<u32>,
    inside: vec4<bool>,
}

fn lanes_of(t: Tile, lid: u32, l_len: u32) -> Lanes {
    let stride = t.tl / 4u;
    let lane = vec4<u32>(t.l0 + lid % stride) + vec4<u32>(0u, 1u, 2u, 3u) * stride;
    return Lanes(min(lane, vec4<u32>(l_len - 1u)), lane < vec4<u32>(l_len));
}

// Row u0 + u of C, or its last row past the end: the row whose operand sum `u` of the tile reads.
fn tile_row(t: Tile, u: u32) -> u32 {
    return min(t.u0 + u, t.u_last);
}

// Stores sum `u` of the tile (row u0 + u of C, if there is one) through the kernel's
// `store_c(offset, value)`: the lanes inside C, whose offsets are `at` + (u0 + u)·u_stride.
fn store_row(t: Tile, lanes: Lanes, u: u32, at: vec4<u32>, u_stride: u32, sums: vec4<f32>) {
    let row = t.u0 + u;
    if row > t.u_last {
        return;
    }
    let o = at + vec4<u32>(row * u_stride);
    for (var j = 0u; j < 4u; j++) {
        if lanes.inside[j] {
            store_c(o[j], sums[j]);
        }
    }
}
