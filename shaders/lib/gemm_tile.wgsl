// The workgroup-memory tile of the GEMM kernels for hardware GPUs: gemm.wgsl, gemm_vec4.wgsl and
// the implicit GEMMs conv_forward_tiled.wgsl and conv_input_grad_tiled.wgsl, which compute
// C[i][j] = Σ_p A[i][p]·B[p][j] with C m × n and inner dimension k. The host picks the tile per
// adapter and GEMM (`gpu::MatmulPath`, gpu/gemm.rs); software adapters run the register-tile
// kernels instead (lib/register_tile.wgsl).
//
// The classic shared-memory GEMM: a workgroup of WG_X × WG_Y invocations computes a BM × BN tile
// of C (BM = 4·RM4·WG_Y rows, BN = 4·CN·WG_X columns). For each slice of TK steps of the inner
// dimension it stages A's BM × TK and B's TK × BN blocks in workgroup memory, then every
// invocation accumulates a register block of 4·RM4 rows × 4·CN columns from it: per step, RM4 + CN
// vec4 reads of workgroup memory feed 16·RM4·CN multiply-adds. The tile sizes are override
// constants, so one source serves every configuration; once the host sets them, every loop bound
// and every `if RM4 > 1u` below is a constant for the driver's compiler.
//
// Designs used: TensorFlow.js's WebGPU backend (tfjs-backend-webgpu, matmul_packed_webgpu.ts:
// `makeMatMulPackedVec4Source`, a vec4 register row per invocation read from workgroup tiles of
// vec4; conv2d_mm_webgpu.ts: convolutions as implicit GEMMs on the same tiles) and the
// register-blocked shared-memory GEMM that CUTLASS and cubecl's matmul also build on.
//
// The kernel supplies the operands and the store, which do their own bounds checks:
// - `load_a(i, p)` and `load_b(p, j)`: A[i][p] and B[p][j], 0 outside the matrices (any m, n, k
//   then work: the padding adds zeros);
// - `a_along_k()` and `b_along_n()`: whether neighbouring p (for A) or neighbouring j (for B)
//   are neighbours in memory; staging walks along them, so that consecutive invocations load
//   consecutive addresses (coalesced);
// - `stage(k0, m0, n0, lid, threads)`: the staging of both blocks (below). `stage_a_scalar` and
//   `stage_b_scalar` stage them one f32 per load through `load_a` and `load_b`; gemm_vec4.wgsl
//   stages an operand whose rows allow it by 16-byte loads instead;
// - `store_c4(i, j, v)`: C[i][j..j+4] = v, those inside C.
//
// Workgroup memory holds vec4s, k-major: a_tile[kk][row/4], b_tile[kk][col/4], each row padded by
// one vec4 so that stores walking along k fall in different banks. In the inner loop an
// invocation's B read is the vec4 next to its neighbour's (no conflict), and its A read is shared
// by the WG_X invocations of its row (a broadcast). The products are added in increasing p.
#include grid

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

// a_tile[kk·a_stride + r/4][r%4] = A[m0 + r][k0 + kk];
// b_tile[kk·b_stride + j/4][j%4] = B[k0 + kk][n0 + j]. The host keeps their bytes within the
// adapter's workgroup storage (`GemmTile::workgroup_bytes`).
var<workgroup> a_tile: array<vec4<f32>, TK * (RM4 * WG_Y + 1u)>;
var<workgroup> b_tile: array<vec4<f32>, TK * (CN * WG_X + 1u)>;

// Stages steps k0 .. k0 + TK of A's block at rows m0.. by scalar loads: `lid` is the invocation's
// index among the `threads` of the workgroup. Element e of the block goes to invocation
// e % threads; e runs along the operand's contiguous side, so each round of loads is coalesced.
fn stage_a_scalar(k0: u32, m0: u32, lid: u32, threads: u32) {
    let bm = 4u * bm4();
    for (var e = lid; e < bm * TK; e += threads) {
        var r = e / TK;
        var kk = e % TK;
        if !a_along_k() {
            r = e % bm;
            kk = e / bm;
        }
        a_tile[kk * a_stride() + r / 4u][r % 4u] = load_a(m0 + r, k0 + kk);
    }
}

// The same for B's block at columns n0...
fn stage_b_scalar(k0: u32, n0: u32, lid: u32, threads: u32) {
    let bn = 4u * bn4();
    for (var e = lid; e < bn * TK; e += threads) {
        var j = e % bn;
        var kk = e / bn;
        if !b_along_n() {
            j = e / TK;
            kk = e % TK;
        }
        b_tile[kk * b_stride() + j / 4u][j % 4u] = load_b(k0 + kk, n0 + j);
    }
}

// The workgroup's tile of C (m × n, inner dimension k, `tiles_n` tiles along n): tiles run along
// n first; workgroups past the last tile return. Call from `main` in uniform control flow, with
// uniform m, n, k and tiles_n (it has barriers).
fn gemm_tile(grid: Grid, lid: u32, m: u32, k: u32, tiles_n: u32) {
    let tile = workgroup_index(grid);
    let tiles_m = (m + 4u * bm4() - 1u) / (4u * bm4());
    if tile >= tiles_m * tiles_n {
        return;
    }
    let m0 = (tile / tiles_n) * 4u * bm4();
    let n0 = (tile % tiles_n) * 4u * bn4();
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
    for (var k0 = 0u; k0 < k; k0 += TK) {
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
    #for i in 4: store_c4(i0 + ${i}u, j0, s00_${i});
    if CN > 1u {
        #for i in 4: store_c4(i0 + ${i}u, j1, s01_${i});
    }
    if RM4 > 1u {
        #for i in 4: store_c4(i0 + 4u + ${i}u, j0, s10_${i});
        if CN > 1u {
            #for i in 4: store_c4(i0 + 4u + ${i}u, j1, s11_${i});
        }
    }
}
