// The transpose of `avg_pool_forward.wgsl`: each input pixel receives its window's gradient / k²,
// and pixels in the dropped rows and columns receive 0 (the ∂L/∂s passed through a pooling layer
// to the conv layer below, as eq 9 passes it through a weight matrix). CPU twin:
// `cpu::pool::avg_pool_backward`. `grad_out` is `[maps][h/k][w/k]`, `grad_in` `[maps][h][w]`.

#include pool_backward

@group(0) @binding(1) var<storage, read> grad_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad_in: array<f32>;

fn window_grad(o: u32, i: u32) -> f32 {
    return grad_out[o] * (1.0 / f32(p.kernel * p.kernel));
}
