// Convolution of spike maps, stride 1, zero padding (the input current of a conv layer, eq 3:
// I = W ∗ s_in), for hardware GPUs. CPU twin: `cpu::conv::conv_forward`; the same operation as
// conv_forward.wgsl, which software adapters run (`gpu::MatmulPath`).
//   out[n][co][oy][ox] = Σ_{ci,ky,kx} W[co][ci][ky][kx] · in[n][ci][oy+ky−pad][ox+kx−pad]
//
// An implicit GEMM on the workgroup-memory tile (lib/gemm_tile.wgsl):
// C[co][(n, oy, ox)] = Σ_s W[co][s]·col[s][(n, oy, ox)] with s = (ci, ky, kx): m = out_ch,
// n = images·out pixels, k = in_ch·k·k. The column matrix (im2col) is never stored: staging reads
// each value straight from the input map (0 outside it), neighbouring invocations neighbouring
// output pixels, so the loads are coalesced along the map's rows. p.tiles_l = ceil(n / BN).
// The weights are bound as vec4s: where a patch is whole vec4s (in_ch·k·k a multiple of 4, e.g.
// 32·5·5 = 800) and the host sets VEC_A (on the paths with 16-byte loads, `gpu::MatmulPath`),
// they are staged a vec4 per load, else a value per load; the tile gets the same values either way.

// Declared before the tile's overrides: naga 30 panics on a pipeline whose named overrides
// follow the unnamed ones it makes for the tile's array sizes.
override VEC_A: bool;

#include conv_params
#include gemm_tile
#include gemm_stage_vec4

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn patch_len() -> u32 {
    return p.in_ch * p.kernel * p.kernel;
}

fn pixels() -> u32 {
    return p.out_h * p.out_w;
}

// W[co][s]: rows of the weights, stored along s.
fn load_a(co: u32, s: u32) -> f32 {
    if co >= p.out_ch || s >= patch_len() {
        return 0.0;
    }
    let x = co * patch_len() + s;
    return w[x / 4u][x % 4u];
}

// W[co][s .. s + 4] for s a multiple of 4, with VEC_A (lib/gemm_stage_vec4.wgsl).
fn load_a4(co: u32, s: u32) -> vec4<f32> {
    if co >= p.out_ch || s >= patch_len() {
        return vec4<f32>();
    }
    return w[(co * patch_len() + s) / 4u];
}

fn a_along_k() -> bool {
    return true;
}

// col[s][l]: the input under kernel offset (ky, kx) of channel ci for output pixel l = (n, oy, ox).
// u32 arithmetic wraps: a pixel left of or above the map fails the `<` tests.
fn load_b(s: u32, l: u32) -> f32 {
    if s >= patch_len() || l >= p.images * pixels() {
        return 0.0;
    }
    let kk = p.kernel * p.kernel;
    let ci = s / kk;
    let ky = (s % kk) / p.kernel;
    let kx = s % p.kernel;
    let n = l / pixels();
    let pix = l % pixels();
    let y = pix / p.out_w + ky - p.padding;
    let x = pix % p.out_w + kx - p.padding;
    if y >= p.height || x >= p.width {
        return 0.0;
    }
    return input[((n * p.in_ch + ci) * p.height + y) * p.width + x];
}

fn b_along_n() -> bool {
    return true;
}

// The weights by 16-byte loads with VEC_A, else by scalar loads; the input side is gathered
// (im2col), one value per load.
fn stage(k0: u32, m0: u32, n0: u32, lid: u32, threads: u32) {
    if VEC_A {
        stage_a_vec4_along_k(k0, m0, lid, threads);
    } else {
        stage_a_scalar(k0, m0, lid, threads);
    }
    stage_b_scalar(k0, n0, lid, threads);
}

// out[n][co][pix] for the output pixels l .. l + 4 (which may straddle two images).
fn store_c4(co: u32, l: u32, v: vec4<f32>) {
    if co >= p.out_ch {
        return;
    }
    let len = p.images * pixels();
    for (var q = 0u; q < 4u; q++) {
        let lq = l + q;
        if lq < len {
            let n = lq / pixels();
            out[(n * p.out_ch + co) * pixels() + lq % pixels()] = v[q];
        }
    }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    gemm_tile(grid, lid, p.out_ch, patch_len(), p.tiles_l);
}
