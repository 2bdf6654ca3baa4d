// Staging of the tile's A block (lib/gemm_tile.wgsl's a_tile) by 16-byte loads, for an A stored
// along k (`a_along_k()`) whose rows are whole vec4s: gemm_vec4.wgsl's A and conv_forward_tiled.wgsl's
// weights. The kernel supplies `load_a4(i, p)`: A[i][p .. p + 4] for p a multiple of 4, zeros
// outside A (with k a multiple of 4, as are TK and the tile's rows, a vec4 is all inside A or all
// outside). The block receives the values `stage_a_scalar` would stage.

// A[m0 + r][k0 + 4·q .. + 4] is one vec4 and one component of four slots; one per invocation per
// round, consecutive invocations consecutive vec4s of a row (coalesced).
fn stage_a_vec4_along_k(k0: u32, m0: u32, lid: u32, threads: u32) {
    let q4 = TK / 4u;
    for (var e = lid; e < 4u * bm4() * q4; e += threads) {
        let r = e / q4;
        let kk = 4u * (e % q4);
        let v = load_a4(m0 + r, k0 + kk);
        #for q in 4: a_tile[(kk + ${q}u) * a_stride() + r / 4u][r % 4u] = v[${q}];
    }
}
