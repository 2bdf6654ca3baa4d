// Max pooling of spike maps (the `MPk` layers of the network strings; no neuron): the maximum of
// each window (lib/pool.wgsl), one invocation per pooled value. CPU twin:
// `cpu::pool::max_pool_forward`. `input` is `[maps][h][w]`, `out` `[maps][h/k][w/k]`.

#include pool_forward

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn pool(o: u32) -> f32 {
    let at = window_origin(o);
    var best = input[at];
    for (var dy = 0u; dy < p.kernel; dy++) {
        for (var dx = 0u; dx < p.kernel; dx++) {
            best = max(best, input[at + dy * p.width + dx]);
        }
    }
    return best;
}
