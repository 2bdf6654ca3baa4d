// Convolution of spike maps, stride 1, zero padding (the input current of a conv layer, eq 3:
// I = W ∗ s_in). CPU twin: `cpu::conv::conv_forward`.
//   out[n][co][oy][ox] = Σ_{ci,ky,kx} W[co][ci][ky][kx] · in[n][ci][oy+ky−pad][ox+kx−pad]
// Maps are `[image][channel][y][x]`, weights `[out_ch][in_ch][k][k]`. A direct convolution: one
// invocation per output pixel and block of 4 output channels, so that each input value read
// serves 4 products (on a loaded lavapipe about 1.3× faster than one channel per invocation, and
// still about 4× slower than matmul.wgsl on the same multiply-adds: see `gpu::kernels`). The
// products are added in the CPU's order (ci, ky, kx), though its GEMM may block that sum
// differently.

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
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.y * nwg.x + wid.x) * WG + lid;
    let pixels = p.out_h * p.out_w;
    let blocks = (p.out_ch + 3u) / 4u;
    if i >= p.images * blocks * pixels {
        return;
    }
    let ox = i % p.out_w;
    let oy = (i / p.out_w) % p.out_h;
    let co = 4u * ((i / pixels) % blocks);
    let n = i / (pixels * blocks);
    let k = p.kernel;
    let kk = k * k;
    let plane = p.height * p.width;
    // Kernel rows and columns whose input pixel lies inside the image: y = oy + ky − pad ∈ [0, h).
    let ky0 = u32(max(i32(p.padding) - i32(oy), 0));
    let ky1 = u32(clamp(i32(p.height + p.padding) - i32(oy), 0, i32(k)));
    let kx0 = u32(max(i32(p.padding) - i32(ox), 0));
    let kx1 = u32(clamp(i32(p.width + p.padding) - i32(ox), 0, i32(k)));
    // Channels past the last one read the last one's weights and are not stored.
    let last = p.out_ch - 1u;
    let stride = p.in_ch * kk;
    let w0 = co * stride;
    let w1 = min(co + 1u, last) * stride;
    let w2 = min(co + 2u, last) * stride;
    let w3 = min(co + 3u, last) * stride;
    var acc0 = 0.0;
    var acc1 = 0.0;
    var acc2 = 0.0;
    var acc3 = 0.0;
    for (var ci = 0u; ci < p.in_ch; ci++) {
        let img = (n * p.in_ch + ci) * plane;
        for (var ky = ky0; ky < ky1; ky++) {
            let row = img + (oy + ky - p.padding) * p.width + ox - p.padding;
            let wk = ci * kk + ky * k;
            for (var kx = kx0; kx < kx1; kx++) {
                let x = input[row + kx];
                acc0 += w[w0 + wk + kx] * x;
                acc1 += w[w1 + wk + kx] * x;
                acc2 += w[w2 + wk + kx] * x;
                acc3 += w[w3 + wk + kx] * x;
            }
        }
    }
    let o = (n * p.out_ch + co) * pixels + oy * p.out_w + ox;
    out[o] = acc0;
    if co + 1u < p.out_ch {
        out[o + pixels] = acc1;
    }
    if co + 2u < p.out_ch {
        out[o + 2u * pixels] = acc2;
    }
    if co + 3u < p.out_ch {
        out[o + 3u * pixels] = acc3;
    }
}
