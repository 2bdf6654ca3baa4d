// The kernels with one invocation per element (a neuron, a weight, a pixel): workgroups of WG
// invocations (set by the host), entry point `@compute @workgroup_size(WG) fn main(grid, lid)`.
#include grid

override WG: u32;

// The element of this invocation; those past the last element return at once.
fn element_index(g: Grid, lid: u32) -> u32 {
    return workgroup_index(g) * WG + lid;
}
