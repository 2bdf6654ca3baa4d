// C = op(A)·op(B), C `[m][n]` row-major, for hardware GPUs. CPU twin: `cpu::kernels::matmul`;
// the same operation and layouts as matmul.wgsl (op(A) is A `[m][k]` or, with TRANS_A, Aᵀ of an A
// stored `[k][m]`; op(B) is B `[k][n]` or, with TRANS_B, Bᵀ of a B stored `[n][k]`): the GEMMs of
// the paper's forward pass (eq 3) and backward pass (eq 9, eq 13). The host runs it on hardware
// adapters and matmul.wgsl on software ones (`gpu::MatmulPath`, `gpu/tile.rs` says which tile
// each adapter gets and why).
//
// The classic shared-memory GEMM: a workgroup of WG_X × WG_Y invocations computes a BM × BN tile
// of C (BM = 4·RM4·WG_Y rows, BN = 4·CN·WG_X columns). For each slice of TK steps of the inner
// dimension it stages op(A)'s BM × TK and op(B)'s TK × BN blocks in workgroup memory, then every
// invocation accumulates a register block of 4·RM4 rows × 4·CN columns from it: per step, RM4 + CN
// vec4 reads of workgroup memory feed 16·RM4·CN multiply-adds. The tile sizes are override
// constants, so one source serves every configuration; after the host sets them, every loop bound
// and every `if RM4 > 1u` below is a constant for the driver's compiler.
//
// Designs used: TensorFlow.js's WebGPU backend (tfjs-backend-webgpu, matmul_packed_webgpu.ts:
// `makeMatMulPackedVec4Source`, a vec4 register row per invocation read from workgroup tiles of
// vec4) and the register-blocked shared-memory GEMM that CUTLASS and cubecl's matmul also build on.
//
// Memory access:
// - Global loads are coalesced: consecutive invocations load consecutive addresses of whichever
//   operand they stage, along k for an operand stored k-contiguous (A, or Bᵀ), else along m or n.
//   They are scalar: the tensors are bound as array<f32> and need not be 16-byte aligned.
// - Workgroup memory holds vec4s, k-major: a_tile[kk][row/4], b_tile[kk][col/4], each row padded by
//   one vec4 so that stores walking along k fall in different banks. In the inner loop an
//   invocation's B read is the vec4 next to its neighbour's (no conflict), and its A read is shared
//   by the WG_X invocations of its row (a broadcast).
// - C is stored 4 consecutive values per invocation and vec4 column, neighbours side by side.
//
// Bounds: staged values past the end of op(A)'s rows, op(B)'s columns or the inner dimension are
// zeros, so any m, n, k work; results outside C are computed but never stored. The products are
// added in increasing order of p.

#include grid

override TRANS_A: bool;
override TRANS_B: bool;
// The workgroup: WG_X invocations along C's columns, WG_Y along its rows.
override WG_X: u32;
override WG_Y: u32;
// Each invocation's register block: 4·RM4 rows (RM4 = 1 or 2) × 4·CN columns (CN = 1 or 2).
override RM4: u32;
override CN: u32;
// Steps of the inner dimension staged at a time.
override TK: u32;

// The tile's rows and columns in vec4s (BM/4 and BN/4), and the row strides of the staged blocks
// in vec4s, one of padding (the array sizes below spell them out: they must be expressions).
fn bm4() -> u32 {
    return RM4 * WG_Y;
}

fn bn4() -> u32 {
    return CN * WG_X;
}

fn a_stride() -> u32 {
    return bm4() + 1u;
}

fn b_stride() -> u32 {
    return bn4() + 1u;
}

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Tiles along C's columns: ceil(n / BN).
    tiles_n: u32,
}

@group(0) @binding(0) var<uniform> dims: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// a_tile[kk·a_stride + r/4][r%4] = op(A)[m0 + r][k0 + kk];
// b_tile[kk·b_stride + j/4][j%4] = op(B)[k0 + kk][n0 + j]. The host keeps their bytes within the
// adapter's workgroup storage (`GemmTile::workgroup_bytes`).
var<workgroup> a_tile: array<vec4<f32>, TK * (RM4 * WG_Y + 1u)>;
var<workgroup> b_tile: array<vec4<f32>, TK * (CN * WG_X + 1u)>;

// op(A)[i][p], or 0 outside it.
fn load_a(i: u32, p: u32) -> f32 {
    if i >= dims.m || p >= dims.k {
        return 0.0;
    }
    if TRANS_A {
        return a[p * dims.m + i];
    }
    return a[i * dims.k + p];
}

// op(B)[p][j], or 0 outside it.
fn load_b(p: u32, j: u32) -> f32 {
    if p >= dims.k || j >= dims.n {
        return 0.0;
    }
    if TRANS_B {
        return b[j * dims.k + p];
    }
    return b[p * dims.n + j];
}

// Stages steps k0 .. k0 + TK of the tile at rows m0.., columns n0..: `lid` is the invocation's
// index among the `threads` of the workgroup. Element e of a block goes to invocation e % threads;
// e runs along the operand's contiguous side, so each round of loads is coalesced.
fn stage(k0: u32, m0: u32, n0: u32, lid: u32, threads: u32) {
    let bm = 4u * bm4();
    let bn = 4u * bn4();
    for (var e = lid; e < bm * TK; e += threads) {
        // Aᵀ is stored [k][m]: contiguous along the rows of op(A); A along k.
        var r = e / TK;
        var kk = e % TK;
        if TRANS_A {
            r = e % bm;
            kk = e / bm;
        }
        a_tile[kk * a_stride() + r / 4u][r % 4u] = load_a(m0 + r, k0 + kk);
    }
    for (var e = lid; e < bn * TK; e += threads) {
        // B is stored [k][n]: contiguous along the columns of op(B); Bᵀ along k.
        var j = e % bn;
        var kk = e / bn;
        if TRANS_B {
            j = e / TK;
            kk = e % TK;
        }
        b_tile[kk * b_stride() + j / 4u][j % 4u] = load_b(k0 + kk, n0 + j);
    }
}

// Stores the 4 sums of `v` at row `i`, columns j .. j + 3 of C, those inside it.
fn store_c(i: u32, j: u32, v: vec4<f32>) {
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

@compute @workgroup_size(WG_X, WG_Y)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let tile = workgroup_index(grid);
    let tiles_m = (dims.m + 4u * bm4() - 1u) / (4u * bm4());
    if tile >= tiles_m * dims.tiles_n {
        return;
    }
    let m0 = (tile / dims.tiles_n) * 4u * bm4();
    let n0 = (tile % dims.tiles_n) * 4u * bn4();
    let tx = lid % WG_X;
    let ty = lid / WG_X;

    // The register block: rows 4·RM4·ty + 4·H + I (H < RM4, I < 4) and vec4 columns tx + Q·WG_X
    // (Q < CN) of the tile; sHQ_I holds row (H, I), vec4 column Q. Named variables, not an
    // array: they stay in registers on every compiler.
    #for i in 4: var s00_${i} = vec4<f32>();
    #for i in 4: var s10_${i} = vec4<f32>();
    #for i in 4: var s01_${i} = vec4<f32>();
    #for i in 4: var s11_${i} = vec4<f32>();
    let ar = ty * RM4;
    for (var k0 = 0u; k0 < dims.k; k0 += TK) {
        stage(k0, m0, n0, lid, WG_X * WG_Y);
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let a0 = a_tile[kk * a_stride() + ar];
            let b0 = b_tile[kk * b_stride() + tx];
            #for i in 4: s00_${i} += a0[${i}] * b0;
            if CN > 1u {
                let b1 = b_tile[kk * b_stride() + tx + WG_X];
                #for i in 4: s01_${i} += a0[${i}] * b1;
                if RM4 > 1u {
                    let a1 = a_tile[kk * a_stride() + ar + 1u];
                    #for i in 4: s10_${i} += a1[${i}] * b0;
                    #for i in 4: s11_${i} += a1[${i}] * b1;
                }
            } else if RM4 > 1u {
                let a1 = a_tile[kk * a_stride() + ar + 1u];
                #for i in 4: s10_${i} += a1[${i}] * b0;
            }
        }
        workgroupBarrier();
    }

    let i0 = m0 + 4u * ar;
    let j0 = n0 + 4u * tx;
    let j1 = j0 + 4u * WG_X;
    #for i in 4: store_c(i0 + ${i}u, j0, s00_${i});
    if CN > 1u {
        #for i in 4: store_c(i0 + ${i}u, j1, s01_${i});
    }
    if RM4 > 1u {
        #for i in 4: store_c(i0 + 4u + ${i}u, j0, s10_${i});
        if CN > 1u {
            #for i in 4: store_c(i0 + 4u + ${i}u, j1, s11_${i});
        }
    }
}
