// The entry point of a pooling kernel's backward pass: one invocation per input value i, which
// receives the kernel's `fn window_grad(o: u32, i: u32) -> f32` from the pooled value o whose
// window holds it (`main` stores it in `grad_in`), or 0 in a dropped row or column.
#include pool

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let i = element_index(grid, lid);
    if i >= p.maps * p.height * p.width {
        return;
    }
    let o = window_of(i);
    var g = 0.0;
    if o != NO_WINDOW {
        g = window_grad(o, i);
    }
    grad_in[i] = g;
}
