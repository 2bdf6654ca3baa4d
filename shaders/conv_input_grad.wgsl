// The gradient a conv layer passes to the maps below it: eq 9's (W^{l+1})ᵀ δ^{l+1}[t] for a
// convolution (or, in BPTT mode, the same transpose applied to G), i.e. the transposed
// convolution. CPU twin: `cpu::conv::conv_input_grad`.
//   grad_in[n][ci][y][x] = Σ_{co,ky,kx} W[co][ci][ky][kx] · grad_out[n][co][y−ky+pad][x−kx+pad]
// with terms outside the output map dropped. One invocation per input pixel and block of 4 input
// channels (no atomics), so that each gradient value read serves 4 products.

override WG: u32;

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
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad_out: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_in: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.y * nwg.x + wid.x) * WG + lid;
    let plane = p.height * p.width;
    let blocks = (p.in_ch + 3u) / 4u;
    if i >= p.images * blocks * plane {
        return;
    }
    let x = i % p.width;
    let y = (i / p.width) % p.height;
    let ci = 4u * ((i / plane) % blocks);
    let n = i / (plane * blocks);
    let k = p.kernel;
    let kk = k * k;
    let pixels = p.out_h * p.out_w;
    // Kernel offsets whose output pixel oy = y + pad − ky lies in [0, out_h) (likewise x).
    let ky0 = u32(max(i32(y + p.padding) - i32(p.out_h) + 1, 0));
    let ky1 = min(y + p.padding + 1u, k);
    let kx0 = u32(max(i32(x + p.padding) - i32(p.out_w) + 1, 0));
    let kx1 = min(x + p.padding + 1u, k);
    // Channels past the last one read the last one's weights and are not stored.
    let last = p.in_ch - 1u;
    let c0 = ci * kk;
    let c1 = min(ci + 1u, last) * kk;
    let c2 = min(ci + 2u, last) * kk;
    let c3 = min(ci + 3u, last) * kk;
    var acc0 = 0.0;
    var acc1 = 0.0;
    var acc2 = 0.0;
    var acc3 = 0.0;
    for (var co = 0u; co < p.out_ch; co++) {
        let g = (n * p.out_ch + co) * pixels;
        let wrow = co * p.in_ch * kk;
        for (var ky = ky0; ky < ky1; ky++) {
            let row = g + (y + p.padding - ky) * p.out_w + x + p.padding;
            let wk = wrow + ky * k;
            for (var kx = kx0; kx < kx1; kx++) {
                let d = grad_out[row - kx];
                acc0 += w[wk + c0 + kx] * d;
                acc1 += w[wk + c1 + kx] * d;
                acc2 += w[wk + c2 + kx] * d;
                acc3 += w[wk + c3 + kx] * d;
            }
        }
    }
    let o = (n * p.in_ch + ci) * plane + y * p.width + x;
    grad_in[o] = acc0;
    if ci + 1u < p.in_ch {
        grad_in[o + plane] = acc1;
    }
    if ci + 2u < p.in_ch {
        grad_in[o + 2u * plane] = acc2;
    }
    if ci + 3u < p.in_ch {
        grad_in[o + 3u * plane] = acc3;
    }
}
