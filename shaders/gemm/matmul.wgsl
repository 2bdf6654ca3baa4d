// C = op(A)·op(B), C `[m][n]` row-major. CPU twin: `cpu::gemm::matmul`.
// op(A) is `[m][k]`: A itself, or with TRANS_A the transpose of an A stored `[k][m]`;
// op(B) is `[k][n]`: B itself, or with TRANS_B the transpose of a B stored `[n][k]`.
// These are the GEMMs of the paper's forward pass (eq 3: I = W s_in over the stacked (t, b) rows)
// and of its backward pass (eq 9: (W^{l+1})ᵀ δ^{l+1}; eq 13: ∂L/∂W = Σ_t G[t]ᵀ s_in[t]).
//
// The register tile (lib/register_tile.wgsl): a workgroup computes TU × TL of C. The lanes run
// along C's columns or, with LANES_ON_ROWS (the host sets it when m > n), along its rows, so that a
// narrow C such as a 10-class output still fills them.
//
// The operands come straight from the storage buffers: no workgroup memory, no barrier. This is
// the kernel of software adapters (lavapipe), where each barrier switches between the coroutines
// that run a workgroup's invocations: staging the operands in workgroup memory ran about 3× slower
// there. Hardware GPUs run gemm.wgsl or gemm_vec4.wgsl instead (`gpu::MatmulPath`). The products
// are added in increasing order of p.

#include register_tile

override TRANS_A: bool;
override TRANS_B: bool;
override LANES_ON_ROWS: bool;

// Steps of p per block of the main loop.
const TK: u32 = 8u;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Tiles along the lane side: ceil(lane-side length / TL).
    tiles_l: u32,
}

@group(0) @binding(0) var<uniform> dims: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// op(A)[i][p] and op(B)[p][j].
fn op_a(i: u32, p: u32) -> f32 {
    if TRANS_A {
        return a[p * dims.m + i];
    }
    return a[i * dims.k + p];
}

fn op_b(p: u32, j: u32) -> f32 {
    if TRANS_B {
        return b[j * dims.k + p];
    }
    return b[p * dims.n + j];
}

// C[u][l] = Σ_p uniform(p, u)·lane(p, l) with the lanes along columns; C[l][u] along rows.
fn lane_operand(p: u32, l: u32) -> f32 {
    if LANES_ON_ROWS {
        return op_a(l, p);
    }
    return op_b(p, l);
}

fn uniform_operand(p: u32, u: u32) -> f32 {
    if LANES_ON_ROWS {
        return op_b(p, u);
    }
    return op_a(u, p);
}

fn store_c(at: u32, value: f32) {
    c[at] = value;
}

@compute @workgroup_size(LANES)
fn main(grid: Grid, @builtin(local_invocation_index) li: u32) {
    let u_len = select(dims.m, dims.n, LANES_ON_ROWS);
    let l_len = select(dims.n, dims.m, LANES_ON_ROWS);
    let tile = tile_at(grid, u_len, dims.tiles_l, TL);
    if !tile.live {
        return;
    }
    let lanes = lanes_of(tile, li, l_len);
    let l = lanes.at;

    #for u in TILE_U: var acc${u} = vec4<f32>();
    // Blocks of TK steps: the loop shape measured on lavapipe (a flat loop over p is untested).
    for (var k0 = 0u; k0 < dims.k; k0 += TK) {
        let steps = min(TK, dims.k - k0);
        for (var kk = 0u; kk < steps; kk++) {
            let p = k0 + kk;
            let lv = vec4<f32>(
                lane_operand(p, l[0]),
                lane_operand(p, l[1]),
                lane_operand(p, l[2]),
                lane_operand(p, l[3]),
            );
            #for u in TILE_U: acc${u} += uniform_operand(p, tile_row(tile, ${u}u)) * lv;
        }
    }

    // C[u][l] at u·n + l, or C[l][u] at l·n + u.
    let strides = select(vec2<u32>(dims.n, 1u), vec2<u32>(1u, dims.n), LANES_ON_ROWS);
    #for u in TILE_U: store_row(tile, lanes, ${u}u, l * strides.y, strides.x, acc${u});
}
