// The entry point of a pooling kernel's forward pass: one invocation per pooled value o, which
// the kernel's `fn pool(o: u32) -> f32` computes from o's window and `main` stores in `out`.
#include pool

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let o = element_index(grid, lid);
    if o < pooled_len() {
        out[o] = pool(o);
    }
}
