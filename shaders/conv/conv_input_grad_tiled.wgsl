// The gradient a conv layer passes to the maps below it (eq 9's (W^{l+1})ᵀ δ^{l+1}[t] for a
// convolution, or in BPTT mode the same transpose applied to G): the transposed convolution, for
// hardware GPUs. CPU twin: `cpu::conv::conv_input_grad`; the same operation as
// conv_input_grad.wgsl, which software adapters run (`gpu::MatmulPath`).
//   grad_in[n][ci][y][x] = Σ_{co,ky,kx} W[co][ci][ky][kx] · grad_out[n][co][y−ky+pad][x−kx+pad]
// with terms outside the output map dropped (they are zeros here).
//
// An implicit GEMM on the workgroup-memory tile (lib/gemm_tile.wgsl):
// C[ci][(n, y, x)] = Σ_s W[co][ci][ky][kx]·grad_out[n][co][y−ky+pad][x−kx+pad] with
// s = (co, ky, kx): m = in_ch, n = images·in pixels, k = out_ch·k·k. The lanes run image-major,
// x fastest, so staging loads neighbouring values of grad_out's rows (coalesced; the register-tile
// kernel runs its lanes pixel-major, image-minor, which is not). Every kernel offset is visited:
// those that leave the output map load zeros. p.tiles_l = ceil(n / BN).

#include conv_params
#include gemm_tile

@group(0) @binding(1) var<storage, read> grad_out: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_in: array<f32>;

fn steps() -> u32 {
    return p.out_ch * p.kernel * p.kernel;
}

fn plane() -> u32 {
    return p.height * p.width;
}

// W[co][ci][ky][kx] for s = (co, ky, kx): stored along s within one co (runs of k·k).
fn load_a(ci: u32, s: u32) -> f32 {
    if ci >= p.in_ch || s >= steps() {
        return 0.0;
    }
    let kk = p.kernel * p.kernel;
    return w[((s / kk) * p.in_ch + ci) * kk + s % kk];
}

fn a_along_k() -> bool {
    return true;
}

// grad_out[n][co][y−ky+pad][x−kx+pad] for input pixel l = (n, y, x), 0 outside the output map.
// u32 arithmetic wraps: a pixel left of or above the map fails the `<` tests.
fn load_b(s: u32, l: u32) -> f32 {
    if s >= steps() || l >= p.images * plane() {
        return 0.0;
    }
    let kk = p.kernel * p.kernel;
    let co = s / kk;
    let ky = (s % kk) / p.kernel;
    let kx = s % p.kernel;
    let n = l / plane();
    let pix = l % plane();
    let oy = pix / p.width + p.padding - ky;
    let ox = pix % p.width + p.padding - kx;
    if oy >= p.out_h || ox >= p.out_w {
        return 0.0;
    }
    return grad_out[((n * p.out_ch + co) * p.out_h + oy) * p.out_w + ox];
}

fn b_along_n() -> bool {
    return true;
}

// Both blocks by scalar loads (lib/gemm_tile.wgsl): the gradient side is gathered, and the
// weights are read in runs of k·k (25 in the paper's nets), not whole vec4s.
fn stage(k0: u32, m0: u32, n0: u32, lid: u32, threads: u32) {
    stage_a_scalar(k0, m0, lid, threads);
    stage_b_scalar(k0, n0, lid, threads);
}

// grad_in[n][ci][pix] for the input pixels l .. l + 4 (which may straddle two images).
fn store_c4(ci: u32, l: u32, v: vec4<f32>) {
    if ci >= p.in_ch {
        return;
    }
    let len = p.images * plane();
    for (var q = 0u; q < 4u; q++) {
        let lq = l + q;
        if lq < len {
            let n = lq / plane();
            grad_in[(n * p.in_ch + ci) * plane() + lq % plane()] = v[q];
        }
    }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    gemm_tile(grid, lid, p.in_ch, steps(), p.tiles_l);
}
