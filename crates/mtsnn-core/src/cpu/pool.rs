//! k×k pooling of spike maps with stride k on the CPU, the twins of `shaders/pool/`: average
//! pooling and its transpose, max pooling and its gradient to the first maximum of each window.
//! Maps are `[map][y][x]` row-major (maps = images·channels); rows and columns past the last
//! whole window are dropped.

use rayon::prelude::*;

use super::elementwise;
use super::simd::Kernel;
use super::{for_each_pair, worth_parallel};

/// Average pooling with a `k×k` window and stride k; rows and columns past the last whole window
/// are dropped. `input` is `[maps][h][w]` (maps = images·channels), `out` `[maps][h/k][w/k]`.
///
/// Each window's sum starts at 0 and adds its values in row-major window order, then is scaled by
/// 1/k², as `shaders/pool/avg_pool_forward.wgsl` does. For k = 2 with output rows of 8 or more (the
/// paper CNNs' first pools) the windows go in blocks of 16 through vector code ([`AvgPool2`]);
/// otherwise window by window, with the window a constant for k = 2 so that the compiler unrolls
/// it. Measured (2-core AVX-512 Xeon, `examples/cpu_conv.rs`, builds alternating 4 rounds,
/// `results/bench/pool-blocks-2026-12-07`): the blocks took the MNIST CNN's 3840 maps of 24×24
/// from 0.60–1.01 to 0.39–0.72 ms and the FashionMNIST CNN's 8192 of 28×28 from 2.2–3.2 to
/// 1.2–1.6 ms, but made 8×8 and 14×14 (rows of 4 and 7 outputs in blocks of 16) slower.
pub fn avg_pool_forward(input: &[f32], out: &mut [f32], maps: usize, h: usize, w: usize, k: usize) {
    let (oh, ow) = (h / k, w / k);
    assert_eq!((input.len(), out.len()), (maps * h * w, maps * oh * ow));
    let scale = 1.0 / (k * k) as f32;
    let parallel = worth_parallel(input.len());
    for_each_pair(out, oh * ow, input, h * w, parallel, |o, i| {
        if k == 2 && ow >= POOL_LANES / 2 {
            elementwise::run(AvgPool2 {
                map: i,
                out: o,
                w,
            })
        } else if k == 2 {
            avg_pool_map(i, o, w, 2, scale)
        } else {
            avg_pool_map(i, o, w, k, scale)
        }
    });
}

/// Outputs per block of [`AvgPool2`]: 16, from 32 values of each of the two input rows.
const POOL_LANES: usize = 16;

/// 2×2 average pooling of one map (`map` in rows of `w`, `out` in rows of w/2) as blocks of
/// [`POOL_LANES`] outputs of a row: each block copies 32 values of its two input rows into arrays
/// of constant length, so that the compiler turns the window sums into vector shuffles and adds.
/// Every output is (((0 + a₀) + a₁) + b₀) + b₁, times ¼: the additions of [`avg_pool_map`] in its
/// order, so the bits are the same on every instruction set (tested).
struct AvgPool2<'a> {
    map: &'a [f32],
    out: &'a mut [f32],
    w: usize,
}

impl Kernel for AvgPool2<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (w, ow) = (self.w, self.w / 2);
        let rows = self.out.len().checked_div(ow).unwrap_or(0);
        for r in 0..rows {
            let (top, bottom) = (2 * r * w, (2 * r + 1) * w);
            for x0 in (0..ow).step_by(POOL_LANES) {
                let n = POOL_LANES.min(ow - x0);
                let a = pairs(self.map, top + 2 * x0, 2 * n);
                let b = pairs(self.map, bottom + 2 * x0, 2 * n);
                let mut o = [0.0f32; POOL_LANES];
                for l in 0..POOL_LANES {
                    o[l] = ((((0.0 + a[2 * l]) + a[2 * l + 1]) + b[2 * l]) + b[2 * l + 1]) * 0.25;
                }
                // A whole block is stored even past the row's end when `out` has room: the
                // outputs it overwrites there come later in this loop and are written again.
                let at = r * ow + x0;
                if at + POOL_LANES <= self.out.len() {
                    self.out[at..at + POOL_LANES].copy_from_slice(&o);
                } else {
                    self.out[at..at + n].copy_from_slice(&o[..n]);
                }
            }
        }
    }
}

/// 2·[`POOL_LANES`] values of `x` from `start`, of which the first `len` are used: a copy of
/// constant length where `x` holds them all (past the row's end included), else `len` values and
/// zeros.
#[inline(always)]
fn pairs(x: &[f32], start: usize, len: usize) -> [f32; 2 * POOL_LANES] {
    let mut block = [0.0f32; 2 * POOL_LANES];
    if start + 2 * POOL_LANES <= x.len() {
        block.copy_from_slice(&x[start..start + 2 * POOL_LANES]);
    } else {
        block[..len].copy_from_slice(&x[start..start + len]);
    }
    block
}

/// [`avg_pool_forward`] of one map `i` (rows of `w`) into `o` (rows of w/k).
#[inline(always)]
fn avg_pool_map(i: &[f32], o: &mut [f32], w: usize, k: usize, scale: f32) {
    let ow = w / k;
    for (orow, irows) in o.chunks_exact_mut(ow).zip(i.chunks_exact(k * w)) {
        for (ox, out) in orow.iter_mut().enumerate() {
            let mut sum = 0.0;
            for irow in irows.chunks_exact(w) {
                for &x in &irow[ox * k..][..k] {
                    sum += x;
                }
            }
            *out = sum * scale;
        }
    }
}

/// The transpose of [`avg_pool_forward`]: each input pixel gets its window's gradient / k².
/// Written window by window along the rows, with no division of each pixel's coordinates by k:
/// 3–10× faster than the per-pixel loop (MNIST CNN, batch 128, T = 2: 18.0 → 4.2 ms after conv1,
/// 6.1 → 0.6 ms after conv2), and 1.4–2.8× faster again with k = 2 a constant (as in the forward
/// pass; 2-core AVX-512 Xeon, `examples/cpu_conv.rs`).
pub fn avg_pool_backward(
    grad_out: &[f32],
    grad_in: &mut [f32],
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) {
    let (oh, ow) = (h / k, w / k);
    assert_eq!(
        (grad_in.len(), grad_out.len()),
        (maps * h * w, maps * oh * ow)
    );
    if grad_out.is_empty() {
        grad_in.fill(0.0);
        return;
    }
    let scale = 1.0 / (k * k) as f32;
    let parallel = worth_parallel(grad_in.len());
    for_each_pair(grad_in, h * w, grad_out, oh * ow, parallel, |gi, go| {
        if k == 2 {
            avg_unpool_map(go, gi, w, 2, scale)
        } else {
            avg_unpool_map(go, gi, w, k, scale)
        }
    });
}

/// [`avg_pool_backward`] of one map: `go` (rows of w/k) spread over `gi` (rows of `w`).
#[inline(always)]
fn avg_unpool_map(go: &[f32], gi: &mut [f32], w: usize, k: usize, scale: f32) {
    let (oh, ow) = (gi.len() / w / k, w / k);
    let (pooled, dropped) = gi.split_at_mut(oh * k * w);
    for (irows, grow) in pooled.chunks_exact_mut(k * w).zip(go.chunks_exact(ow)) {
        for irow in irows.chunks_exact_mut(w) {
            let (windows, rest) = irow.split_at_mut(ow * k);
            for (win, &g) in windows.chunks_exact_mut(k).zip(grow) {
                win.fill(g * scale);
            }
            rest.fill(0.0);
        }
    }
    dropped.fill(0.0);
}

/// The first maximum of the window at (`oy`, `ox`) of one `h×w` map, in row-major window order,
/// as (dy, dx, value): a later value wins only when strictly greater. Spike counts are integers,
/// so ties are common; `shaders/pool/max_pool_backward.wgsl` applies the same rule.
fn window_argmax(map: &[f32], w: usize, k: usize, oy: usize, ox: usize) -> (usize, usize, f32) {
    let mut best = (0, 0, map[oy * k * w + ox * k]);
    for dy in 0..k {
        for dx in 0..k {
            let v = map[(oy * k + dy) * w + ox * k + dx];
            if v > best.2 {
                best = (dy, dx, v);
            }
        }
    }
    best
}

/// k×k max pooling of `maps` maps of `h×w`, stride k; rows and columns past the last whole window
/// are dropped. `input` is `[maps][h][w]`, `out` `[maps][h/k][w/k]`.
pub fn max_pool_forward(input: &[f32], out: &mut [f32], maps: usize, h: usize, w: usize, k: usize) {
    let (oh, ow) = (h / k, w / k);
    assert_eq!((input.len(), out.len()), (maps * h * w, maps * oh * ow));
    let parallel = worth_parallel(input.len());
    for_each_pair(out, oh * ow, input, h * w, parallel, |o, i| {
            for oy in 0..oh {
                for ox in 0..ow {
                    o[oy * ow + ox] = window_argmax(i, w, k, oy, ox).2;
                }
            }
        });
}

/// The gradient of [`max_pool_forward`]: each window's gradient goes to the *first* maximum of
/// its window in `input` (row-major window order), every other pixel gets 0, and so do the
/// dropped rows and columns. `input` is the pool's input, `[maps][h][w]`; `grad_out`
/// `[maps][h/k][w/k]`; `grad_in` `[maps][h][w]`.
pub fn max_pool_backward(
    input: &[f32],
    grad_out: &[f32],
    grad_in: &mut [f32],
    maps: usize,
    h: usize,
    w: usize,
    k: usize,
) {
    let (oh, ow) = (h / k, w / k);
    assert_eq!(
        (input.len(), grad_in.len(), grad_out.len()),
        (maps * h * w, maps * h * w, maps * oh * ow)
    );
    if grad_out.is_empty() {
        grad_in.fill(0.0);
        return;
    }
    let map = |((gi, go), i): ((&mut [f32], &[f32]), &[f32])| {
        gi.fill(0.0);
        for (oy, grow) in go.chunks_exact(ow).enumerate() {
            for (ox, &g) in grow.iter().enumerate() {
                let (dy, dx, _) = window_argmax(i, w, k, oy, ox);
                gi[(oy * k + dy) * w + ox * k + dx] = g;
            }
        }
    };
    if worth_parallel(grad_in.len()) {
        grad_in
            .par_chunks_mut(h * w)
            .zip(grad_out.par_chunks(oh * ow))
            .zip(input.par_chunks(h * w))
            .for_each(map);
    } else {
        grad_in
            .chunks_mut(h * w)
            .zip(grad_out.chunks(oh * ow))
            .zip(input.chunks(h * w))
            .for_each(map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn rand(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.normal() as f32).collect()
    }

    #[test]
    fn avg_pool_forward_and_its_transpose() {
        let (maps, h, w, k) = (2, 5, 4, 2);
        let input: Vec<f32> = (0..maps * h * w).map(|i| i as f32).collect();
        let mut out = vec![0.0; maps * 2 * 2];
        avg_pool_forward(&input, &mut out, maps, h, w, k);
        assert_eq!(&out[..4], &[2.5, 4.5, 10.5, 12.5]);
        // <pool(x), r> = <x, poolᵀ(r)> for any r.
        let r: Vec<f32> = (0..out.len()).map(|i| (i as f32 * 0.7).sin()).collect();
        let mut back = vec![f32::NAN; input.len()];
        avg_pool_backward(&r, &mut back, maps, h, w, k);
        let lhs: f32 = out.iter().zip(&r).map(|(a, b)| a * b).sum();
        let rhs: f32 = input.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-3, "{lhs} vs {rhs}");
        assert_eq!(back[4 * w], 0.0, "the dropped fifth row gets no gradient");
    }

    /// The bits of the per-window definition of average pooling: each window of `maps` `h×w` maps
    /// summed from 0 in row-major order, then scaled (the order `shaders/pool/avg_pool_forward.wgsl`
    /// uses).
    fn window_sums(input: &[f32], maps: usize, h: usize, w: usize, k: usize) -> Vec<u32> {
        let (oh, ow) = (h / k, w / k);
        (0..maps * oh * ow)
            .map(|o| {
                let (m, oy, ox) = (o / (oh * ow), o / ow % oh, o % ow);
                let mut sum = 0.0f32;
                for dy in 0..k {
                    for dx in 0..k {
                        sum += input[(m * h + oy * k + dy) * w + ox * k + dx];
                    }
                }
                (sum * (1.0 / (k * k) as f32)).to_bits()
            })
            .collect()
    }

    fn bits(x: &[f32]) -> Vec<u32> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    /// avg_pool_forward bit for bit against its per-window definition.
    #[test]
    fn avg_pool_forward_matches_the_per_window_definition_exactly() {
        let mut rng = Rng::new(6);
        for (maps, h, w, k) in [(3, 24, 24, 2), (2, 7, 5, 2), (2, 9, 11, 3), (1, 4, 4, 4), (2, 3, 6, 1)] {
            let input = rand(&mut rng, maps * h * w);
            let mut out = vec![f32::NAN; maps * (h / k) * (w / k)];
            avg_pool_forward(&input, &mut out, maps, h, w, k);
            assert_eq!(bits(&out), window_sums(&input, maps, h, w, k), "{maps} maps {h}×{w} k{k}");
        }
    }

    /// The 2×2 lane-block kernel on every instruction set this CPU has, bit for bit against the
    /// per-window sums: rows of one block and of several (a partial last block), odd sizes with a
    /// dropped row and column, one-column outputs, negative zeros (0 + −0 is +0).
    #[test]
    fn avg_pool_2x2_blocks_equal_the_window_sums_on_every_isa() {
        let mut rng = Rng::new(7);
        for (h, w) in [(28, 28), (14, 14), (24, 24), (8, 8), (7, 9), (4, 70), (5, 3), (2, 2)] {
            let mut map = rand(&mut rng, h * w);
            map.iter_mut().step_by(3).for_each(|x| *x = -0.0);
            let want = window_sums(&map, 1, h, w, 2);
            for isa in crate::cpu::simd::Isa::all_supported() {
                let mut out = vec![f32::NAN; (h / 2) * (w / 2)];
                elementwise::run_on(
                    isa,
                    AvgPool2 {
                        map: &map,
                        out: &mut out,
                        w,
                    },
                );
                assert_eq!(bits(&out), want, "{h}×{w} on {isa}");
            }
        }
    }

    /// avg_pool_backward against its per-pixel definition, with rows and columns dropped.
    #[test]
    fn avg_pool_backward_matches_the_per_pixel_definition() {
        let mut rng = Rng::new(5);
        for (maps, h, w, k) in [(3, 7, 5, 2), (2, 9, 11, 3), (1, 4, 4, 4), (2, 3, 6, 1)] {
            let (oh, ow) = (h / k, w / k);
            let go = rand(&mut rng, maps * oh * ow);
            let mut gi = vec![f32::NAN; maps * h * w];
            avg_pool_backward(&go, &mut gi, maps, h, w, k);
            for m in 0..maps {
                for y in 0..h {
                    for x in 0..w {
                        let want = if y / k < oh && x / k < ow {
                            go[(m * oh + y / k) * ow + x / k] / (k * k) as f32
                        } else {
                            0.0
                        };
                        let got = gi[(m * h + y) * w + x];
                        assert!((got - want).abs() <= 1e-6, "{h}×{w} k{k} ({m},{y},{x})");
                    }
                }
            }
        }
    }

    #[test]
    fn max_pool_takes_the_first_maximum_of_each_window() {
        // One 5×5 map, k = 2: four windows, the fifth row and column are dropped.
        #[rustfmt::skip]
        let input = [
            1.0, 1.0,   0.0, 2.0,   9.0,
            0.0, 1.0,   2.0, 2.0,   9.0,

            0.0, 0.0,   3.0, 1.0,   9.0,
            0.0, 0.0,   1.0, 3.0,   9.0,

            9.0, 9.0,   9.0, 9.0,   9.0,
        ];
        let mut out = [0.0; 4];
        max_pool_forward(&input, &mut out, 1, 5, 5, 2);
        assert_eq!(out, [1.0, 2.0, 0.0, 3.0]);
        let mut back = [f32::NAN; 25];
        max_pool_backward(&input, &[10.0, 20.0, 30.0, 40.0], &mut back, 1, 5, 5, 2);
        #[rustfmt::skip]
        let expected = [
            10.0, 0.0,   0.0, 20.0,   0.0,
            0.0,  0.0,   0.0, 0.0,    0.0,

            30.0, 0.0,   40.0, 0.0,   0.0,
            0.0,  0.0,   0.0, 0.0,    0.0,

            0.0,  0.0,   0.0, 0.0,    0.0,
        ];
        assert_eq!(back, expected);
    }

    #[test]
    fn max_pool_with_odd_windows_and_several_maps() {
        // Two 4×3 maps, k = 3: one window each; the fourth row is dropped.
        #[rustfmt::skip]
        let input = [
            0.0, 2.0, 1.0,
            2.0, 0.0, 2.0,
            1.0, 1.0, 1.0,
            7.0, 7.0, 7.0,

            0.0, 0.0, 0.0,
            0.0, 0.0, 0.0,
            0.0, 0.0, 1.0,
            5.0, 5.0, 5.0,
        ];
        let mut out = [0.0; 2];
        max_pool_forward(&input, &mut out, 2, 4, 3, 3);
        assert_eq!(out, [2.0, 1.0]);
        let mut back = [f32::NAN; 24];
        max_pool_backward(&input, &[-1.5, 4.0], &mut back, 2, 4, 3, 3);
        let mut expected = [0.0; 24];
        expected[1] = -1.5;
        expected[12 + 8] = 4.0;
        assert_eq!(back, expected);
        // An all-zero window sends its gradient to its first pixel.
        let zeros = [0.0; 9];
        let mut back = [f32::NAN; 9];
        max_pool_backward(&zeros, &[2.0], &mut back, 1, 3, 3, 3);
        assert_eq!(back, [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
