// The uniform parameters of the kernels that walk the steps of a `[steps][m]` buffer, one
// invocation per column (the Rust twin: `StepsParams` in `gpu/shaders.rs`).
#include elementwise

struct Params {
    // Columns: neurons (batch × layer width).
    m: u32,
    steps: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
