// The weight gradient of a conv layer, eq 13 for a convolution: ∂L/∂W = Σ_t G[t]ᵀ ∗ s_in[t]
// over the stacked (t, b) images (or (Σ_t G[t]) and the constant input for layer 1).
// CPU twin: `cpu::conv::conv_weight_grad`.
//   grad_w[co][ci][ky][kx] = Σ_n Σ_{oy,ox} grad_out[n][co][oy][ox] · in[n][ci][oy+ky−pad][ox+kx−pad]
//
// An implicit GEMM on matmul.wgsl's register tiles: C[co][p] = Σ_{(n, oy, ox)} grad_out[n][co][oy][ox]·col[p][(n, oy, ox)]
// with p = (ci, ky, kx), M = out_ch, N = in_ch·k·k, K = images·out pixels; the column matrix
// (im2col) is never stored. N is small (25 for a 1-channel 5×5 layer) and K large, so a
// workgroup's 64 invocations form SPLIT groups (1, 2, 4 or 8; the host picks the one that wastes
// fewest lanes) that share one tile and divide the images between them: a tile is 16 output
// channels (the uniform side: one grad_out address per step for the whole group) × 256/SPLIT
// patch positions (the lane side, 4 per invocation: its lane + (64/SPLIT)·j). Each invocation
// keeps 16 × 4 sums in named vec4 variables. Groups 1.. then leave their sums in workgroup memory
// and group 0 adds them in group order (one barrier, only when SPLIT > 1): the summation is fixed,
// so results are deterministic. Operands come straight from the storage buffers (staging them
// in workgroup memory is slower on lavapipe: see matmul.wgsl). The CPU adds per image, then
// across threads; the order here is by group, image, then pixel.
//
// Measured on lavapipe (2 busy cores), the MNIST net's conv2 (15→40 channels, 5×5, 12×12 maps,
// 256 images; SPLIT = 2): 0.35–0.36 s, against 1.27–1.63 s for the one-workgroup-per-weight
// reduction it replaced and 0.41–0.44 s for matmul.wgsl on G·colsᵀ with a stored im2col; conv1
// (1→15 channels, 28×28 maps, 128 images; SPLIT = 8): 0.02–0.03 s against 0.17–0.18 s
// (`gpu::kernels::conv_forward` has the table).

// Groups of invocations that divide the images: 1, 2, 4 or 8 (each group spans at least 8
// invocations, a SIMD row on lavapipe, so its loops stay uniform within one).
override SPLIT: u32;

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
    // Tiles along the lane side: ceil(in_ch·k·k / (256/SPLIT)).
    tiles_l: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> grad_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_w: array<f32>;

// Invocations per workgroup.
const LANES: u32 = 64u;
// The uniform side of the tile: TU output channels.
const TU: u32 = 16u;

// The sums of groups 1..SPLIT: 16 vec4 per invocation, at most 56 invocations (SPLIT = 8).
var<workgroup> partial: array<vec4<f32>, 896>;

// Stores the sums of output channel u at patch positions `l` (those inside the patch).
fn store4(u: u32, l: vec4<u32>, inside: vec4<bool>, patch_len: u32, sums: vec4<f32>) {
    if u >= p.out_ch {
        return;
    }
    let o = l + vec4<u32>(u * patch_len);
    for (var j = 0u; j < 4u; j++) {
        if inside[j] {
            grad_w[o[j]] = sums[j];
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
    let k = p.kernel;
    let kk = k * k;
    let patch_len = p.in_ch * kk;
    // Invocations per group, and the lane side of the tile.
    let per_group = LANES / SPLIT;
    let tl = 4u * per_group;
    // Tiles are numbered over a 2-D grid of workgroups (at most 65,535 per dimension); those past
    // the last tile have nothing to do. The test is uniform, so the barrier below stays in
    // uniform control flow.
    let tile = wid.y * nwg.x + wid.x;
    let tiles_u = (p.out_ch + TU - 1u) / TU;
    if tile >= tiles_u * p.tiles_l {
        return;
    }
    let u0 = (tile / p.tiles_l) * TU;
    let l0 = (tile % p.tiles_l) * tl;
    let group = li / per_group;
    let r = li % per_group;
    // Sums past the last channel or patch position read the last one instead: computed, never
    // stored.
    let u_last = p.out_ch - 1u;
    let lane = vec4<u32>(l0 + r) + vec4<u32>(0u, 1u, 2u, 3u) * per_group;
    let inside = lane < vec4<u32>(patch_len);
    let l = min(lane, vec4<u32>(patch_len - 1u));
    let ci = l / kk;
    let ky = (l % kk) / k;
    let kx = l % k;
    // Offsets use u32 arithmetic, which wraps: an input pixel left of or above the map gives a
    // huge coordinate, which fails the `<` tests like one past its right or bottom edge.
    let dy = ky - vec4<u32>(p.padding);
    let dx = kx - vec4<u32>(p.padding);
    // Input offset of (0, ci, ky − pad, kx − pad), and grad_out's of (0, co, 0, 0) for the 16
    // channels.
    let base = ci * plane + dy * p.width + dx;
    let g0 = min(u0 + 0u, u_last) * pixels;
    let g1 = min(u0 + 1u, u_last) * pixels;
    let g2 = min(u0 + 2u, u_last) * pixels;
    let g3 = min(u0 + 3u, u_last) * pixels;
    let g4 = min(u0 + 4u, u_last) * pixels;
    let g5 = min(u0 + 5u, u_last) * pixels;
    let g6 = min(u0 + 6u, u_last) * pixels;
    let g7 = min(u0 + 7u, u_last) * pixels;
    let g8 = min(u0 + 8u, u_last) * pixels;
    let g9 = min(u0 + 9u, u_last) * pixels;
    let g10 = min(u0 + 10u, u_last) * pixels;
    let g11 = min(u0 + 11u, u_last) * pixels;
    let g12 = min(u0 + 12u, u_last) * pixels;
    let g13 = min(u0 + 13u, u_last) * pixels;
    let g14 = min(u0 + 14u, u_last) * pixels;
    let g15 = min(u0 + 15u, u_last) * pixels;

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
    // Every group runs the same number of image steps (a uniform trip count); group g takes
    // images g·per + t.
    let per = (p.images + SPLIT - 1u) / SPLIT;
    for (var t = 0u; t < per; t++) {
        let n = group * per + t;
        if n < p.images {
            let img = base + vec4<u32>(n * p.in_ch * plane);
            let gimg = n * p.out_ch * pixels;
            for (var oy = 0u; oy < p.out_h; oy++) {
                let row_ok = (dy + vec4<u32>(oy)) < vec4<u32>(p.height);
                let row = img + vec4<u32>(oy * p.width);
                let grow = gimg + oy * p.out_w;
                for (var ox = 0u; ox < p.out_w; ox++) {
                    let ok = row_ok & ((dx + vec4<u32>(ox)) < vec4<u32>(p.width));
                    let at = select(vec4<u32>(0u), row + vec4<u32>(ox), ok);
                    let lv = select(
                        vec4<f32>(),
                        vec4<f32>(input[at.x], input[at.y], input[at.z], input[at.w]),
                        ok,
                    );
                    let s = grow + ox;
                    acc0 += grad_out[g0 + s] * lv;
                    acc1 += grad_out[g1 + s] * lv;
                    acc2 += grad_out[g2 + s] * lv;
                    acc3 += grad_out[g3 + s] * lv;
                    acc4 += grad_out[g4 + s] * lv;
                    acc5 += grad_out[g5 + s] * lv;
                    acc6 += grad_out[g6 + s] * lv;
                    acc7 += grad_out[g7 + s] * lv;
                    acc8 += grad_out[g8 + s] * lv;
                    acc9 += grad_out[g9 + s] * lv;
                    acc10 += grad_out[g10 + s] * lv;
                    acc11 += grad_out[g11 + s] * lv;
                    acc12 += grad_out[g12 + s] * lv;
                    acc13 += grad_out[g13 + s] * lv;
                    acc14 += grad_out[g14 + s] * lv;
                    acc15 += grad_out[g15 + s] * lv;
                }
            }
        }
    }

    if SPLIT > 1u {
        if group > 0u {
            let at = ((group - 1u) * per_group + r) * TU;
            partial[at + 0u] = acc0;
            partial[at + 1u] = acc1;
            partial[at + 2u] = acc2;
            partial[at + 3u] = acc3;
            partial[at + 4u] = acc4;
            partial[at + 5u] = acc5;
            partial[at + 6u] = acc6;
            partial[at + 7u] = acc7;
            partial[at + 8u] = acc8;
            partial[at + 9u] = acc9;
            partial[at + 10u] = acc10;
            partial[at + 11u] = acc11;
            partial[at + 12u] = acc12;
            partial[at + 13u] = acc13;
            partial[at + 14u] = acc14;
            partial[at + 15u] = acc15;
        }
        workgroupBarrier();
        if group == 0u {
            for (var gg = 0u; gg + 1u < SPLIT; gg++) {
                let at = (gg * per_group + r) * TU;
                acc0 += partial[at + 0u];
                acc1 += partial[at + 1u];
                acc2 += partial[at + 2u];
                acc3 += partial[at + 3u];
                acc4 += partial[at + 4u];
                acc5 += partial[at + 5u];
                acc6 += partial[at + 6u];
                acc7 += partial[at + 7u];
                acc8 += partial[at + 8u];
                acc9 += partial[at + 9u];
                acc10 += partial[at + 10u];
                acc11 += partial[at + 11u];
                acc12 += partial[at + 12u];
                acc13 += partial[at + 13u];
                acc14 += partial[at + 14u];
                acc15 += partial[at + 15u];
            }
        }
    }
    if group > 0u {
        return;
    }
    store4(u0 + 0u, l, inside, patch_len, acc0);
    store4(u0 + 1u, l, inside, patch_len, acc1);
    store4(u0 + 2u, l, inside, patch_len, acc2);
    store4(u0 + 3u, l, inside, patch_len, acc3);
    store4(u0 + 4u, l, inside, patch_len, acc4);
    store4(u0 + 5u, l, inside, patch_len, acc5);
    store4(u0 + 6u, l, inside, patch_len, acc6);
    store4(u0 + 7u, l, inside, patch_len, acc7);
    store4(u0 + 8u, l, inside, patch_len, acc8);
    store4(u0 + 9u, l, inside, patch_len, acc9);
    store4(u0 + 10u, l, inside, patch_len, acc10);
    store4(u0 + 11u, l, inside, patch_len, acc11);
    store4(u0 + 12u, l, inside, patch_len, acc12);
    store4(u0 + 13u, l, inside, patch_len, acc13);
    store4(u0 + 14u, l, inside, patch_len, acc14);
    store4(u0 + 15u, l, inside, patch_len, acc15);
}
