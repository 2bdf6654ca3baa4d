// Max pooling of spike maps (the `MPk` layers of the network strings; no neuron), k×k windows with
// stride k; rows and columns past the last whole window are dropped. CPU twin:
// `cpu::conv::max_pool_forward`. `input` is `[maps][h][w]`, `out` `[maps][h/k][w/k]`.
// One invocation per output value.

#include elementwise

struct Params {
    maps: u32,
    height: u32,
    width: u32,
    kernel: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid) {
    let i = element_index(grid);
    let k = p.kernel;
    let oh = p.height / k;
    let ow = p.width / k;
    if i >= p.maps * oh * ow {
        return;
    }
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let base = (i / (oh * ow)) * p.height * p.width;
    var best = input[base + oy * k * p.width + ox * k];
    for (var dy = 0u; dy < k; dy++) {
        for (var dx = 0u; dx < k; dx++) {
            best = max(best, input[base + (oy * k + dy) * p.width + ox * k + dx]);
        }
    }
    out[i] = best;
}
