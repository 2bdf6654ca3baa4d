// One Adam update (Kingma & Ba; the paper's optimiser, Table I). CPU twin: `cpu::adam::adam_update`.
//   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − η·(m / c₁) / (sqrt(v / c₂) + ε)
// with the bias corrections c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ computed by the host (`AdamStep::corrections`).

#include elementwise

struct Params {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    c1: f32,
    c2: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let i = element_index(grid, lid);
    if i >= p.n {
        return;
    }
    let g = grad[i];
    let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = m1;
    v[i] = v1;
    w[i] = w[i] - p.lr * (m1 / p.c1) / (sqrt(v1 / p.c2) + p.eps);
}
