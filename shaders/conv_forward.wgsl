// Convolution of spike maps, stride 1, zero padding (the input current of a conv layer, eq 3:
// I = W ∗ s_in). CPU twin: `cpu::conv::conv_forward`.
//   out[n][co][oy][ox] = Σ_{ci,ky,kx} W[co][ci][ky][kx] · in[n][ci][oy+ky−pad][ox+kx−pad]
// Maps are `[image][channel][y][x]`, weights `[out_ch][in_ch][k][k]`.
//
// An implicit GEMM on matmul.wgsl's register tiles: C[co][(n, oy, ox)] = Σ_p W[co][p]·col[p][(n, oy, ox)]
// with p = (ci, ky, kx), M = out_ch, N = images·out pixels, K = in_ch·k·k. The column matrix
// (im2col) is never stored: each lane reads its value straight from the input map, 0 outside it.
// A workgroup of 64 invocations computes a 16 × 256 tile: 16 output channels (the uniform side,
// one weight address for the whole workgroup per step: a broadcast) × 256 output pixels (the lane
// side, 4 per invocation: its lane + 64·j). Each invocation keeps 16 × 4 sums in named vec4
// variables (see matmul.wgsl: an array indexed by a loop counter stays in memory on lavapipe).
// Operands come straight from the storage buffers: no workgroup memory and no barriers, which
// run slower on lavapipe (matmul.wgsl, `gpu::MatmulPath`). The step p is decoded by three nested
// loops (uniform across the workgroup); the lanes' (n, oy, ox) are decoded once. The products are
// added in increasing p, the CPU's order, though its GEMM may block that sum differently.
//
// Measured on lavapipe (2 busy cores), the MNIST net's conv2 (15→40 channels, 5×5, 12×12 maps,
// 256 images): 0.29–0.31 s, against 0.91 s for the direct loops it replaced (one invocation per
// output pixel and block of 4 channels) and 0.28–0.30 s for matmul.wgsl on the same GEMM with a
// stored im2col (`gpu::kernels::conv_forward` has the table, `examples/gpu_conv.rs` the program).

struct Params {
    images: u32,
    in_ch: u32,
    out_ch: u32,
    kernel: u32,
    padding: u32,
    height: u32,
    width: u32,
    out_h: u32,
    out_w: u32,
    // Tiles along the lane side: ceil(images·out_h·out_w / 256).
    tiles_l: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Invocations per workgroup.
const LANES: u32 = 64u;
// The tile: TU output channels × TL output pixels (4 per invocation).
const TU: u32 = 16u;
const TL: u32 = 256u;

// Stores the sums of output channel u at the lanes whose output offsets (n·out_ch·pixels + pixel)
// are `at` (those inside the output).
fn store4(u: u32, at: vec4<u32>, inside: vec4<bool>, pixels: u32, sums: vec4<f32>) {
    if u >= p.out_ch {
        return;
    }
    let o = at + vec4<u32>(u * pixels);
    for (var j = 0u; j < 4u; j++) {
        if inside[j] {
            out[o[j]] = sums[j];
        }
    }
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let pixels = p.out_h * p.out_w;
    let plane = p.height * p.width;
    let l_len = p.images * pixels;
    let k = p.kernel;
    let patch_len = p.in_ch * k * k;
    // Tiles are numbered over a 2-D grid of workgroups (at most 65,535 per dimension); those past
    // the last tile have nothing to do.
    let tile = wid.y * nwg.x + wid.x;
    let tiles_u = (p.out_ch + TU - 1u) / TU;
    if tile >= tiles_u * p.tiles_l {
        return;
    }
    let u0 = (tile / p.tiles_l) * TU;
    let l0 = (tile % p.tiles_l) * TL;
    // Sums past the last channel or pixel read the last one instead: computed, never stored, and
    // the inner loop needs no branch.
    let u_last = p.out_ch - 1u;
    let lane = vec4<u32>(l0 + li) + vec4<u32>(0u, LANES, 2u * LANES, 3u * LANES);
    let inside = lane < vec4<u32>(l_len);
    let l = min(lane, vec4<u32>(l_len - 1u));
    let n = l / pixels;
    let pix = l % pixels;
    let oy = pix / p.out_w;
    let ox = pix % p.out_w;
    // Input offset of (n, 0, oy, ox), and the weight rows of the 16 channels.
    let base = n * (p.in_ch * plane) + oy * p.width + ox;
    let w0 = min(u0 + 0u, u_last) * patch_len;
    let w1 = min(u0 + 1u, u_last) * patch_len;
    let w2 = min(u0 + 2u, u_last) * patch_len;
    let w3 = min(u0 + 3u, u_last) * patch_len;
    let w4 = min(u0 + 4u, u_last) * patch_len;
    let w5 = min(u0 + 5u, u_last) * patch_len;
    let w6 = min(u0 + 6u, u_last) * patch_len;
    let w7 = min(u0 + 7u, u_last) * patch_len;
    let w8 = min(u0 + 8u, u_last) * patch_len;
    let w9 = min(u0 + 9u, u_last) * patch_len;
    let w10 = min(u0 + 10u, u_last) * patch_len;
    let w11 = min(u0 + 11u, u_last) * patch_len;
    let w12 = min(u0 + 12u, u_last) * patch_len;
    let w13 = min(u0 + 13u, u_last) * patch_len;
    let w14 = min(u0 + 14u, u_last) * patch_len;
    let w15 = min(u0 + 15u, u_last) * patch_len;

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
    // Offsets below use u32 arithmetic, which wraps: a pixel left of or above the map gives a
    // huge coordinate, which fails the `<` tests like one past its right or bottom edge.
    var s = 0u;
    for (var ci = 0u; ci < p.in_ch; ci++) {
        for (var ky = 0u; ky < k; ky++) {
            // Input row y = oy + ky − pad and the offset of (n, ci, y, ox − pad).
            let dy = ky - p.padding;
            let row_ok = (oy + vec4<u32>(dy)) < vec4<u32>(p.height);
            let row = base + vec4<u32>(ci * plane + dy * p.width - p.padding);
            for (var kx = 0u; kx < k; kx++) {
                let ok = row_ok & ((ox + vec4<u32>(kx - p.padding)) < vec4<u32>(p.width));
                let at = select(vec4<u32>(0u), row + vec4<u32>(kx), ok);
                let lv = select(
                    vec4<f32>(),
                    vec4<f32>(input[at.x], input[at.y], input[at.z], input[at.w]),
                    ok,
                );
                acc0 += w[w0 + s] * lv;
                acc1 += w[w1 + s] * lv;
                acc2 += w[w2 + s] * lv;
                acc3 += w[w3 + s] * lv;
                acc4 += w[w4 + s] * lv;
                acc5 += w[w5 + s] * lv;
                acc6 += w[w6 + s] * lv;
                acc7 += w[w7 + s] * lv;
                acc8 += w[w8 + s] * lv;
                acc9 += w[w9 + s] * lv;
                acc10 += w[w10 + s] * lv;
                acc11 += w[w11 + s] * lv;
                acc12 += w[w12 + s] * lv;
                acc13 += w[w13 + s] * lv;
                acc14 += w[w14 + s] * lv;
                acc15 += w[w15 + s] * lv;
                s++;
            }
        }
    }

    // Output offset of (n, 0, pix).
    let at = n * (p.out_ch * pixels) + pix;
    store4(u0 + 0u, at, inside, pixels, acc0);
    store4(u0 + 1u, at, inside, pixels, acc1);
    store4(u0 + 2u, at, inside, pixels, acc2);
    store4(u0 + 3u, at, inside, pixels, acc3);
    store4(u0 + 4u, at, inside, pixels, acc4);
    store4(u0 + 5u, at, inside, pixels, acc5);
    store4(u0 + 6u, at, inside, pixels, acc6);
    store4(u0 + 7u, at, inside, pixels, acc7);
    store4(u0 + 8u, at, inside, pixels, acc8);
    store4(u0 + 9u, at, inside, pixels, acc9);
    store4(u0 + 10u, at, inside, pixels, acc10);
    store4(u0 + 11u, at, inside, pixels, acc11);
    store4(u0 + 12u, at, inside, pixels, acc12);
    store4(u0 + 13u, at, inside, pixels, acc13);
    store4(u0 + 14u, at, inside, pixels, acc14);
    store4(u0 + 15u, at, inside, pixels, acc15);
}
