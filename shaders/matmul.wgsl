// C = op(A)·op(B), C `[m][n]` row-major. CPU twin: `cpu::kernels::matmul`.
// op(A) is `[m][k]`: A itself, or with TRANS_A the transpose of an A stored `[k][m]`;
// op(B) is `[k][n]`: B itself, or with TRANS_B the transpose of a B stored `[n][k]`.
// These are the GEMMs of the paper's forward pass (eq 3: I = W s_in over the stacked (t, b) rows)
// and of its backward pass (eq 9: (W^{l+1})ᵀ δ^{l+1}; eq 13: ∂L/∂W = Σ_t G[t]ᵀ s_in[t]).
//
// The register tile (lib/register_tile.wgsl): a workgroup computes TU × TL of C. The lanes run
// along C's columns or, with LANES_ON_ROWS (the host sets it when m > n), along its rows, so that a
// narrow C such as a 10-class output still fills them.
//
// The operands come either straight from the storage buffers or, with WORKGROUP_TILES, through
// tiles of TK steps staged in workgroup memory by coalesced loads. The host stages on hardware
// GPUs. On software adapters (lavapipe) it does not: there each barrier switches between the
// coroutines that run a workgroup's invocations, and staging ran about 3× slower (`gpu::MatmulPath`).
// Both paths add the products in increasing order of p.

#include register_tile

override TRANS_A: bool;
override TRANS_B: bool;
override LANES_ON_ROWS: bool;
override WORKGROUP_TILES: bool;

// Steps of p per workgroup-memory tile, and the row stride of `l_tile` (one more than TL, so
// that stores walking along p spread over the memory banks).
const TK: u32 = 8u;
const L_STRIDE: u32 = TL + 1u;
// `stage` fills each tile in whole rounds of LANES values.
const_assert TK * TU % LANES == 0u;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Tiles along the lane side: ceil(lane-side length / TL).
    tiles_l: u32,
}

@group(0) @binding(0) var<uniform> dims: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// l_tile[kk·L_STRIDE + l] = lane operand at (k0 + kk, l0 + l);
// u_tile[kk·TU + u] = uniform operand at (k0 + kk, u0 + u).
var<workgroup> l_tile: array<f32, TK * L_STRIDE>;
var<workgroup> u_tile: array<f32, TK * TU>;
// Within the 16 KiB of workgroup memory that every WebGPU device has.
const_assert 4u * TK * (L_STRIDE + TU) <= 16384u;

// op(A)[i][p] and op(B)[p][j].
fn op_a(i: u32, p: u32) -> f32 {
    if TRANS_A {
        return a[p * dims.m + i];
    }
    return a[i * dims.k + p];
}

fn op_b(p: u32, j: u32) -> f32 {
    if TRANS_B {
        return b[j * dims.k + p];
    }
    return b[p * dims.n + j];
}

// C[u][l] = Σ_p uniform(p, u)·lane(p, l) with the lanes along columns; C[l][u] along rows.
fn lane_operand(p: u32, l: u32) -> f32 {
    if LANES_ON_ROWS {
        return op_a(l, p);
    }
    return op_b(p, l);
}

fn uniform_operand(p: u32, u: u32) -> f32 {
    if LANES_ON_ROWS {
        return op_b(p, u);
    }
    return op_a(u, p);
}

// Whether neighbouring l (or u) are neighbours in memory: tile loads then walk along them.
fn lane_contiguous() -> bool {
    return select(!TRANS_B, TRANS_A, LANES_ON_ROWS);
}

fn uniform_contiguous() -> bool {
    return select(TRANS_A, !TRANS_B, LANES_ON_ROWS);
}

// Fills the workgroup-memory tiles with steps k0..k0 + TK (clamped to the last step and to the
// last row/column: those copies are never used in a sum that is stored).
fn stage(k0: u32, t: Tile, li: u32, l_last: u32) {
    let p_last = dims.k - 1u;
    for (var e = 0u; e < TK * TL / LANES; e++) {
        let idx = e * LANES + li;
        var kk = idx / TL;
        var l = idx % TL;
        if !lane_contiguous() {
            kk = idx % TK;
            l = idx / TK;
        }
        l_tile[kk * L_STRIDE + l] = lane_operand(min(k0 + kk, p_last), min(t.l0 + l, l_last));
    }
    for (var e = 0u; e < TK * TU / LANES; e++) {
        let idx = e * LANES + li;
        var kk = idx / TU;
        var u = idx % TU;
        if !uniform_contiguous() {
            kk = idx % TK;
            u = idx / TK;
        }
        u_tile[kk * TU + u] = uniform_operand(min(k0 + kk, p_last), tile_row(t, u));
    }
}

// The uniform operand at step p (= k0 + kk) for uniform index u0 + i, and the lane operand at step
// p for lane index `l` (= l0 + j·LANES + lane; `lt` is its offset in the tile).
fn uniform_value(p: u32, kk: u32, i: u32, t: Tile) -> f32 {
    if WORKGROUP_TILES {
        return u_tile[kk * TU + i];
    }
    return uniform_operand(p, tile_row(t, i));
}

fn lane_value(p: u32, kk: u32, lt: u32, l: u32) -> f32 {
    if WORKGROUP_TILES {
        return l_tile[kk * L_STRIDE + lt];
    }
    return lane_operand(p, l);
}

fn store_c(at: u32, value: f32) {
    c[at] = value;
}

@compute @workgroup_size(LANES)
fn main(grid: Grid, @builtin(local_invocation_index) li: u32) {
    let u_len = select(dims.m, dims.n, LANES_ON_ROWS);
    let l_len = select(dims.n, dims.m, LANES_ON_ROWS);
    let tile = tile_at(grid, u_len, dims.tiles_l, TL);
    if !tile.live {
        return;
    }
    let lanes = lanes_of(tile, li, l_len);
    let l = lanes.at;

    #for u in TILE_U: var acc${u} = vec4<f32>();
    for (var k0 = 0u; k0 < dims.k; k0 += TK) {
        if WORKGROUP_TILES {
            stage(k0, tile, li, l_len - 1u);
            workgroupBarrier();
        }
        let steps = min(TK, dims.k - k0);
        for (var kk = 0u; kk < steps; kk++) {
            let p = k0 + kk;
            let lv = vec4<f32>(
                lane_value(p, kk, li, l[0]),
                lane_value(p, kk, li + LANES, l[1]),
                lane_value(p, kk, li + 2u * LANES, l[2]),
                lane_value(p, kk, li + 3u * LANES, l[3]),
            );
            #for u in TILE_U: acc${u} += uniform_value(p, kk, ${u}u, tile) * lv;
        }
        if WORKGROUP_TILES {
            workgroupBarrier();
        }
    }

    // C[u][l] at u·n + l, or C[l][u] at l·n + u.
    let strides = select(vec2<u32>(dims.n, 1u), vec2<u32>(1u, dims.n), LANES_ON_ROWS);
    #for u in TILE_U: store_row(tile, lanes, ${u}u, l * strides.y, strides.x, acc${u});
}
