// The pooling kernels: k×k windows with stride k on `[maps][h][w]` maps; rows and columns past the
// last whole window are dropped, so the pooled maps are `[maps][h/k][w/k]`. Their uniform
// parameters (the Rust twin: `PoolParams` in `gpu/shaders.rs`) and the window arithmetic.
#include elementwise

struct Params {
    maps: u32,
    height: u32,
    width: u32,
    kernel: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Values in the pooled maps.
fn pooled_len() -> u32 {
    return p.maps * (p.height / p.kernel) * (p.width / p.kernel);
}

// The offset in the input maps of the first value of pooled value o's window: its row dy, column
// dx is at + dy·width + dx.
fn window_origin(o: u32) -> u32 {
    let ow = p.width / p.kernel;
    let oh = p.height / p.kernel;
    let ox = o % ow;
    let oy = (o / ow) % oh;
    return (o / (oh * ow)) * p.height * p.width + oy * p.kernel * p.width + ox * p.kernel;
}

// The pooled value whose window holds input value i, or NO_WINDOW for a pixel in a dropped row or
// column.
const NO_WINDOW: u32 = 0xffffffffu;

fn window_of(i: u32) -> u32 {
    let k = p.kernel;
    let oh = p.height / k;
    let ow = p.width / k;
    let oy = ((i / p.width) % p.height) / k;
    let ox = (i % p.width) / k;
    if oy >= oh || ox >= ow {
        return NO_WINDOW;
    }
    return (i / (p.height * p.width)) * oh * ow + oy * ow + ox;
}
