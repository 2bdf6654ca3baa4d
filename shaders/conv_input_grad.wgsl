// The gradient a conv layer passes to the maps below it: eq 9's (W^{l+1})ᵀ δ^{l+1}[t] for a
// convolution (or, in BPTT mode, the same transpose applied to G), i.e. the transposed
// convolution. CPU twin: `cpu::conv::conv_input_grad`.
//   grad_in[n][ci][y][x] = Σ_{co,ky,kx} W[co][ci][ky][kx] · grad_out[n][co][y−ky+pad][x−kx+pad]
// with terms outside the output map dropped.
//
// An implicit GEMM on matmul.wgsl's register tiles, the structure of conv_forward.wgsl:
// C[ci][(y, x, n)] = Σ_p W[co][ci][ky][kx]·grad_out[n][co][y−ky+pad][x−kx+pad] with p = (co, ky, kx),
// M = in_ch, N = in pixels·images, K = out_ch·k·k. One invocation owns each input pixel it
// writes (no atomics, no col2im). A workgroup of 64 invocations computes 16 input channels (the
// uniform side: one weight address per step for the whole workgroup) × 256 input pixels (the lane
// side, 4 per invocation: its lane + 64·j), in 16 named vec4 sums per invocation; no workgroup
// memory and no barriers (slower on lavapipe: see matmul.wgsl). The lanes run pixel-major, so
// that with a training batch (T·B ≥ 256 images) a tile holds one or two pixel positions and its
// loops visit only the kernel offsets (ky, kx) that land in the output map: with padding 0 the
// border pixels of the input reach few of them. The products are added in increasing p; the
// CPU's GEMM + col2im adds them over co first, then over (ky, kx).
//
// Measured on lavapipe (2 busy cores), the MNIST net's conv2 (15→40 channels, 5×5, 12×12 maps,
// 256 images): 0.30–0.32 s, against 1.26–1.50 s for the direct loops it replaced (one invocation
// per input pixel and block of 4 channels). Image-major lanes, which visit every kernel offset
// (2.25× the multiply-adds here), took 0.44 s in one run where the forward pass took 0.21 s
// (`gpu::kernels::conv_forward` has the table, `examples/gpu_conv.rs` the program).

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
    // Tiles along the lane side: ceil(images·height·width / 256).
    tiles_l: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad_out: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_in: array<f32>;

// Invocations per workgroup.
const LANES: u32 = 64u;
// The tile: TU input channels × TL input pixels (4 per invocation).
const TU: u32 = 16u;
const TL: u32 = 256u;

// Stores the sums of input channel u at the lanes whose offsets (n·in_ch·plane + pixel) are `at`
// (those inside grad_in).
fn store4(u: u32, at: vec4<u32>, inside: vec4<bool>, plane: u32, sums: vec4<f32>) {
    if u >= p.in_ch {
        return;
    }
    let o = at + vec4<u32>(u * plane);
    for (var j = 0u; j < 4u; j++) {
        if inside[j] {
            grad_in[o[j]] = sums[j];
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
    let l_len = p.images * plane;
    let k = p.kernel;
    let kk = k * k;
    // Tiles are numbered over a 2-D grid of workgroups (at most 65,535 per dimension); those past
    // the last tile have nothing to do.
    let tile = wid.y * nwg.x + wid.x;
    let tiles_u = (p.in_ch + TU - 1u) / TU;
    if tile >= tiles_u * p.tiles_l {
        return;
    }
    let u0 = (tile / p.tiles_l) * TU;
    let l0 = (tile % p.tiles_l) * TL;
    // Sums past the last channel or pixel read the last one instead: computed, never stored.
    let u_last = p.in_ch - 1u;
    let lane = vec4<u32>(l0 + li) + vec4<u32>(0u, LANES, 2u * LANES, 3u * LANES);
    let inside = lane < vec4<u32>(l_len);
    let l = min(lane, vec4<u32>(l_len - 1u));
    // Lanes run pixel-major, image-minor: with 256 images or more a tile holds one or two pixel
    // positions, so the kernel offsets that reach the output map are nearly the same for all of
    // its lanes and the loops below skip the others (with padding 0, most of them at the border).
    let pix = l / p.images;
    let n = l % p.images;
    let y = pix / p.width;
    let x = pix % p.width;
    // The tile's pixels run from pa to pb: rows ya..yb, and columns xa..xb if that is one row.
    let pa = l0 / p.images;
    let pb = min(l0 + TL - 1u, l_len - 1u) / p.images;
    let ya = pa / p.width;
    let yb = pb / p.width;
    let xa = select(0u, pa % p.width, ya == yb);
    let xb = select(p.width - 1u, pb % p.width, ya == yb);
    // Kernel rows that reach an output row oy = y + pad − ky ∈ [0, out_h) from some y in ya..yb
    // (likewise columns). Uniform bounds: each lane still tests each term it visits.
    let ky0 = u32(max(i32(ya + p.padding) - i32(p.out_h) + 1, 0));
    let ky1 = min(yb + p.padding + 1u, k);
    let kx0 = u32(max(i32(xa + p.padding) - i32(p.out_w) + 1, 0));
    let kx1 = min(xb + p.padding + 1u, k);
    // grad_out offset of (n, 0, y, x) (before the kernel offsets), and W[0][ci][0][0] of the 16
    // channels.
    let base = n * (p.out_ch * pixels) + y * p.out_w + x;
    let w0 = min(u0 + 0u, u_last) * kk;
    let w1 = min(u0 + 1u, u_last) * kk;
    let w2 = min(u0 + 2u, u_last) * kk;
    let w3 = min(u0 + 3u, u_last) * kk;
    let w4 = min(u0 + 4u, u_last) * kk;
    let w5 = min(u0 + 5u, u_last) * kk;
    let w6 = min(u0 + 6u, u_last) * kk;
    let w7 = min(u0 + 7u, u_last) * kk;
    let w8 = min(u0 + 8u, u_last) * kk;
    let w9 = min(u0 + 9u, u_last) * kk;
    let w10 = min(u0 + 10u, u_last) * kk;
    let w11 = min(u0 + 11u, u_last) * kk;
    let w12 = min(u0 + 12u, u_last) * kk;
    let w13 = min(u0 + 13u, u_last) * kk;
    let w14 = min(u0 + 14u, u_last) * kk;
    let w15 = min(u0 + 15u, u_last) * kk;

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
    // Offsets below use u32 arithmetic, which wraps: an output pixel left of or above the map
    // gives a huge coordinate, which fails the `<` tests like one past its right or bottom edge.
    for (var co = 0u; co < p.out_ch; co++) {
        let wc = co * p.in_ch * kk;
        for (var ky = ky0; ky < ky1; ky++) {
            // Output row oy = y + pad − ky and the offset of (n, co, oy, x + pad).
            let dy = p.padding - ky;
            let row_ok = (y + vec4<u32>(dy)) < vec4<u32>(p.out_h);
            let row = base + vec4<u32>(co * pixels + dy * p.out_w + p.padding);
            for (var kx = kx0; kx < kx1; kx++) {
                let ok = row_ok & ((x + vec4<u32>(p.padding - kx)) < vec4<u32>(p.out_w));
                let at = select(vec4<u32>(0u), row - vec4<u32>(kx), ok);
                let lv = select(
                    vec4<f32>(),
                    vec4<f32>(grad_out[at.x], grad_out[at.y], grad_out[at.z], grad_out[at.w]),
                    ok,
                );
                let s = wc + ky * k + kx;
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
            }
        }
    }

    // grad_in offset of (n, 0, pix).
    let at = n * (p.in_ch * plane) + pix;
    store4(u0 + 0u, at, inside, plane, acc0);
    store4(u0 + 1u, at, inside, plane, acc1);
    store4(u0 + 2u, at, inside, plane, acc2);
    store4(u0 + 3u, at, inside, plane, acc3);
    store4(u0 + 4u, at, inside, plane, acc4);
    store4(u0 + 5u, at, inside, plane, acc5);
    store4(u0 + 6u, at, inside, plane, acc6);
    store4(u0 + 7u, at, inside, plane, acc7);
    store4(u0 + 8u, at, inside, plane, acc8);
    store4(u0 + 9u, at, inside, plane, acc9);
    store4(u0 + 10u, at, inside, plane, acc10);
    store4(u0 + 11u, at, inside, plane, acc11);
    store4(u0 + 12u, at, inside, plane, acc12);
    store4(u0 + 13u, at, inside, plane, acc13);
    store4(u0 + 14u, at, inside, plane, acc14);
    store4(u0 + 15u, at, inside, plane, acc15);
}
