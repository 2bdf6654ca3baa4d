// Convolution of spike maps, stride 1, zero padding (the input current of a conv layer, eq 3:
// I = W ∗ s_in). CPU twin: `cpu::conv::conv_forward`.
//   out[n][co][oy][ox] = Σ_{ci,ky,kx} W[co][ci][ky][kx] · in[n][ci][oy+ky−pad][ox+kx−pad]
// Maps are `[image][channel][y][x]`, weights `[out_ch][in_ch][k][k]`.
//
// An implicit GEMM on the register tile (lib/register_tile.wgsl):
// C[co][(n, oy, ox)] = Σ_p W[co][p]·col[p][(n, oy, ox)] with p = (ci, ky, kx), M = out_ch,
// N = images·out pixels, K = in_ch·k·k. The column matrix (im2col) is never stored: each lane
// reads its value straight from the input map, 0 outside it. The tile's uniform side is output
// channels (one weight address for the whole workgroup per step), its lane side output pixels.
// Operands come straight from the storage buffers: no workgroup memory and no barriers, which
// run slower on lavapipe (matmul.wgsl, `gpu::MatmulPath`). The step p is decoded by three nested
// loops (uniform across the workgroup); the lanes' (n, oy, ox) are decoded once. The products are
// added in increasing p, the CPU's order, though its GEMM may block that sum differently.
//
// Measured on lavapipe (2 busy cores), the MNIST net's conv2 (15→40 channels, 5×5, 12×12 maps,
// 256 images): 0.29–0.31 s, against 0.91 s for the direct loops it replaced (one invocation per
// output pixel and block of 4 channels) and 0.28–0.30 s for matmul.wgsl on the same GEMM with a
// stored im2col (`gpu::conv::conv_forward` has the table, `examples/gpu_conv.rs` the program).

#include conv

// The tiles along the lane side: p.tiles_l = ceil(images·out_h·out_w / TL).
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn store_c(at: u32, value: f32) {
    out[at] = value;
}

@compute @workgroup_size(LANES)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let pixels = p.out_h * p.out_w;
    let plane = p.height * p.width;
    let l_len = p.images * pixels;
    let k = p.kernel;
    let patch_len = p.in_ch * k * k;
    let tile = tile_at(grid, p.out_ch, p.tiles_l, TL);
    if !tile.live {
        return;
    }
    let lanes = lanes_of(tile, lid, l_len);
    let l = lanes.at;
    let n = l / pixels;
    let pix = l % pixels;
    let oy = pix / p.out_w;
    let ox = pix % p.out_w;
    // Input offset of (n, 0, oy, ox), and the weight rows of the TU channels.
    let base = n * (p.in_ch * plane) + oy * p.width + ox;
    #for u in TILE_U: let w${u} = tile_row(tile, ${u}u) * patch_len;

    #for u in TILE_U: var acc${u} = vec4<f32>();
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
                #for u in TILE_U: acc${u} += w[w${u} + s] * lv;
                s++;
            }
        }
    }

    // Output offset of (n, 0, pix).
    let at = n * (p.out_ch * pixels) + pix;
    #for u in TILE_U: store_row(tile, lanes, ${u}u, at, pixels, acc${u});
}
