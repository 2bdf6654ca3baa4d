// The operands and the result of the plain GEMM kernels (gemm.wgsl, gemm_vec4.wgsl), C = op(A)·op(B)
// with C `[m][n]` row-major: op(A) is A `[m][k]` or, with TRANS_A, Aᵀ of an A stored `[k][m]`;
// op(B) is B `[k][n]` or, with TRANS_B, Bᵀ of a B stored `[n][k]`. The kernel declares the
// overrides TRANS_A and TRANS_B (before lib/gemm_tile.wgsl's), binds A and B at 1 and 2, and
// gives their values by flat index: `a_at(x)` and `b_at(x)`.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Tiles along C's columns: ceil(n / BN).
    tiles_n: u32,
}

@group(0) @binding(0) var<uniform> dims: Params;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// op(A)[i][p], or 0 outside it. A is stored along p, Aᵀ along i.
fn load_a(i: u32, p: u32) -> f32 {
    if i >= dims.m || p >= dims.k {
        return 0.0;
    }
    if TRANS_A {
        return a_at(p * dims.m + i);
    }
    return a_at(i * dims.k + p);
}

fn a_along_k() -> bool {
    return !TRANS_A;
}

// op(B)[p][j], or 0 outside it. B is stored along j, Bᵀ along p.
fn load_b(p: u32, j: u32) -> f32 {
    if p >= dims.k || j >= dims.n {
        return 0.0;
    }
    if TRANS_B {
        return b_at(j * dims.k + p);
    }
    return b_at(p * dims.n + j);
}

fn b_along_n() -> bool {
    return !TRANS_B;
}

// C[i][j..j+4] = v, the values inside C.
fn store_c4(i: u32, j: u32, v: vec4<f32>) {
    if i >= dims.m {
        return;
    }
    let at = i * dims.n + j;
    if j + 3u < dims.n {
        c[at] = v.x;
        c[at + 1u] = v.y;
        c[at + 2u] = v.z;
        c[at + 3u] = v.w;
        return;
    }
    for (var q = 0u; q < 4u; q++) {
        if j + q < dims.n {
            c[at + q] = v[q];
        }
    }
}
