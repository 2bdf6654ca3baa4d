// The loss of eq 6 and the first factor of eq 10. CPU twin: `cpu::neuron::output_error`.
// One invocation per sample b. `s` is the output layer's spike counts `[steps][batch][classes]`;
// the desired count y is `target` for the labelled class and 0 elsewhere, at every step.
//
//   upstream[t][b][i] = (s − y) / B                  (∂L/∂s; the batch mean is part of L)
//   loss[b]           = Σ_t ½ Σ_i (y_i − s_i[t])²     (eq 6 for one sample; the host sums over b)

#include elementwise

struct Params {
    batch: u32,
    steps: u32,
    classes: u32,
    target_count: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> upstream: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let b = element_index(grid, lid);
    if b >= p.batch {
        return;
    }
    let label = labels[b];
    let batch = f32(p.batch);
    var sum = 0.0;
    for (var t = 0u; t < p.steps; t++) {
        let row = (t * p.batch + b) * p.classes;
        for (var i = 0u; i < p.classes; i++) {
            var y = 0.0;
            if i == label {
                y = p.target_count;
            }
            let e = s[row + i] - y;
            sum += 0.5 * e * e;
            upstream[row + i] = e / batch;
        }
    }
    loss[b] = sum;
}
