// The gradient a conv layer passes to the maps below it: eq 9's (W^{l+1})ᵀ δ^{l+1}[t] for a
// convolution (or, in BPTT mode, the same transpose applied to G), i.e. the transposed
// convolution. CPU twin: `cpu::conv::conv_input_grad`.
//   grad_in[n][ci][y][x] = Σ_{co,ky,kx} W[co][ci][ky][kx] · grad_out[n][co][y−ky+pad][x−kx+pad]
// with terms outside the output map dropped.
//
// An implicit GEMM on the register tile (lib/register_tile.wgsl), the structure of
// conv_forward.wgsl: C[ci][(y, x, n)] = Σ_p W[co][ci][ky][kx]·grad_out[n][co][y−ky+pad][x−kx+pad]
// with p = (co, ky, kx), M = in_ch, N = in pixels·images, K = out_ch·k·k. One invocation owns each
// input pixel it writes (no atomics, no col2im). The tile's uniform side is input channels (one
// weight address per step for the whole workgroup), its lane side input pixels; no workgroup
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
// (`gpu::conv::conv_forward` has the table, `examples/gpu_conv.rs` the program).

#include conv

// The tiles along the lane side: p.tiles_l = ceil(images·height·width / TL).
@group(0) @binding(1) var<storage, read> grad_out: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_in: array<f32>;

fn store_c(at: u32, value: f32) {
    grad_in[at] = value;
}

@compute @workgroup_size(LANES)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let pixels = p.out_h * p.out_w;
    let plane = p.height * p.width;
    let l_len = p.images * plane;
    let k = p.kernel;
    let kk = k * k;
    let tile = tile_at(grid, p.in_ch, p.tiles_l, TL);
    if !tile.live {
        return;
    }
    let l0 = tile.l0;
    let lanes = lanes_of(tile, lid, l_len);
    let l = lanes.at;
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
    // grad_out offset of (n, 0, y, x) (before the kernel offsets), and W[0][ci][0][0] of the TU
    // channels.
    let base = n * (p.out_ch * pixels) + y * p.out_w + x;
    #for u in TILE_U: let w${u} = tile_row(tile, ${u}u) * kk;

    #for u in TILE_U: var acc${u} = vec4<f32>();
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
                #for u in TILE_U: acc${u} += w[w${u} + s] * lv;
            }
        }
    }

    // grad_in offset of (n, 0, pix).
    let at = n * (p.in_ch * plane) + pix;
    #for u in TILE_U: store_row(tile, lanes, ${u}u, at, plane, acc${u});
}
