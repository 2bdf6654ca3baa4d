// The transpose of `avg_pool_forward.wgsl`: each input pixel receives its window's gradient / k²,
// and pixels in the dropped rows and columns receive 0 (the ∂L/∂s passed through a pooling layer
// to the conv layer below, as eq 9 passes it through a weight matrix). CPU twin:
// `cpu::conv::avg_pool_backward`. `grad_out` is `[maps][h/k][w/k]`, `grad_in` `[maps][h][w]`.

#include elementwise

struct Params {
    maps: u32,
    height: u32,
    width: u32,
    kernel: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad_in: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid) {
    let i = element_index(grid);
    let plane = p.height * p.width;
    if i >= p.maps * plane {
        return;
    }
    let k = p.kernel;
    let oh = p.height / k;
    let ow = p.width / k;
    let x = i % p.width;
    let y = (i / p.width) % p.height;
    let oy = y / k;
    let ox = x / k;
    var g = 0.0;
    if oy < oh && ox < ow {
        g = grad_out[(i / plane) * oh * ow + oy * ow + ox] * (1.0 / f32(k * k));
    }
    grad_in[i] = g;
}
