// The weight gradient of a conv layer, eq 13 for a convolution: ∂L/∂W = Σ_t G[t]ᵀ ∗ s_in[t]
// over the stacked (t, b) images (or (Σ_t G[t]) and the constant input for layer 1).
// CPU twin: `cpu::conv::conv_weight_grad`.
//   grad_w[co][ci][ky][kx] = Σ_n Σ_{oy,ox} grad_out[n][co][oy][ox] · in[n][ci][oy+ky−pad][ox+kx−pad]
//
// An implicit GEMM on the register tile (lib/register_tile.wgsl):
// C[co][p] = Σ_{(n, oy, ox)} grad_out[n][co][oy][ox]·col[p][(n, oy, ox)] with p = (ci, ky, kx),
// M = out_ch, N = in_ch·k·k, K = images·out pixels; the column matrix (im2col) is never stored.
// N is small (25 for a 1-channel 5×5 layer) and K large, so K is divided twice:
// - Across workgroups (split-K): the grid's z dimension is CHUNKS ranges of the images, as equal
//   as whole images allow (chunk c takes images ⌊c·images/CHUNKS⌋ .. ⌊(c+1)·images/CHUNKS⌋; some are
//   empty when there are more chunks than images, and add zeros). With one chunk the workgroup
//   writes grad_w itself; with more, chunk c writes its partial sums to `out` = the scratch
//   `[CHUNKS][out_ch][in_ch·k·k]` at c·out_ch·in_ch·k·k, and sum_steps.wgsl adds the chunks in
//   chunk order into grad_w. The host (`gpu::conv::conv_weight_grad`) picks CHUNKS per adapter
//   (`gpu::WeightGradChunks`: 1 on software adapters, enough to fill a hardware GPU).
// - Within a workgroup: its LANES invocations form SPLIT groups (1, 2, 4 or 8; the host picks
//   the one that wastes fewest lanes) that share one tile and divide the chunk's images between
//   them: a tile is TU output channels (the uniform side: one grad_out address per step for the
//   whole group) × TL/SPLIT patch positions (the lane side, 4 per invocation: its lane +
//   (LANES/SPLIT)·j). Groups 1.. then leave their sums in workgroup memory and group 0 adds them
//   in group order (one barrier, only when SPLIT > 1).
// Every summation order is fixed (chunk, group, image, pixel), so results are deterministic.
// Operands come straight from the storage buffers (staging them in workgroup memory is slower on
// lavapipe: see matmul.wgsl). The CPU adds per image, then across threads.
//
// Measured on lavapipe (2 busy cores), one chunk, the MNIST net's conv2 (15→40 channels, 5×5,
// 12×12 maps, 256 images; SPLIT = 2): 0.35–0.36 s, against 1.27–1.63 s for the
// one-workgroup-per-weight reduction it replaced and 0.41–0.44 s for matmul.wgsl on G·colsᵀ with
// a stored im2col; conv1 (1→15 channels, 28×28 maps, 128 images; SPLIT = 8): 0.02–0.03 s against
// 0.17–0.18 s (`gpu::conv::conv_forward` has the table).

// Groups of invocations that divide the images: 1, 2, 4 or 8 (each group spans at least 8
// invocations, a SIMD row on lavapipe, so its loops stay uniform within one).
override SPLIT: u32;

#include conv

// The tiles along the lane side: p.tiles_l = ceil(in_ch·k·k / (TL/SPLIT)).
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> grad_out: array<f32>;
// grad_w `[out_ch][in_ch][k][k]` (one chunk), or the scratch `[chunks][out_ch][in_ch][k][k]`.
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// The sums of groups 1..SPLIT: TU vec4 per invocation, at most 7/8 of the invocations (SPLIT = 8).
var<workgroup> partial: array<vec4<f32>, TU * (LANES - LANES / 8u)>;
// Within the 16 KiB of workgroup memory that every WebGPU device has.
const_assert 16u * TU * (LANES - LANES / 8u) <= 16384u;

fn store_c(at: u32, value: f32) {
    out[at] = value;
}

@compute @workgroup_size(LANES)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let pixels = p.out_h * p.out_w;
    let plane = p.height * p.width;
    let k = p.kernel;
    let kk = k * k;
    let patch_len = p.in_ch * kk;
    // Invocations per group; the lane side of the tile is 4 per invocation of a group.
    let per_group = LANES / SPLIT;
    let tile = tile_at(grid, p.out_ch, p.tiles_l, 4u * per_group);
    if !tile.live {
        return;
    }
    let group = lid / per_group;
    let r = lid % per_group;
    let lanes = lanes_of(tile, lid, patch_len);
    let l = lanes.at;
    let ci = l / kk;
    let ky = (l % kk) / k;
    let kx = l % k;
    // Offsets use u32 arithmetic, which wraps: an input pixel left of or above the map gives a
    // huge coordinate, which fails the `<` tests like one past its right or bottom edge.
    let dy = ky - vec4<u32>(p.padding);
    let dx = kx - vec4<u32>(p.padding);
    // Input offset of (0, ci, ky − pad, kx − pad), and grad_out's of (0, co, 0, 0) for the TU
    // channels.
    let base = ci * plane + dy * p.width + dx;
    #for u in TILE_U: let g${u} = tile_row(tile, ${u}u) * pixels;

    // This workgroup's chunk of the images, `first` .. `first + count`: ⌊c·images/chunks⌋ as
    // c·whole + ⌊c·extra/chunks⌋, where c·extra < chunks² fits in u32 (chunks ≤ 65,535, the
    // grid's limit).
    let chunks = grid.nwg.z;
    let c = grid.wid.z;
    let whole = p.images / chunks;
    let extra = p.images % chunks;
    let first = c * whole + (c * extra) / chunks;
    let count = (c + 1u) * whole + ((c + 1u) * extra) / chunks - first;

    #for u in TILE_U: var acc${u} = vec4<f32>();
    // Every group runs the same number of image steps (a uniform trip count); group g takes
    // images first + g·per + t of the chunk.
    let per = (count + SPLIT - 1u) / SPLIT;
    for (var t = 0u; t < per; t++) {
        let i = group * per + t;
        if i < count {
            let n = first + i;
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
                    #for u in TILE_U: acc${u} += grad_out[g${u} + s] * lv;
                }
            }
        }
    }

    if SPLIT > 1u {
        if group > 0u {
            let at = ((group - 1u) * per_group + r) * TU;
            #for u in TILE_U: partial[at + ${u}u] = acc${u};
        }
        workgroupBarrier();
        if group == 0u {
            for (var gg = 0u; gg + 1u < SPLIT; gg++) {
                let at = (gg * per_group + r) * TU;
                #for u in TILE_U: acc${u} += partial[at + ${u}u];
            }
        }
    }
    if group > 0u {
        return;
    }
    // The chunk's block of the scratch (block 0 is grad_w itself when there is one chunk).
    let out_at = l + vec4<u32>(c * p.out_ch * patch_len);
    #for u in TILE_U: store_row(tile, lanes, ${u}u, out_at, patch_len, acc${u});
}
