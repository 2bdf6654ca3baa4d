// The gradient of `max_pool_forward.wgsl`: each window's gradient goes to the *first* maximum of
// the window in the pool's input (row-major window order: a later value wins only when strictly
// greater, as spike counts tie often), every other pixel receives 0, and so do the dropped rows
// and columns. CPU twin: `cpu::pool::max_pool_backward`. `input` (the pool's input) and `grad_in`
// are `[maps][h][w]`, `grad_out` `[maps][h/k][w/k]`. One invocation per input value: it
// recomputes its window's argmax, so no atomics are needed.

#include pool_backward

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> grad_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_in: array<f32>;

// grad_out[o] if i is the first maximum of o's window, else 0.
fn window_grad(o: u32, i: u32) -> f32 {
    let origin = window_origin(o);
    var arg = origin;
    var best = input[arg];
    for (var dy = 0u; dy < p.kernel; dy++) {
        for (var dx = 0u; dx < p.kernel; dx++) {
            let at = origin + dy * p.width + dx;
            if input[at] > best {
                best = input[at];
                arg = at;
            }
        }
    }
    return select(0.0, grad_out[o], arg == i);
}
