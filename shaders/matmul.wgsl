// C = op(A)·op(B), C `[m][n]` row-major. CPU twin: `cpu::kernels::matmul`.
// op(A) is `[m][k]`: A itself, or with TRANS_A the transpose of an A stored `[k][m]`;
// op(B) is `[k][n]`: B itself, or with TRANS_B the transpose of a B stored `[n][k]`.
// These are the GEMMs of the paper's forward pass (eq 3: I = W s_in over the stacked (t, b) rows)
// and of its backward pass (eq 9: (W^{l+1})ᵀ δ^{l+1}; eq 13: ∂L/∂W = Σ_t G[t]ᵀ s_in[t]).
//
// Tiling. A workgroup of 64 invocations computes a 16 × 256 tile of C. Each invocation keeps
// 16 × 4 sums in registers: 16 along the tile's "uniform" side (the same for the whole
// workgroup) and 4 along its "lane" side (its lane + 64·j). Per step p of the inner product it
// reads 16 values of the uniform operand (one address for the whole workgroup: a broadcast) and
// 4 of the lane operand, for 64 multiply-adds. The lanes run along C's columns or, with
// LANES_ON_ROWS (the host sets it when m > n), along its rows, so that a narrow C such as a
// 10-class output still fills them.
//
// The operands come either straight from the storage buffers or, with WORKGROUP_TILES, through
// tiles of TK steps staged in workgroup memory by coalesced loads. The host stages on hardware
// GPUs. On software adapters (lavapipe) it does not: there each barrier switches between the
// coroutines that run a workgroup's invocations, and staging ran about 3× slower (`gpu::MatmulPath`).
//
// The sums are named variables, not an array: an array indexed by a loop counter anywhere stays
// in memory on some compilers (lavapipe: half the speed). Both paths add the products in
// increasing order of p.

override TRANS_A: bool;
override TRANS_B: bool;
override LANES_ON_ROWS: bool;
override WORKGROUP_TILES: bool;

// Invocations per workgroup.
const LANES: u32 = 64u;
// The tile of C: TU (uniform side) × TL (lane side, 4 per invocation).
const TU: u32 = 16u;
const TL: u32 = 256u;
// Steps of p per workgroup-memory tile, and the row stride of `l_tile` (one more than TL, so
// that stores walking along p spread over the memory banks).
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

// l_tile[kk·L_STRIDE + l] = lane operand at (k0 + kk, l0 + l);
// u_tile[kk·TU + u] = uniform operand at (k0 + kk, u0 + u).
var<workgroup> l_tile: array<f32, 2056>;
var<workgroup> u_tile: array<f32, 128>;

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
fn stage(k0: u32, u0: u32, l0: u32, li: u32, u_last: u32, l_last: u32) {
    let p_last = dims.k - 1u;
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
    for (var e = 0u; e < TK * TU / LANES; e++) {
        let idx = e * LANES + li;
        var kk = idx / TU;
        var u = idx % TU;
        if !uniform_contiguous() {
            kk = idx % TK;
            u = idx / TK;
        }
        u_tile[kk * TU + u] = uniform_operand(min(k0 + kk, p_last), min(u0 + u, u_last));
    }
}

// The uniform operand at step p (= k0 + kk) for uniform index u0 + i, and the lane operand at step
// p for lane index `l` (= l0 + j·64 + lane; `lt` is its offset in the tile).
fn uniform_value(p: u32, kk: u32, i: u32, u0: u32, u_last: u32) -> f32 {
    if WORKGROUP_TILES {
        return u_tile[kk * TU + i];
    }
    return uniform_operand(p, min(u0 + i, u_last));
}

fn lane_value(p: u32, kk: u32, lt: u32, l: u32) -> f32 {
    if WORKGROUP_TILES {
        return l_tile[kk * L_STRIDE + lt];
    }
    return lane_operand(p, l);
}

// Stores C at uniform index u and lane indices l, l + 64, l + 128, l + 192 (those inside C).
fn store4(u: u32, l: u32, u_len: u32, l_len: u32, sums: vec4<f32>) {
    if u >= u_len {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let lj = l + LANES * j;
        if lj < l_len {
            var at = u * dims.n + lj;
            if LANES_ON_ROWS {
                at = lj * dims.n + u;
            }
            c[at] = sums[j];
        }
    }
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
    // Sums past the end of C read the last row or column instead: computed, never stored, and
    // the inner loop needs no branch.
    let u_last = u_len - 1u;
    let l_last = l_len - 1u;
    let l = array<u32, 4>(
        min(l0 + li, l_last),
        min(l0 + li + 64u, l_last),
        min(l0 + li + 128u, l_last),
        min(l0 + li + 192u, l_last),
    );

    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    var acc4 = vec4<f32>();
    var acc5 = vec4<f32>();
    var acc6 = vec4<f32>();
    var acc7 = vec4<f32>();
    var acc8 = vec4<f32>();
    var acc9 = vec4<f32>();
    var acc10 = vec4<f32>();
    var acc11 = vec4<f32>();
    var acc12 = vec4<f32>();
    var acc13 = vec4<f32>();
    var acc14 = vec4<f32>();
    var acc15 = vec4<f32>();
    for (var k0 = 0u; k0 < dims.k; k0 += TK) {
        if WORKGROUP_TILES {
            stage(k0, u0, l0, li, u_last, l_last);
            workgroupBarrier();
        }
        let steps = min(TK, dims.k - k0);
        for (var kk = 0u; kk < steps; kk++) {
            let p = k0 + kk;
            let lv = vec4<f32>(
                lane_value(p, kk, li, l[0]),
                lane_value(p, kk, li + 64u, l[1]),
                lane_value(p, kk, li + 128u, l[2]),
                lane_value(p, kk, li + 192u, l[3]),
            );
            acc0 += uniform_value(p, kk, 0u, u0, u_last) * lv;
            acc1 += uniform_value(p, kk, 1u, u0, u_last) * lv;
            acc2 += uniform_value(p, kk, 2u, u0, u_last) * lv;
            acc3 += uniform_value(p, kk, 3u, u0, u_last) * lv;
            acc4 += uniform_value(p, kk, 4u, u0, u_last) * lv;
            acc5 += uniform_value(p, kk, 5u, u0, u_last) * lv;
            acc6 += uniform_value(p, kk, 6u, u0, u_last) * lv;
            acc7 += uniform_value(p, kk, 7u, u0, u_last) * lv;
            acc8 += uniform_value(p, kk, 8u, u0, u_last) * lv;
            acc9 += uniform_value(p, kk, 9u, u0, u_last) * lv;
            acc10 += uniform_value(p, kk, 10u, u0, u_last) * lv;
            acc11 += uniform_value(p, kk, 11u, u0, u_last) * lv;
            acc12 += uniform_value(p, kk, 12u, u0, u_last) * lv;
            acc13 += uniform_value(p, kk, 13u, u0, u_last) * lv;
            acc14 += uniform_value(p, kk, 14u, u0, u_last) * lv;
            acc15 += uniform_value(p, kk, 15u, u0, u_last) * lv;
        }
        if WORKGROUP_TILES {
            workgroupBarrier();
        }
    }

    let lane = l0 + li;
    store4(u0 + 0u, lane, u_len, l_len, acc0);
    store4(u0 + 1u, lane, u_len, l_len, acc1);
    store4(u0 + 2u, lane, u_len, l_len, acc2);
    store4(u0 + 3u, lane, u_len, l_len, acc3);
    store4(u0 + 4u, lane, u_len, l_len, acc4);
    store4(u0 + 5u, lane, u_len, l_len, acc5);
    store4(u0 + 6u, lane, u_len, l_len, acc6);
    store4(u0 + 7u, lane, u_len, l_len, acc7);
    store4(u0 + 8u, lane, u_len, l_len, acc8);
    store4(u0 + 9u, lane, u_len, l_len, acc9);
    store4(u0 + 10u, lane, u_len, l_len, acc10);
    store4(u0 + 11u, lane, u_len, l_len, acc11);
    store4(u0 + 12u, lane, u_len, l_len, acc12);
    store4(u0 + 13u, lane, u_len, l_len, acc13);
    store4(u0 + 14u, lane, u_len, l_len, acc14);
    store4(u0 + 15u, lane, u_len, l_len, acc15);
}
