// The weight gradient of a conv layer, eq 13 for a convolution: ∂L/∂W = Σ_t G[t]ᵀ ∗ s_in[t]
// over the stacked (t, b) images (or (Σ_t G[t]) and the constant input for layer 1).
// CPU twin: `cpu::conv::conv_weight_grad`.
//   grad_w[co][ci][ky][kx] = Σ_n Σ_{oy,ox} grad_out[n][co][oy][ox] · in[n][ci][oy+ky−pad][ox+kx−pad]
// One workgroup per weight: its WG invocations take every WG-th output pixel over all images,
// then a tree reduction in workgroup memory adds their partial sums. Workgroups past the last weight (the
// 2-D grid rounds up) return before any barrier; that test is uniform across the workgroup.

// Invocations per workgroup: a constant, as it sizes the workgroup array.
const WG: u32 = 64u;

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
@group(0) @binding(2) var<storage, read> grad_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_w: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let wi = wid.y * nwg.x + wid.x;
    let k = p.kernel;
    if wi >= p.out_ch * p.in_ch * k * k {
        return;
    }
    let kx = wi % k;
    let ky = (wi / k) % k;
    let ci = (wi / (k * k)) % p.in_ch;
    let co = wi / (k * k * p.in_ch);
    let pixels = p.out_h * p.out_w;
    let plane = p.height * p.width;
    // Output rows and columns whose input pixel y = oy + ky − pad lies in [0, h) (likewise x).
    let oy0 = u32(max(i32(p.padding) - i32(ky), 0));
    let oy1 = u32(clamp(i32(p.height + p.padding) - i32(ky), 0, i32(p.out_h)));
    let ox0 = u32(max(i32(p.padding) - i32(kx), 0));
    let ox1 = u32(clamp(i32(p.width + p.padding) - i32(kx), 0, i32(p.out_w)));
    let rows = select(0u, oy1 - oy0, oy1 > oy0);
    let cols = select(0u, ox1 - ox0, ox1 > ox0);
    // Each invocation takes every WG-th output pixel and, for it, every image: one integer
    // division per pixel rather than per term (they are slow on CPU-based adapters).
    let g_image = p.out_ch * pixels;
    let in_image = p.in_ch * plane;
    var acc = 0.0;
    for (var j = lid; j < rows * cols; j += WG) {
        let oy = oy0 + j / cols;
        let ox = ox0 + j % cols;
        var g = co * pixels + oy * p.out_w + ox;
        var s = ci * plane + (oy + ky - p.padding) * p.width + ox + kx - p.padding;
        for (var n = 0u; n < p.images; n++) {
            acc += grad_out[g] * input[s];
            g += g_image;
            s += in_image;
        }
    }
    partial[lid] = acc;
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        workgroupBarrier();
        if lid < half {
            partial[lid] += partial[lid + half];
        }
    }
    if lid == 0u {
        grad_w[wi] = partial[0];
    }
}
