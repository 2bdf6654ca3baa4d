// Per-sample records of one batch into a pass-wide buffer, so that a whole epoch's losses and
// hits come back in one read. CPU twin: `cpu::kernels::tally`. One invocation per sample b; `s`
// is the output layer's spike counts `[steps][batch][classes]`, the batch's first sample is
// position `first` of the pass.
//
//   TRAINING:  records[2(first+b)] = loss[b] (eq 6, from output_error.wgsl),
//              records[2(first+b)+1] = 1 if argmax_i Σ_t s[t][b][i] = label (lowest i on ties)
//   otherwise: records[(first+b)·classes + i] = Σ_t s[t][b][i]

#include elementwise

override TRAINING: bool;

struct Params {
    batch: u32,
    steps: u32,
    classes: u32,
    first: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> records: array<f32>;

// Σ_t s[t][b][i], summed in step order as the host does.
fn total(b: u32, i: u32) -> f32 {
    var sum = 0.0;
    for (var t = 0u; t < p.steps; t++) {
        sum += s[(t * p.batch + b) * p.classes + i];
    }
    return sum;
}

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let b = element_index(grid, lid);
    if b >= p.batch {
        return;
    }
    let at = p.first + b;
    if TRAINING {
        var best = 0u;
        var best_total = total(b, 0u);
        for (var i = 1u; i < p.classes; i++) {
            let x = total(b, i);
            if x > best_total {
                best = i;
                best_total = x;
            }
        }
        records[2u * at] = loss[b];
        records[2u * at + 1u] = select(0.0, 1.0, best == labels[b]);
    } else {
        for (var i = 0u; i < p.classes; i++) {
            records[at * p.classes + i] = total(b, i);
        }
    }
}
