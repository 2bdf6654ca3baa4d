// Σ_t x[t] of a `[steps][m]` buffer into `[m]`: layer 1's ∂L/∂W = (Σ_t G[t])ᵀ x (eq 13 with the
// same input at every step). CPU twin: `cpu::neuron::sum_steps`; the same order of additions,
// so the result is bit-identical.

#include steps

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let j = element_index(grid, lid);
    if j >= p.m {
        return;
    }
    var acc = x[j];
    for (var t = 1u; t < p.steps; t++) {
        acc += x[t * p.m + j];
    }
    out[j] = acc;
}
