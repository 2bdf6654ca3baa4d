// The uniform parameters of the convolution kernels (their Rust twin: `ConvParams` in
// `gpu/shaders.rs`): the geometry, stride 1 and zero padding, and the number of tiles along the
// lane side (register tile) or the columns (workgroup-memory tile) of the kernel's implicit GEMM.
struct Params {
    images: u32,
    in_ch: u32,
    out_ch: u32,
    kernel: u32,
    padding: u32,
    height: u32,
    width: u32,
    out_h: u32,
    out_w: u32,
    tiles_l: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
