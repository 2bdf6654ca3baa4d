// One batch gathered from an image set resident on the device. CPU twin: `cpu::kernels::gather`.
// One invocation per input value x[b][c][r][col] of the batch. `images` holds the whole image set:
// the per-channel tables (256 f32 each, as bits) at word 0, the labels at `labels_at`, the
// pixels `[samples][c][h][w]` packed 4 per word (little-endian: byte k in bits 8k..8k+7) from
// `pixels_at`. `order` holds `[sample, augment]` per position of the pass; position first + b
// fills row b. augment: dy in bits 0–7, dx in bits 8–15, flip in bit 16 (`dataset::augment_word`).
//
//   x[b][c][r][col] = table_c[p(r + dy − pad, col' + dx − pad)],  col' = w − 1 − col if flipped
//
// with p = 0 (black) outside the image: the random crop of a sample padded by `pad` pixels, then
// the horizontal mirror, as the host's per-batch path does it.

#include elementwise

struct Params {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    pad: u32,
    first: u32,
    labels_at: u32,
    pixels_at: u32,
    with_labels: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> images: array<u32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> labels: array<u32>;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let e = element_index(grid, lid);
    let plane = p.height * p.width;
    let len = p.channels * plane;
    if e >= p.batch * len {
        return;
    }
    let b = e / len;
    let within = e % len;
    let c = within / plane;
    let r = (within % plane) / p.width;
    var col = within % p.width;
    let pos = p.first + b;
    let sample = order[2u * pos];
    let aug = order[2u * pos + 1u];
    if ((aug >> 16u) & 1u) == 1u {
        col = p.width - 1u - col;
    }
    let sr = i32(r + (aug & 0xffu)) - i32(p.pad);
    let sc = i32(col + ((aug >> 8u) & 0xffu)) - i32(p.pad);
    var pixel = 0u;
    if sr >= 0 && sr < i32(p.height) && sc >= 0 && sc < i32(p.width) {
        let byte = sample * len + c * plane + u32(sr) * p.width + u32(sc);
        pixel = (images[p.pixels_at + byte / 4u] >> (8u * (byte % 4u))) & 0xffu;
    }
    x[e] = bitcast<f32>(images[c * 256u + pixel]);
    if p.with_labels == 1u && within == 0u {
        labels[b] = images[p.labels_at + sample];
    }
}
