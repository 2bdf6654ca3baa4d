// C = op(A)·op(B), C `[m][n]` row-major, for hardware GPUs, one f32 per global load. CPU twin:
// `cpu::gemm::matmul`; the same operation and layouts as matmul.wgsl (lib/gemm_ops.wgsl states
// them): the GEMMs of the paper's forward pass (eq 3) and backward pass (eq 9, eq 13). The host
// runs it on hardware adapters for the GEMMs whose rows do not allow gemm_vec4.wgsl's 16-byte
// loads, and matmul.wgsl on software adapters (`gpu::MatmulPath`; gpu/gemm.rs says which kernel
// and tile each adapter gets and why). The workgroup-memory tile is lib/gemm_tile.wgsl's.

// Declared before the tile's overrides: naga 30 panics on a pipeline whose named overrides
// follow the unnamed ones it makes for the tile's array sizes.
override TRANS_A: bool;
override TRANS_B: bool;

#include gemm_tile
#include gemm_ops

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;

fn a_at(x: u32) -> f32 {
    return a[x];
}

fn b_at(x: u32) -> f32 {
    return b[x];
}

// Both blocks by scalar loads (lib/gemm_tile.wgsl).
fn stage(k0: u32, m0: u32, n0: u32, lid: u32, threads: u32) {
    stage_a_scalar(k0, m0, lid, threads);
    stage_b_scalar(k0, n0, lid, threads);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    gemm_tile(grid, lid, dims.m, dims.k, dims.tiles_n);
}
