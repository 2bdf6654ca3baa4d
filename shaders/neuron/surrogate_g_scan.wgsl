// The backward pass through one layer of neurons (eq 9–13 with the surrogates of eq 14–16).
// CPU twin: `cpu::neuron::surrogate_g_scan`; the surrogate's twin is `SurrogateParams::eval`.
// One invocation per neuron, scanning the T steps backwards from G[T+1] = 0.
//
// `upstream` is ∂L/∂s per step: (s − y)/B for the output layer (eq 10), what the layer above
// passed down for a hidden one. With f′[t] = f(v[t]) and δ[t] = upstream[t] ⊙ f′[t] (eq 9, 10):
//   paper mode:  G[t] = (δ[t] + λ G[t+1]) / (1 + V_th f′[t])   (eq 11–13's trace unrolled
//                backwards in time, so that ∂L/∂W = Σ_t G[t]ᵀ s_in[t] is one GEMM)
//   BPTT:        G[t] = δ[t] + λ (1 − V_th f′[t]) G[t+1]       (∂L/∂v[t] through the unrolled graph)
//   DETACH_RESET drops the reset path's factor in either mode: G[t] = δ[t] + λ G[t+1].

// 1 = f1 (eq 14), 2 = f2 (eq 15), 3 = f3 (eq 16): `Surrogate::index`.
override SURROGATE: u32;
override V_TH: f32;
override S_MAX: u32;
override ALPHA_H: f32;
// 1/α_W, and the window radius r = sqrt(α_W·GAUSS_CUTOFF): f1 and f2 sum only the thresholds
// i·V_th within r of v. Both computed by the host in f32 exactly as `SurrogateParams::eval` does.
override INV_ALPHA_W: f32;
override RADIUS: f32;
override LAMBDA: f32;
// `GradMode::Bptt` (else the paper's mode) and `Hyper::detach_reset`.
override BPTT: bool;
override DETACH_RESET: bool;

#include steps

@group(0) @binding(1) var<storage, read> upstream: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> delta: array<f32>;
@group(0) @binding(4) var<storage, read_write> g: array<f32>;

// Eq 16: a trapezoid rising on [0, V_th), α_H up to S_max·V_th, falling to 0 at (S_max+1)·V_th.
fn f3(x: f32) -> f32 {
    let r = x / V_TH;
    let s_max = f32(S_MAX);
    if x < 0.0 || r >= s_max + 1.0 {
        return 0.0;
    }
    if r < 1.0 {
        return ALPHA_H * r;
    }
    if r < s_max {
        return ALPHA_H;
    }
    // (S_max+1)·V_th − v is exact near the edge; 1 − v/V_th would cancel the error of a division
    // (WGSL allows 2.5 ulp: on NVIDIA hardware that made G differ from the CPU by 1.5e-4 relative).
    return ALPHA_H * ((s_max + 1.0) * V_TH - x) / V_TH;
}

// Eq 14 (f1: Σ i·α_H·exp(−(v − i·V_th)² / (α_W / i))) and eq 15 (f2: Σ α_H·exp(−(v − i·V_th)² / α_W))
// over the thresholds i in the window lo..=hi, clamped to 1..=S_max.
fn gaussian_sum(x: f32) -> f32 {
    let s_max = f32(S_MAX);
    let lo = u32(clamp(ceil((x - RADIUS) / V_TH), 1.0, s_max + 1.0));
    let hi = u32(clamp(floor((x + RADIUS) / V_TH), 0.0, s_max));
    var sum = 0.0;
    for (var i = lo; i <= hi; i++) {
        let fi = f32(i);
        let d = x - fi * V_TH;
        if SURROGATE == 1u {
            sum += fi * ALPHA_H * exp(-d * d * fi * INV_ALPHA_W);
        } else {
            sum += ALPHA_H * exp(-d * d * INV_ALPHA_W);
        }
    }
    return sum;
}

fn surrogate(x: f32) -> f32 {
    if SURROGATE == 3u {
        return f3(x);
    }
    return gaussian_sum(x);
}

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let j = element_index(grid, lid);
    if j >= p.m {
        return;
    }
    var next = 0.0;
    for (var t = p.steps; t > 0u; t--) {
        let k = (t - 1u) * p.m + j;
        let f = surrogate(v[k]);
        let d = upstream[k] * f;
        var g_now: f32;
        if DETACH_RESET {
            g_now = d + LAMBDA * next;
        } else if BPTT {
            g_now = d + LAMBDA * (1.0 - V_TH * f) * next;
        } else {
            g_now = (d + LAMBDA * next) / (1.0 + V_TH * f);
        }
        delta[k] = d;
        g[k] = g_now;
        next = g_now;
    }
}
