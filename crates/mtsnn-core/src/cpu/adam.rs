//! One Adam update on the CPU (Kingma & Ba), the twin of `shaders/adam/adam.wgsl`: the weights
//! of every layer after each training batch.

use rayon::prelude::*;

use crate::kernel_params::AdamStep;

use super::CHUNK;
use super::elementwise::{self, AdamRun};

/// One Adam update (Kingma & Ba): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// w ← w − η·(m / (1−β₁ᵗ)) / (sqrt(v / (1−β₂ᵗ)) + ε).
pub fn adam_update(w: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], p: &AdamStep) {
    assert!(grad.len() == w.len() && m.len() == w.len() && v.len() == w.len());
    let (c1, c2) = p.corrections();
    if w.len() <= CHUNK {
        elementwise::run(AdamRun {
            step: p,
            c1,
            c2,
            w,
            grad,
            m,
            v,
        });
        return;
    }
    w.par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((w, grad), m), v)| {
            elementwise::run(AdamRun {
                step: p,
                c1,
                c2,
                w,
                grad,
                m,
                v,
            })
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adam's update of a quadratic bowl heads to its minimum.
    #[test]
    fn adam_minimises_a_quadratic() {
        let mut w = vec![3.0f32, -2.0];
        let (mut m, mut v) = (vec![0.0; 2], vec![0.0; 2]);
        for step in 1..=2000 {
            let g: Vec<f32> = w.iter().map(|w| 2.0 * w).collect();
            adam_update(
                &mut w,
                &g,
                &mut m,
                &mut v,
                &AdamStep {
                    lr: 0.01,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    step,
                },
            );
        }
        assert!(w.iter().all(|w| w.abs() < 1e-2), "{w:?}");
    }
}
