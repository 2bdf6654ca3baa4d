//! Convolution (stride 1, zero padding) of spike maps on the CPU, the twins of `shaders/conv/`:
//! eq 3's I = W ∗ s_in ([`conv_forward`]), eq 9 through a conv layer ([`conv_input_grad`]) and
//! eq 13's weight gradient ([`conv_weight_grad`]). Maps are `[image][channel][y][x]` row-major;
//! weights `[out_ch][in_ch][ky][kx]`.
//!
//! Each runs as im2col + GEMM, one image per task across the rayon threads: the column matrix of
//! an image is `[in_ch·k·k][oh·ow]`, so the forward pass is W `[out_ch][in_ch·k·k]` times it, the
//! weight gradient G_img times its transpose, the input gradient Wᵀ G_img scattered back (col2im).
//! im2col goes through a zero-bordered copy of each channel, so that each output row is one plain
//! slice copy; col2im adds each output row as one slice between margins. Why this layout and not
//! the alternatives measured: `docs/performance.md`.

use std::cell::RefCell;

use rayon::prelude::*;

use super::{for_each_pair, with_scratch, worth_parallel_product};

use super::gemm::{Gemm, gemm_into};

use crate::plan::ConvGeom;

/// The im2col layout of a convolution.
impl ConvGeom {
    /// Rows of the column matrix: in_ch·k·k.
    pub(crate) fn patch(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    /// Columns of the column matrix: the output pixels oh·ow.
    pub(crate) fn pixels(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// [`conv_forward`]'s product for one image: W `[out_ch][patch]` times its columns.
    pub(crate) fn forward_gemm(&self) -> Gemm {
        Gemm {
            m: self.out_channels,
            n: self.pixels(),
            k: self.patch(),
            a_t: false,
            b_t: false,
            accumulate: false,
            parallel: false,
        }
    }

    /// [`conv_weight_grad`]'s product for one image, added up: G_img times its columns' transpose.
    pub(crate) fn weight_grad_gemm(&self) -> Gemm {
        Gemm {
            m: self.out_channels,
            n: self.patch(),
            k: self.pixels(),
            a_t: false,
            b_t: true,
            accumulate: true,
            parallel: false,
        }
    }

    /// [`conv_input_grad`]'s product for one image: Wᵀ G_img, before col2im.
    pub(crate) fn input_grad_gemm(&self) -> Gemm {
        Gemm {
            m: self.patch(),
            n: self.pixels(),
            k: self.out_channels,
            a_t: true,
            b_t: false,
            accumulate: false,
            parallel: false,
        }
    }

    /// The output columns `ox` whose input column `ox + kx − pad` lies inside the image.
    fn valid_columns(&self, kx: usize) -> std::ops::Range<usize> {
        let ow = self.out_width();
        let lo = self.padding.saturating_sub(kx).min(ow);
        let hi = (self.width + self.padding).saturating_sub(kx).min(ow);
        lo..hi.max(lo)
    }

    /// The column matrix `[in_ch·k·k][oh·ow]` of one image; zero where the window leaves the
    /// image. Each channel is first copied into a plane with a zero border of `padding` on every
    /// side (this thread's [`PADDED`]), so that every row of the column matrix is `oh` plain copies
    /// of `ow` values from it: no margins and no bounds tests per row.
    fn im2col(&self, img: &[f32], cols: &mut [f32]) {
        let (oh, ow, k, p) = (
            self.out_height(),
            self.out_width(),
            self.kernel,
            self.padding,
        );
        let (h, w) = (self.height, self.width);
        let pw = w + 2 * p;
        with_scratch(&PADDED, (h + 2 * p) * pw, |plane| {
            plane.fill(0.0);
            for ci in 0..self.in_channels {
                let src = &img[ci * h * w..][..h * w];
                for (y, row) in src.chunks_exact(w).enumerate() {
                    plane[(y + p) * pw + p..][..w].copy_from_slice(row);
                }
                for ky in 0..k {
                    for kx in 0..k {
                        let row = &mut cols[((ci * k + ky) * k + kx) * oh * ow..][..oh * ow];
                        for (oy, out) in row.chunks_exact_mut(ow).enumerate() {
                            out.copy_from_slice(&plane[(oy + ky) * pw + kx..][..ow]);
                        }
                    }
                }
            }
        })
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

    /// Each thread's zero-bordered input plane of [`ConvGeom::im2col`], kept from call to call.
    static PADDED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's column matrix of `len` values (contents unspecified).
pub(crate) fn with_columns<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_scratch(&COLUMNS, len, f)
}

/// out\[n\]\[co\]\[oy\]\[ox\] = Σ_{ci,ky,kx} W\[co\]\[ci\]\[ky\]\[kx\] · in\[n\]\[ci\]\[oy+ky−pad\]\[ox+kx−pad\].
pub fn conv_forward(input: &[f32], w: &[f32], out: &mut [f32], images: usize, g: &ConvGeom) {
    assert_eq!(
        (input.len(), out.len()),
        (images * g.in_len(), images * g.out_len())
    );
    assert_eq!(w.len(), g.out_channels * g.patch());
    let gemm = g.forward_gemm();
    // One image per task, when there are several and enough multiply-adds to wake the pool for.
    let parallel = images > 1 && worth_parallel_product(out.len() * g.patch());
    for_each_pair(out, g.out_len(), input, g.in_len(), parallel, |out, img| {
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
    let gemm = g.weight_grad_gemm();
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
    let gemm = g.input_grad_gemm();
    let parallel = images > 1 && worth_parallel_product(grad_out.len() * g.patch());
    for_each_pair(grad_in, g.in_len(), grad_out, g.out_len(), parallel, |gin, gout| {
        with_columns(g.patch() * g.pixels(), |cols| {
            gemm_into(gemm, w, gout, cols);
            g.col2im(cols, gin);
        })
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

    /// im2col copies each window's values (zero outside the image) and col2im adds each pixel's
    /// terms to 0 in (in-channel, ky, kx) order: both equal these definitions bit for bit.
    #[test]
    fn im2col_and_col2im_equal_their_definitions_bit_for_bit() {
        let mut rng = Rng::new(5);
        for g in geoms() {
            let (oh, ow, k, p) = (g.out_height(), g.out_width(), g.kernel, g.padding as isize);
            let pixel = |ci: usize, ky: usize, kx: usize, oy: usize, ox: usize| {
                let (y, x) = (oy as isize + ky as isize - p, ox as isize + kx as isize - p);
                let inside = y >= 0 && x >= 0 && (y as usize) < g.height && (x as usize) < g.width;
                inside.then(|| (ci * g.height + y as usize) * g.width + x as usize)
            };
            let img = rand(&mut rng, g.in_len());
            let cols_in = rand(&mut rng, g.patch() * g.pixels());
            let (mut cols, mut back) = (vec![f32::NAN; cols_in.len()], vec![f32::NAN; img.len()]);
            g.im2col(&img, &mut cols);
            g.col2im(&cols_in, &mut back);
            let mut want_back = vec![0.0f32; img.len()];
            for ci in 0..g.in_channels {
                for ky in 0..k {
                    for kx in 0..k {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let c = (((ci * k + ky) * k + kx) * oh + oy) * ow + ox;
                                let want = pixel(ci, ky, kx, oy, ox).map_or(0.0, |i| img[i]);
                                assert_eq!(cols[c].to_bits(), want.to_bits(), "{g:?} im2col");
                                if let Some(i) = pixel(ci, ky, kx, oy, ox) {
                                    want_back[i] += cols_in[c];
                                }
                            }
                        }
                    }
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back), bits(&want_back), "{g:?} col2im");
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
}
