//! Spike-driven products for dense layers whose input is a spike matrix: hidden layers of trained
//! networks are mostly silent (e.g. 75 % of `784-400-400-10`'s first hidden layer on FashionMNIST),
//! and a zero count contributes nothing to I = W s_in (eq 3) nor to ∂L/∂W = Σ_t G[t]ᵀ s_in[t].
//!
//! - forward: I[r][:] = Σ_{i: s[r][i] ≠ 0} s[r][i] · Wᵀ[i][:], one row per task, as scaled row
//!   additions of Wᵀ (W transposed once per batch);
//! - weight gradient: (∂L/∂W)ᵀ[i][:] = Σ_{r: s[r][i] ≠ 0} s[r][i] · G[r][:], each thread owning a
//!   range of i, then transposed into ∂L/∂W's `[out][in]` layout.
//!
//! Both do density × the dense GEMM's multiply-adds, at a lower rate than the GEMM's microkernels
//! (streaming rows of Wᵀ or G instead of register tiles), so they pay only below a density: the
//! CPU backend measures each batch's density and compares it with [`SPARSE_BELOW`]. The sums run in
//! a fixed order (i ascending, r ascending), so results do not depend on the thread count.

use rayon::prelude::*;

use super::elementwise;
use super::simd::Kernel;

/// Spike matrices with a smaller fraction of nonzero counts take the spike-driven path. Measured
/// with `cargo run --release -p mtsnn-core --example cpu_sparse` (see its output in the module
/// docs of the example): on `784-400-400-10`'s middle layer the two paths break even near 30 %.
pub const SPARSE_BELOW: f64 = 0.25;

/// The fraction of nonzero values.
pub fn density(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 1.0;
    }
    let nonzero: usize = x
        .par_chunks(1 << 14)
        .map(|c| c.iter().filter(|&&v| v != 0.0).count())
        .sum();
    nonzero as f64 / x.len() as f64
}

/// `t` = `a` transposed: `a` is `[rows][cols]`, `t` `[cols][rows]`.
pub fn transpose(a: &[f32], rows: usize, cols: usize, t: &mut [f32]) {
    assert_eq!((a.len(), t.len()), (rows * cols, rows * cols));
    const B: usize = 32;
    t.par_chunks_mut(B * rows).enumerate().for_each(|(cb, tb)| {
        let c0 = cb * B;
        let width = tb.len() / rows;
        for r0 in (0..rows).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in 0..width {
                    tb[c * rows + r] = a[r * cols + c0 + c];
                }
            }
        }
    });
}

/// out += v · row, for the rows the spike-driven products add up.
struct AddScaled<'a> {
    v: f32,
    row: &'a [f32],
    out: &'a mut [f32],
}

impl Kernel for AddScaled<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let v = self.v;
        for (o, r) in self.out.iter_mut().zip(self.row) {
            *o += v * r;
        }
    }
}

/// Every nonzero s[r][i] of some rows: c[r][:] = Σ_i s[r][i]·wt[i][:].
struct SpikeRows<'a> {
    s: &'a [f32],
    wt: &'a [f32],
    c: &'a mut [f32],
    k: usize,
    n: usize,
}

impl Kernel for SpikeRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        for (s, c) in self
            .s
            .chunks_exact(self.k)
            .zip(self.c.chunks_exact_mut(self.n))
        {
            c.fill(0.0);
            for (i, &v) in s.iter().enumerate() {
                if v != 0.0 {
                    AddScaled {
                        v,
                        row: &self.wt[i * self.n..(i + 1) * self.n],
                        out: c,
                    }
                    .run();
                }
            }
        }
    }
}

/// Columns `i0..i0 + gt.len()/n` of the spike matrix: gt[i][:] = Σ_r s[r][i]·g[r][:].
struct SpikeColumns<'a> {
    s: &'a [f32],
    g: &'a [f32],
    gt: &'a mut [f32],
    i0: usize,
    k: usize,
    n: usize,
}

impl Kernel for SpikeColumns<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let width = self.gt.len() / self.n;
        self.gt.fill(0.0);
        for (s, g) in self.s.chunks_exact(self.k).zip(self.g.chunks_exact(self.n)) {
            for (di, &v) in s[self.i0..self.i0 + width].iter().enumerate() {
                if v != 0.0 {
                    AddScaled {
                        v,
                        row: g,
                        out: &mut self.gt[di * self.n..(di + 1) * self.n],
                    }
                    .run();
                }
            }
        }
    }
}

/// c = s·Wᵀ for a spike matrix `s` `[rows][k]` and W given transposed, `wt` `[k][n]`; c `[rows][n]`.
pub fn spikes_times_weights(s: &[f32], wt: &[f32], c: &mut [f32], rows: usize, k: usize, n: usize) {
    assert_eq!((s.len(), wt.len(), c.len()), (rows * k, k * n, rows * n));
    const ROWS_PER_TASK: usize = 8;
    c.par_chunks_mut(ROWS_PER_TASK * n)
        .zip(s.par_chunks(ROWS_PER_TASK * k))
        .for_each(|(c, s)| elementwise::run(SpikeRows { s, wt, c, k, n }));
}

/// grad = gᵀ·s, `[n][k]`, for g `[rows][n]` and a spike matrix s `[rows][k]`; `gt` is scratch of
/// grad's size.
pub fn weight_grad(
    g: &[f32],
    s: &[f32],
    grad: &mut [f32],
    gt: &mut [f32],
    rows: usize,
    k: usize,
    n: usize,
) {
    assert_eq!((g.len(), s.len()), (rows * n, rows * k));
    assert_eq!((grad.len(), gt.len()), (n * k, n * k));
    let per_task = k.div_ceil(4 * rayon::current_num_threads().max(1)).max(1);
    gt.par_chunks_mut(per_task * n)
        .enumerate()
        .for_each(|(t, gt)| {
            elementwise::run(SpikeColumns {
                s,
                g,
                gt,
                i0: t * per_task,
                k,
                n,
            })
        });
    transpose(gt, k, n, grad);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::kernels::matmul;
    use crate::rng::Rng;

    /// Spike counts 0..=15 with the given density.
    fn spikes(rng: &mut Rng, n: usize, density: f64) -> Vec<f32> {
        (0..n)
            .map(|_| {
                if rng.uniform() < density {
                    1.0 + rng.below(15) as f32
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn close(a: &[f32], b: &[f32]) {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{i}: {x} vs {y}");
        }
    }

    /// Both spike-driven products equal the dense GEMMs, for ragged sizes and densities 0 to 1.
    #[test]
    fn spike_driven_products_equal_the_dense_ones() {
        let mut rng = Rng::new(31);
        for (rows, k, n) in [(1, 1, 1), (13, 37, 19), (256, 400, 400), (50, 800, 10)] {
            for density in [0.0, 0.05, 0.3, 1.0] {
                let s = spikes(&mut rng, rows * k, density);
                let w: Vec<f32> = (0..n * k).map(|_| rng.normal() as f32).collect();
                let g: Vec<f32> = (0..rows * n).map(|_| rng.normal() as f32).collect();
                let mut wt = vec![0.0; n * k];
                transpose(&w, n, k, &mut wt);
                let (mut c, mut want) = (vec![f32::NAN; rows * n], vec![0.0; rows * n]);
                spikes_times_weights(&s, &wt, &mut c, rows, k, n);
                matmul(&s, &w, &mut want, rows, n, k, false, true);
                close(&c, &want);
                let (mut grad, mut gt) = (vec![f32::NAN; n * k], vec![f32::NAN; n * k]);
                weight_grad(&g, &s, &mut grad, &mut gt, rows, k, n);
                let mut want = vec![0.0; n * k];
                matmul(&g, &s, &mut want, n, k, rows, true, false);
                close(&grad, &want);
            }
        }
    }

    #[test]
    fn density_and_transpose() {
        assert_eq!(density(&[0.0, 1.0, 0.0, 3.0]), 0.5);
        assert_eq!(density(&[]), 1.0);
        let a: Vec<f32> = (0..35 * 70).map(|x| x as f32).collect();
        let mut t = vec![0.0; a.len()];
        transpose(&a, 35, 70, &mut t);
        for r in 0..35 {
            for c in 0..70 {
                assert_eq!(t[c * 35 + r], a[r * 70 + c]);
            }
        }
    }
}
