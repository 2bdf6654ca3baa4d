//! Convolution (stride 1, zero padding) and average and max pooling of spike maps on the CPU: the
//! twins of `shaders/conv_*.wgsl`, `shaders/avg_pool_*.wgsl` and `shaders/max_pool_*.wgsl`. Maps are `[image][channel][y][x]`
//! row-major; conv weights `[out_ch][in_ch][ky][kx]`.
//!
//! Convolutions run as im2col + GEMM, one image per task across the rayon threads: the column
//! matrix of an image is `[in_ch·k·k][oh·ow]`, so the forward pass is W `[out_ch][in_ch·k·k]` times
//! it, the weight gradient G_img times its transpose, the input gradient Wᵀ G_img scattered back.
//! Chosen by measurement: `perf` on the FashionMNIST CNN's training (2 cores) puts 30 % of the time
//! in the GEMMs, which run near the machine's ≈ 90–110 GFLOP/s, and 14 % in im2col and col2im; the
//! rest is elementwise (mostly the f2 surrogate, ≈ 30 %: `--surrogate f3` trains 1.4× faster). A
//! direct loop would have to beat the GEMM microkernels, an implicit GEMM saves at most the 14 %.
//!
//! Measured since (`examples/cpu_conv.rs`: the paper CNNs' conv layers at batch 128, T = 2, pooled
//! spike counts as conv2's input; AVX-512 Zen 5, 2 cores, `gemm` with `x86-v4`; best of 9 runs,
//! variants alternated): im2col and col2im copy each output row as one slice between zero margins
//! instead of testing every element (FashionMNIST conv2 forward 117 → 87 ms, medians on a loaded
//! machine; on the MNIST CNN's training `perf` puts im2col + col2im at ≈ 6 % instead of 15 %). Kept
//! one image per GEMM: putting the column matrices of G images side by side (one GEMM of G·oh·ow
//! columns, the gradients gathered to `[out_ch][G·oh·ow]`) was slower at every shape and G = 2…16,
//! e.g. FashionMNIST conv2 forward 56 → 58, 60, 65, 75 ms and weight gradient 59 → 68, 71, 77, 100
//! ms for G = 2, 4, 8, 16 (the column matrices outgrow the L2 cache); per-image tasks already keep
//! both cores busy. Also slower or no better: GEMMs in the transposed orientation (pixels as rows,
//! strided C; the MNIST conv2 weight gradient 4.3 → 7.0 ms, the rest within noise), and im2col in
//! bands of output rows so the column matrix stays in cache (FashionMNIST conv2 forward 53 → 56–99
//! ms for bands of 7…1 rows). Not attempted: a spike-driven path. Pooled spike counts, conv2's
//! input, are ≈ 50 % nonzero, and the spike-driven products measured for the dense layers
//! (`results/bench/sparse-vs-dense.txt`) lose to the GEMM already above ≈ 10 % density.

use std::cell::RefCell;

use rayon::prelude::*;

use super::kernels::{Gemm, gemm_into};

use crate::plan::ConvGeom;

/// The im2col layout of a convolution.
impl ConvGeom {
    /// Rows of the column matrix: in_ch·k·k.
    fn patch(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    fn pixels(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// The output columns `ox` whose input column `ox + kx − pad` lies inside the image.
    fn valid_columns(&self, kx: usize) -> std::ops::Range<usize> {
        let ow = self.out_width();
        let lo = self.padding.saturating_sub(kx).min(ow);
        let hi = (self.width + self.padding).saturating_sub(kx).min(ow);
        lo..hi.max(lo)
    }

    /// The column matrix `[in_ch·k·k][oh·ow]` of one image; zero where the window leaves the
    /// image. Each output row is a zero margin, one slice copied from the input row and another
    /// margin: no per-element bounds tests.
    fn im2col(&self, img: &[f32], cols: &mut [f32]) {
        let (oh, ow, k, p) = (
            self.out_height(),
            self.out_width(),
            self.kernel,
            self.padding,
        );
        let (h, w) = (self.height, self.width);
        for ci in 0..self.in_channels {
            let plane = &img[ci * h * w..][..h * w];
            for ky in 0..k {
                for kx in 0..k {
                    let row = &mut cols[((ci * k + ky) * k + kx) * oh * ow..][..oh * ow];
                    let xs = self.valid_columns(kx);
                    for (oy, out) in row.chunks_exact_mut(ow).enumerate() {
                        let Some(y) = (oy + ky).checked_sub(p).filter(|&y| y < h) else {
                            out.fill(0.0);
                            continue;
                        };
                        let src = &plane[y * w + xs.start + kx - p..][..xs.len()];
                        out[..xs.start].fill(0.0);
                        out[xs.clone()].copy_from_slice(src);
                        out[xs.end..].fill(0.0);
                    }
                }
            }
        }
    }

    /// Adds the column matrix back into an image: the transpose of [`Self::im2col`].
    fn col2im(&self, cols: &[f32], img: &mut [f32]) {
        let (oh, ow, k, p) = (
            self.out_height(),
            self.out_width(),
            self.kernel,
            self.padding,
        );
        let (h, w) = (self.height, self.width);
        img.fill(0.0);
        for ci in 0..self.in_channels {
            let plane = &mut img[ci * h * w..][..h * w];
            for ky in 0..k {
                for kx in 0..k {
                    let row = &cols[((ci * k + ky) * k + kx) * oh * ow..][..oh * ow];
                    let xs = self.valid_columns(kx);
                    for (oy, src) in row.chunks_exact(ow).enumerate() {
                        let Some(y) = (oy + ky).checked_sub(p).filter(|&y| y < h) else {
                            continue;
                        };
                        let dst = &mut plane[y * w + xs.start + kx - p..][..xs.len()];
                        for (d, &v) in dst.iter_mut().zip(&src[xs.clone()]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

thread_local! {
    /// Each thread's column matrix, kept from call to call: `for_each_init` allocated (and zeroed)
    /// one per rayon split, 627 KB each for the FashionMNIST CNN's conv2, which showed as page faults
    /// and `memset` in `perf`. Its users overwrite every value they read.
    static COLUMNS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's column matrix of `len` values (contents unspecified).
fn with_columns<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    COLUMNS.with_borrow_mut(|cols| {
        if cols.len() < len {
            cols.resize(len, 0.0);
        }
        f(&mut cols[..len])
    })
}

/// out\[n\]\[co\]\[oy\]\[ox\] = Σ_{ci,ky,kx} W\[co\]\[ci\]\[ky\]\[kx\] · in\[n\]\[ci\]\[oy+ky−pad\]\[ox+kx−pad\].
pub fn conv_forward(input: &[f32], w: &[f32], out: &mut [f32], images: usize, g: &ConvGeom) {
    assert_eq!(
        (input.len(), out.len()),
        (images * g.in_len(), images * g.out_len())
    );
    assert_eq!(w.len(), g.out_channels * g.patch());
    let gemm = Gemm {
        m: g.out_channels,
        n: g.pixels(),
        k: g.patch(),
        a_t: false,
        b_t: false,
        accumulate: false,
        parallel: false,
    };
    out.par_chunks_mut(g.out_len())
        .zip(input.par_chunks(g.in_len()))
        .for_each(|(out, img)| {
            with_columns(g.patch() * g.pixels(), |cols| {
                g.im2col(img, cols);
                gemm_into(gemm, w, cols, out);
            })
        });
}

/// grad_w\[co\]\[ci\]\[ky\]\[kx\] = Σ_n Σ_{oy,ox} grad_out\[n\]\[co\]\[oy\]\[ox\] · in\[n\]\[ci\]\[oy+ky−pad\]\[ox+kx−pad\].
pub fn conv_weight_grad(
    input: &[f32],
    grad_out: &[f32],
    grad_w: &mut [f32],
    images: usize,
    g: &ConvGeom,
) {
    assert_eq!(
        (input.len(), grad_out.len()),
        (images * g.in_len(), images * g.out_len())
    );
    assert_eq!(grad_w.len(), g.out_channels * g.patch());
    let gemm = Gemm {
        m: g.out_channels,
        n: g.patch(),
        k: g.pixels(),
        a_t: false,
        b_t: true,
        accumulate: true,
        parallel: false,
    };
    // One accumulator per task, summed at the end.
    let per_task = images.div_ceil(rayon::current_num_threads().max(1)).max(1);
    let partials: Vec<Vec<f32>> = input
        .par_chunks(per_task * g.in_len())
        .zip(grad_out.par_chunks(per_task * g.out_len()))
        .map(|(imgs, grads)| {
            let mut acc = vec![0.0f32; grad_w.len()];
            let mut cols = vec![0.0f32; g.patch() * g.pixels()];
            for (img, gr) in imgs
                .chunks_exact(g.in_len())
                .zip(grads.chunks_exact(g.out_len()))
            {
                g.im2col(img, &mut cols);
                gemm_into(gemm, gr, &cols, &mut acc);
            }
            acc
        })
        .collect();
    grad_w.fill(0.0);
    for p in partials {
        grad_w.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
}

/// grad_in\[n\]\[ci\]\[y\]\[x\] = Σ_{co,ky,kx} W\[co\]\[ci\]\[ky\]\[kx\] · grad_out\[n\]\[co\]\[y−ky+pad\]\[x−kx+pad\].
pub fn conv_input_grad(
    grad_out: &[f32],
    w: &[f32],
    grad_in: &mut [f32],
    images: usize,
    g: &ConvGeom,
) {
    assert_eq!(
        (grad_in.len(), grad_out.len()),
        (images * g.in_len(), images * g.out_len())
    );
    assert_eq!(w.len(), g.out_channels * g.patch());
    let gemm = Gemm {
        m: g.patch(),
        n: g.pixels(),
        k: g.out_channels,
        a_t: true,
        b_t: false,
        accumulate: false,
        parallel: false,
    };
    grad_in
        .par_chunks_mut(g.in_len())
        .zip(grad_out.par_chunks(g.out_len()))
        .for_each(|(gin, gout)| {
            with_columns(g.patch() * g.pixels(), |cols| {
                gemm_into(gemm, w, gout, cols);
                g.col2im(cols, gin);
            })
        });
}

/// Average pooling with a `k×k` window and stride k; rows and columns past the last whole window
/// are dropped. `input` is `[maps][h][w]` (maps = images·channels), `out` `[maps][h/k][w/k]`.
pub fn avg_pool_forward(input: &[f32], out: &mut [f32], maps: usize, h: usize, w: usize, k: usize) {
    let (oh, ow) = (h / k, w / k);
    assert_eq!((input.len(), out.len()), (maps * h * w, maps * oh * ow));
    let scale = 1.0 / (k * k) as f32;
    out.par_chunks_mut(oh * ow)
        .zip(input.par_chunks(h * w))
        .for_each(|(o, i)| {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = 0.0;
                    for dy in 0..k {
                        for dx in 0..k {
                            sum += i[(oy * k + dy) * w + ox * k + dx];
                        }
                    }
                    o[oy * ow + ox] = sum * scale;
                }
            }
        });
}

/// The transpose of [`avg_pool_forward`]: each input pixel gets its window's gradient / k².
/// Written window by window along the rows, with no division of each pixel's coordinates by k:
/// 3–10× faster than the per-pixel loop (MNIST CNN, batch 128, T = 2: 18.0 → 4.2 ms after conv1,
/// 6.1 → 0.6 ms after conv2). The forward passes had no division and stay per output value: a
/// row-wise rewrite was no faster at 24×24 and 25 % slower at 8×8 (one thread).
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
    grad_in
        .par_chunks_mut(h * w)
        .zip(grad_out.par_chunks(oh * ow))
        .for_each(|(gi, go)| {
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
        });
}

/// The first maximum of the window at (`oy`, `ox`) of one `h×w` map, in row-major window order,
/// as (dy, dx, value): a later value wins only when strictly greater. Spike counts are integers,
/// so ties are common; `shaders/max_pool_backward.wgsl` applies the same rule.
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
    out.par_chunks_mut(oh * ow)
        .zip(input.par_chunks(h * w))
        .for_each(|(o, i)| {
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
    grad_in
        .par_chunks_mut(h * w)
        .zip(grad_out.par_chunks(oh * ow))
        .zip(input.par_chunks(h * w))
        .for_each(|((gi, go), i)| {
            gi.fill(0.0);
            for (oy, grow) in go.chunks_exact(ow).enumerate() {
                for (ox, &g) in grow.iter().enumerate() {
                    let (dy, dx, _) = window_argmax(i, w, k, oy, ox);
                    gi[(oy * k + dy) * w + ox * k + dx] = g;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn rand(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.normal() as f32).collect()
    }

    /// The defining sum, in f64.
    fn naive_conv(input: &[f32], w: &[f32], n: usize, g: &ConvGeom) -> Vec<f64> {
        let (oh, ow, k, p) = (g.out_height(), g.out_width(), g.kernel, g.padding as isize);
        let mut out = vec![0.0; n * g.out_len()];
        for img in 0..n {
            for co in 0..g.out_channels {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = 0.0f64;
                        for ci in 0..g.in_channels {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let (y, x) = (
                                        oy as isize + ky as isize - p,
                                        ox as isize + kx as isize - p,
                                    );
                                    if y >= 0
                                        && x >= 0
                                        && (y as usize) < g.height
                                        && (x as usize) < g.width
                                    {
                                        let i = input[img * g.in_len()
                                            + (ci * g.height + y as usize) * g.width
                                            + x as usize];
                                        s += w[((co * g.in_channels + ci) * k + ky) * k + kx]
                                            as f64
                                            * i as f64;
                                    }
                                }
                            }
                        }
                        out[img * g.out_len() + (co * oh + oy) * ow + ox] = s;
                    }
                }
            }
        }
        out
    }

    fn geoms() -> Vec<ConvGeom> {
        [
            (1, 3, 3, 1, 8, 8),
            (3, 5, 5, 2, 7, 9),
            (2, 4, 3, 0, 6, 5),
            (5, 2, 5, 0, 9, 11),
            // Padding wider than the kernel: whole output rows and columns see only zeros.
            (2, 3, 3, 4, 4, 5),
        ]
        .into_iter()
        .map(
            |(in_channels, out_channels, kernel, padding, height, width)| ConvGeom {
                in_channels,
                out_channels,
                kernel,
                padding,
                height,
                width,
            },
        )
        .collect()
    }

    #[test]
    fn conv_forward_matches_the_defining_sum() {
        let mut rng = Rng::new(3);
        for g in geoms() {
            let n = 3;
            let input = rand(&mut rng, n * g.in_len());
            let w = rand(&mut rng, g.out_channels * g.patch());
            let mut out = vec![f32::NAN; n * g.out_len()];
            conv_forward(&input, &w, &mut out, n, &g);
            for (a, b) in out.iter().zip(naive_conv(&input, &w, n, &g)) {
                assert!(
                    (*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "{g:?}: {a} vs {b}"
                );
            }
        }
    }

    /// Finite differences of L = Σ conv(in, W) ∘ R against both gradients (the conv is linear, so
    /// central differences are exact up to rounding).
    #[test]
    fn conv_gradients_match_finite_differences() {
        let mut rng = Rng::new(4);
        for g in geoms() {
            let n = 2;
            let input = rand(&mut rng, n * g.in_len());
            let w = rand(&mut rng, g.out_channels * g.patch());
            let r = rand(&mut rng, n * g.out_len());
            let loss = |input: &[f32], w: &[f32]| -> f64 {
                naive_conv(input, w, n, &g)
                    .iter()
                    .zip(&r)
                    .map(|(a, b)| a * *b as f64)
                    .sum()
            };
            let mut gw = vec![f32::NAN; w.len()];
            conv_weight_grad(&input, &r, &mut gw, n, &g);
            let mut gi = vec![f32::NAN; input.len()];
            conv_input_grad(&r, &w, &mut gi, n, &g);
            let h = 0.01f32;
            for i in (0..w.len()).step_by(3) {
                let (mut wp, mut wm) = (w.clone(), w.clone());
                wp[i] += h;
                wm[i] -= h;
                let fd = (loss(&input, &wp) - loss(&input, &wm)) / (2.0 * h as f64);
                assert!(
                    (fd - gw[i] as f64).abs() < 1e-3 * (1.0 + fd.abs()),
                    "{g:?} dW[{i}]: {fd} vs {}",
                    gw[i]
                );
            }
            for i in (0..input.len()).step_by(5) {
                let (mut ip, mut im) = (input.clone(), input.clone());
                ip[i] += h;
                im[i] -= h;
                let fd = (loss(&ip, &w) - loss(&im, &w)) / (2.0 * h as f64);
                assert!(
                    (fd - gi[i] as f64).abs() < 1e-3 * (1.0 + fd.abs()),
                    "{g:?} dIn[{i}]: {fd} vs {}",
                    gi[i]
                );
            }
        }
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
