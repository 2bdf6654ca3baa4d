// C = op(A)·op(B) as gemm.wgsl computes it, with 16-byte global loads where the rows allow them:
// A and B are bound as array<vec4<f32>>, and an operand whose contiguous dimension (k for A, m
// for Aᵀ; n for B, k for Bᵀ) is a multiple of 4 is staged one vec4 per load (VEC_A, VEC_B, set by
// the host, `gpu::MatmulPath`). Its rows then start on 16 bytes (the host binds whole buffers,
// from offset 0, padded to 16 bytes), and since TK and the tile's rows and columns are multiples
// of 4 too, a vec4 never straddles the matrix's edge: its four values are all inside or all
// outside. The other operand is staged by scalar loads out of its vec4s. CPU twin:
// `cpu::gemm::matmul` (the GEMMs of eq 3, eq 9 and eq 13); lib/gemm_ops.wgsl states the layouts.
//
// The workgroup tiles receive exactly the values gemm.wgsl stages, and lib/gemm_tile.wgsl adds
// them in the same order, so both kernels give the same bits. Design: TensorFlow.js's WebGPU
// matmul (matmul_packed_webgpu.ts), which binds its operands as vec4 arrays when their shapes
// are multiples of 4 and stages them a vec4 at a time.

// Declared before the tile's overrides: naga 30 panics on a pipeline whose named overrides
// follow the unnamed ones it makes for the tile's array sizes.
override TRANS_A: bool;
override TRANS_B: bool;
// Stage A (B) by 16-byte loads: its contiguous dimension is a multiple of 4.
override VEC_A: bool;
override VEC_B: bool;

#include gemm_tile
#include gemm_stage_vec4
#include gemm_ops

@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;

fn a_at(x: u32) -> f32 {
    return a[x / 4u][x % 4u];
}

fn b_at(x: u32) -> f32 {
    return b[x / 4u][x % 4u];
}

fn stage(k0: u32, m0: u32, n0: u32, lid: u32, threads: u32) {
    if VEC_A {
        stage_a_vec4(k0, m0, lid, threads);
    } else {
        stage_a_scalar(k0, m0, lid, threads);
    }
    if VEC_B {
        stage_b_vec4(k0, n0, lid, threads);
    } else {
        stage_b_scalar(k0, n0, lid, threads);
    }
}

// A's block (lib/gemm_tile.wgsl's a_tile) by vec4 loads along A's contiguous dimension, one per
// invocation per round, consecutive invocations consecutive vec4s (coalesced); A stored [m][k]
// by lib/gemm_stage_vec4.wgsl.
fn stage_a_vec4(k0: u32, m0: u32, lid: u32, threads: u32) {
    if TRANS_A {
        // Aᵀ stored [k][m]: A[m0 + 4·r4 .. + 4][k0 + kk] is one vec4 and one slot of the tile.
        for (var e = lid; e < bm4() * TK; e += threads) {
            let r4 = e % bm4();
            let kk = e / bm4();
            let i = m0 + 4u * r4;
            let p = k0 + kk;
            var v = vec4<f32>();
            if i < dims.m && p < dims.k {
                v = a[(p * dims.m + i) / 4u];
            }
            a_tile[kk * a_stride() + r4] = v;
        }
        return;
    }
    stage_a_vec4_along_k(k0, m0, lid, threads);
}

// A[i][p .. p + 4] of an A stored [m][k] (lib/gemm_stage_vec4.wgsl), zeros outside A.
fn load_a4(i: u32, p: u32) -> vec4<f32> {
    if i >= dims.m || p >= dims.k {
        return vec4<f32>();
    }
    return a[(i * dims.k + p) / 4u];
}

// B's block (b_tile) the same way.
fn stage_b_vec4(k0: u32, n0: u32, lid: u32, threads: u32) {
    if !TRANS_B {
        // B stored [k][n]: B[k0 + kk][n0 + 4·j4 .. + 4] is one vec4 and one slot of the tile.
        for (var e = lid; e < bn4() * TK; e += threads) {
            let j4 = e % bn4();
            let kk = e / bn4();
            let j = n0 + 4u * j4;
            let p = k0 + kk;
            var v = vec4<f32>();
            if j < dims.n && p < dims.k {
                v = b[(p * dims.n + j) / 4u];
            }
            b_tile[kk * b_stride() + j4] = v;
        }
        return;
    }
    // Bᵀ stored [n][k]: B[k0 + 4·q .. + 4][n0 + j] is one vec4, one component of four slots.
    let q4 = TK / 4u;
    for (var e = lid; e < 4u * bn4() * q4; e += threads) {
        let jj = e / q4;
        let kk = 4u * (e % q4);
        let j = n0 + jj;
        let p = k0 + kk;
        var v = vec4<f32>();
        if j < dims.n && p < dims.k {
            v = b[(j * dims.k + p) / 4u];
        }
        #for q in 4: b_tile[(kk + ${q}u) * b_stride() + jj / 4u][jj % 4u] = v[${q}];
    }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    gemm_tile(grid, lid, dims.m, dims.k, dims.tiles_n);
}
