// C = op(A)·op(B), C `[m][n]` row-major. CPU twin: `cpu::kernels::matmul`.
// op(A) is `[m][k]`: A itself, or with TRANS_A the transpose of an A stored `[k][m]`;
// op(B) is `[k][n]`: B itself, or with TRANS_B the transpose of a B stored `[n][k]`.
// These are the GEMMs of the paper's forward pass (eq 3: I = W s_in over the stacked (t, b) rows)
// and of its backward pass (eq 9: (W^{l+1})ᵀ δ^{l+1}; eq 13: ∂L/∂W = Σ_t G[t]ᵀ s_in[t]).
//
// Tiling. A workgroup of 64 invocations computes an 8 × 256 tile of C: each invocation holds
// 8 × 4 sums in registers, 8 along the tile's "uniform" side (the same for the whole workgroup)
// and 4 along its "lane" side (lane + 64·j). Per step p of the inner product an invocation
// reads 8 values of the uniform operand (the same address across the workgroup: one broadcast
// load) and 4 of the lane operand, for 32 multiply-adds. The lanes run along C's columns, or,
// with LANES_ON_ROWS (the host sets it when m > n), along its rows, so that a narrow C such as
// a 10-class output still fills them.
//
// The operands come either straight from the storage buffers or, with WORKGROUP_TILES, through
// tiles of 8 steps staged in workgroup memory by coalesced loads. The host stages on hardware
// GPUs. On software adapters (lavapipe) it does not: there every barrier switches between
// coroutines and the tiles halve the throughput (measured; see `gpu::kernels::MatmulPath`).
//
// Both ways sum over p in increasing order, one product at a time.

override TRANS_A: bool;
override TRANS_B: bool;
override LANES_ON_ROWS: bool;
override WORKGROUP_TILES: bool;

// Invocations per workgroup, and lane-side outputs per invocation.
const LANES: u32 = 64u;
const PER_LANE: u32 = 4u;
// The tile of C: TU (uniform side) × TL (lane side).
const TU: u32 = 8u;
const TL: u32 = 256u;
// Steps of p per workgroup-memory tile, and the row stride of `l_tile` (one more than TL, so that
// stores walking along p do not all hit one memory bank).
const TK: u32 = 8u;
const L_STRIDE: u32 = 257u;

struct Dims {
    m: u32,
    n: u32,
    k: u32,
    // Tiles along the lane side: ceil(lane-side length / 256).
    tiles_l: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// l_tile[kk·L_STRIDE + l] = lane operand at (k0 + kk, l0 + l); u_tile[kk·TU + u] = uniform operand at (k0 + kk, u0 + u).
var<workgroup> l_tile: array<f32, 2056>;
var<workgroup> u_tile: array<f32, 64>;

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

// C[u][l] = Σ_p uniform(p, u)·lane(p, l) with lanes along columns; C[l][u] along rows.
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

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let u_len = select(dims.m, dims.n, LANES_ON_ROWS);
    let l_len = select(dims.n, dims.m, LANES_ON_ROWS);
    // Tiles are numbered over a 2-D grid of workgroups (at most 65,535 per dimension); those past
    // the last tile have nothing to do. The test is uniform, so the barriers below stay in
    // uniform control flow.
    let tile = wid.y * nwg.x + wid.x;
    let tiles_u = (u_len + TU - 1u) / TU;
    if tile >= tiles_u * dims.tiles_l {
        return;
    }
    let u0 = (tile / dims.tiles_l) * TU;
    let l0 = (tile % dims.tiles_l) * TL;
    // Outputs past the end of C read the last row or column instead: computed, never stored,
    // and the inner loops need no branch.
    let u_last = u_len - 1u;
    let l_last = l_len - 1u;

    var acc: array<vec4<f32>, 8>;
    if WORKGROUP_TILES {
        for (var k0 = 0u; k0 < dims.k; k0 += TK) {
            let p_last = dims.k - 1u;
            // 2048 lane-operand values (32 per invocation) and 64 uniform-operand values (1 each).
            for (var e = 0u; e < TK * TL / LANES; e++) {
                let idx = e * LANES + li;
                var kk = idx / TL;
                var l = idx % TL;
                if !lane_contiguous() {
                    kk = idx % TK;
                    l = idx / TK;
                }
                l_tile[kk * L_STRIDE + l] = lane_operand(min(k0 + kk, p_last), min(l0 + l, l_last));
            }
            var kk = li / TU;
            var u = li % TU;
            if !uniform_contiguous() {
                kk = li % TK;
                u = li / TK;
            }
            u_tile[kk * TU + u] = uniform_operand(min(k0 + kk, p_last), min(u0 + u, u_last));
            workgroupBarrier();
            let steps = min(TK, dims.k - k0);
            for (var kk = 0u; kk < steps; kk++) {
                let lb = kk * L_STRIDE + li;
                let lv = vec4<f32>(l_tile[lb], l_tile[lb + 64u], l_tile[lb + 128u], l_tile[lb + 192u]);
                let ub = kk * TU;
                acc[0] += u_tile[ub] * lv;
                acc[1] += u_tile[ub + 1u] * lv;
                acc[2] += u_tile[ub + 2u] * lv;
                acc[3] += u_tile[ub + 3u] * lv;
                acc[4] += u_tile[ub + 4u] * lv;
                acc[5] += u_tile[ub + 5u] * lv;
                acc[6] += u_tile[ub + 6u] * lv;
                acc[7] += u_tile[ub + 7u] * lv;
            }
            workgroupBarrier();
        }
    } else {
        let l = array<u32, 4>(min(l0 + li, l_last), min(l0 + li + 64u, l_last), min(l0 + li + 128u, l_last), min(l0 + li + 192u, l_last));
        var u: array<u32, 8>;
        for (var i = 0u; i < TU; i++) {
            u[i] = min(u0 + i, u_last);
        }
        for (var p = 0u; p < dims.k; p++) {
            let lv = vec4<f32>(lane_operand(p, l[0]), lane_operand(p, l[1]), lane_operand(p, l[2]), lane_operand(p, l[3]));
            acc[0] += uniform_operand(p, u[0]) * lv;
            acc[1] += uniform_operand(p, u[1]) * lv;
            acc[2] += uniform_operand(p, u[2]) * lv;
            acc[3] += uniform_operand(p, u[3]) * lv;
            acc[4] += uniform_operand(p, u[4]) * lv;
            acc[5] += uniform_operand(p, u[5]) * lv;
            acc[6] += uniform_operand(p, u[6]) * lv;
            acc[7] += uniform_operand(p, u[7]) * lv;
        }
    }

    for (var i = 0u; i < TU; i++) {
        let u = u0 + i;
        if u >= u_len {
            break;
        }
        for (var j = 0u; j < PER_LANE; j++) {
            let l = l0 + li + LANES * j;
            if l < l_len {
                var at = u * dims.n + l;
                if LANES_ON_ROWS {
                    at = l * dims.n + u;
                }
                c[at] = acc[i][j];
            }
        }
    }
}
