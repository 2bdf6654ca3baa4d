// C = op(A)·op(B), C `[m][n]` row-major, for hardware GPUs. CPU twin: `cpu::kernels::matmul`;
// the same operation and layouts as matmul.wgsl (op(A) is A `[m][k]` or, with TRANS_A, Aᵀ of an A
// stored `[k][m]`; op(B) is B `[k][n]` or, with TRANS_B, Bᵀ of a B stored `[n][k]`): the GEMMs of
// the paper's forward pass (eq 3) and backward pass (eq 9, eq 13). The host runs it on hardware
// adapters and matmul.wgsl on software ones (`gpu::MatmulPath`; gpu/gemm.rs says which tile each
// adapter gets and why). The workgroup-memory tile is lib/gemm_tile.wgsl's.

// Declared before the tile's overrides: naga 30 panics on a pipeline whose named overrides
// follow the unnamed ones it makes for the tile's array sizes.
override TRANS_A: bool;
override TRANS_B: bool;

#include gemm_tile

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Tiles along C's columns: ceil(n / BN).
    tiles_n: u32,
}

@group(0) @binding(0) var<uniform> dims: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// op(A)[i][p], or 0 outside it. A is stored along p, Aᵀ along i.
fn load_a(i: u32, p: u32) -> f32 {
    if i >= dims.m || p >= dims.k {
        return 0.0;
    }
    if TRANS_A {
        return a[p * dims.m + i];
    }
    return a[i * dims.k + p];
}

fn a_along_k() -> bool {
    return !TRANS_A;
}

// op(B)[p][j], or 0 outside it. B is stored along j, Bᵀ along p.
fn load_b(p: u32, j: u32) -> f32 {
    if p >= dims.k || j >= dims.n {
        return 0.0;
    }
    if TRANS_B {
        return b[j * dims.k + p];
    }
    return b[p * dims.n + j];
}

fn b_along_n() -> bool {
    return !TRANS_B;
}

// C[i][j..j+4] = v, the values inside C.
fn store_c4(i: u32, j: u32, v: vec4<f32>) {
    if i >= dims.m {
        return;
    }
    let at = i * dims.n + j;
    if j + 3u < dims.n {
        c[at] = v.x;
        c[at + 1u] = v.y;
        c[at + 2u] = v.z;
        c[at + 3u] = v.w;
        return;
    }
    for (var q = 0u; q < 4u; q++) {
        if j + q < dims.n {
            c[at + q] = v[q];
        }
    }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    gemm_tile(grid, lid, dims.m, dims.k, dims.tiles_n);
}
