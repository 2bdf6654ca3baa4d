// The gradient of `max_pool_forward.wgsl`: each window's gradient goes to the *first* maximum of
// the window in the pool's input (row-major window order: a later value wins only when strictly
// greater, as spike counts tie often), every other pixel receives 0, and so do the dropped rows
// and columns. CPU twin: `cpu::conv::max_pool_backward`. `input` (the pool's input) and `grad_in`
// are `[maps][h][w]`, `grad_out` `[maps][h/k][w/k]`. One invocation per input value: it
// recomputes its window's argmax, so no atomics are needed.

#include elementwise

struct Params {
    maps: u32,
    height: u32,
    width: u32,
    kernel: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> grad_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_in: array<f32>;

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
        let base = (i / plane) * plane;
        var best = input[base + oy * k * p.width + ox * k];
        var arg = 0u;
        for (var dy = 0u; dy < k; dy++) {
            for (var dx = 0u; dx < k; dx++) {
                let v = input[base + (oy * k + dy) * p.width + ox * k + dx];
                if v > best {
                    best = v;
                    arg = dy * k + dx;
                }
            }
        }
        if arg == (y - oy * k) * k + (x - ox * k) {
            g = grad_out[(i / plane) * oh * ow + oy * ow + ox];
        }
    }
    grad_in[i] = g;
}
