// Leaky integrate-and-fire with multi-threshold spikes, paper eq 3–5.
// CPU twin: `cpu::neuron::lif_forward`. One invocation per neuron (a (batch, neuron) pair),
// looping over the T steps; activations are `[step][batch][neuron]` = `[steps][m]`.
//
//   v[t] = λ·u[t−1] + I[t],  u[0] = 0                     (eq 3)
//   s[t] = clamp(floor(v[t] / V_th), 0, S_max)            (eq 5, an integer count stored as f32)
//   u[t] = v[t] − V_th·s[t]                               (eq 4, reset by subtraction)

override V_TH: f32;
override S_MAX: u32;
// λ = 1 − 1/τ_m, computed by the host in f32 exactly as the CPU does.
override LAMBDA: f32;

#include elementwise

struct Params {
    // Neurons: batch × layer width.
    m: u32,
    steps: u32,
    // 1: `current` is `[m]`, the same at every step (layer 1's direct-encoded image W·x).
    constant: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> current: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> s: array<f32>;

// Eq 5. WGSL allows division to be 2.5 ULP off; when v is an exact multiple of V_th the count
// is raised to what IEEE division (the CPU twin) gives. Elsewhere the two can only differ where
// v/V_th lies within a few ULP of an integer.
fn spike_count(x: f32) -> f32 {
    var n = floor(x / V_TH);
    if (n + 1.0) * V_TH <= x {
        n += 1.0;
    }
    return clamp(n, 0.0, f32(S_MAX));
}

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let j = element_index(grid, lid);
    if j >= p.m {
        return;
    }
    var u = 0.0;
    for (var t = 0u; t < p.steps; t++) {
        var src = t * p.m + j;
        if p.constant != 0u {
            src = j;
        }
        let k = t * p.m + j;
        let pre = LAMBDA * u + current[src];
        let n = spike_count(pre);
        v[k] = pre;
        s[k] = n;
        u = pre - V_TH * n;
    }
}
