// Average pooling of spike maps (the `Pk` layers of the network strings; no neuron): the mean of
// each window (lib/pool.wgsl), one invocation per pooled value. CPU twin:
// `cpu::pool::avg_pool_forward`. `input` is `[maps][h][w]`, `out` `[maps][h/k][w/k]`.

#include pool_forward

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn pool(o: u32) -> f32 {
    let k = p.kernel;
    let at = window_origin(o);
    var sum = 0.0;
    for (var dy = 0u; dy < k; dy++) {
        for (var dx = 0u; dx < k; dx++) {
            sum += input[at + dy * p.width + dx];
        }
    }
    return sum * (1.0 / f32(k * k));
}
