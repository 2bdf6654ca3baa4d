// The grid prologue of every kernel. The host launches workgroups over a 2-D grid (`gpu::kernels`'
// `grid`: at most 65,535 per dimension, WebGPU's limit) and numbers them y·x_count + x; those
// past the last one it needs have nothing to do. A kernel's entry point is
// `fn main(grid: Grid, @builtin(local_invocation_index) lid: u32)`: Grid holds only the builtins
// that are the same across a workgroup, so that WGSL's uniformity analysis (strict in browsers)
// sees values computed from it alone as uniform, as barriers require.
struct Grid {
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
}

// The number of this invocation's workgroup.
fn workgroup_index(g: Grid) -> u32 {
    return g.wid.y * g.nwg.x + g.wid.x;
}
