//! What belongs to a whole pass, whichever backend runs it: the per-sample [`Record`] a pass
//! keeps and its CPU [`tally`], the host [`gather`] that cuts a batch out of an image set,
//! [`argmax`] and the [`Totals`] of an evaluation, and the device [`Counters`].
//!
//! The backends and the [`crate::executor`] take these from here; nothing here depends on a
//! backend (or on the `gpu` feature).
//!
//! [`gather`] and [`tally`] are the CPU twins of the passes' own kernels, `shaders/pass/gather.wgsl`
//! and `shaders/pass/tally.wgsl` (their launchers are `gpu::pass::gather` and `gpu::pass::tally`).
//! The CPU executor runs them for every batch of a pass; the GPU executor runs [`gather`] on the
//! host for an image set too large to keep on the device (its host fallback), and the trainer
//! uses it to gather a whole set in order.

use crate::dataset::ImageSet;

/// What a pass records per sample ([`tally`], `shaders/pass/tally.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// Training: `[loss, hit]`, the sample's loss (eq 6) and 1.0 when the argmax of Σ_t s was
    /// the label (the lowest index on ties, as [`crate::Inference::correct`]), else 0.0.
    Training,
    /// Evaluation: the output spikes summed over steps, `[classes]`.
    Totals,
}

impl Record {
    /// Values recorded per sample.
    pub fn len(self, classes: usize) -> usize {
        match self {
            Record::Training => 2,
            Record::Totals => classes,
        }
    }
}

/// Per-sample records of one batch (`shaders/pass/tally.wgsl`), as [`Record`] says, into `records`
/// (the batch's part of a pass's records): from the output spikes `s` `[steps][batch][classes]`,
/// and for training `labels` and the per-sample losses `loss` that the output-error kernel
/// (`cpu::neuron::output_error`, `shaders/neuron/output_error.wgsl`) wrote.
pub fn tally(
    s: &[f32],
    labels: &[u32],
    loss: &[f32],
    steps: usize,
    classes: usize,
    record: Record,
    records: &mut [f32],
) {
    let batch = s.len() / (steps * classes).max(1);
    let per = record.len(classes);
    for (b, out) in records.chunks_exact_mut(per).take(batch).enumerate() {
        let mut totals = vec![0.0f32; classes];
        for t in 0..steps {
            for (tot, &x) in totals
                .iter_mut()
                .zip(&s[(t * batch + b) * classes..][..classes])
            {
                *tot += x;
            }
        }
        match record {
            Record::Training => {
                let hit = argmax(&totals) == labels[b] as usize;
                out[0] = loss[b];
                out[1] = f32::from(u8::from(hit));
            }
            Record::Totals => out.copy_from_slice(&totals),
        }
    }
}

/// Output spike counts summed over time of every sample of a set
/// ([`crate::Backend::evaluate_set`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Totals {
    /// Output neurons (classes).
    pub classes: usize,
    /// Σ_t s_out\[t\], `[samples][classes]`.
    pub values: Vec<f32>,
}

impl Totals {
    /// The predicted class of each sample: the argmax (the lowest index on ties).
    pub fn predictions(&self) -> Vec<usize> {
        self.values.chunks_exact(self.classes).map(argmax).collect()
    }

    /// How many samples were predicted as their label.
    pub fn correct(&self, labels: &[u32]) -> usize {
        self.predictions()
            .iter()
            .zip(labels)
            .filter(|(p, l)| **p == **l as usize)
            .count()
    }
}

/// Index of the largest value, the first one on ties.
pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// What a device has been asked to do ([`crate::GpuContext::counters`]): running totals, or with
/// [`Counters::since`] what happened between two readings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Counters {
    /// Kernel launches recorded into submitted work.
    pub dispatches: u64,
    /// Queue submissions.
    pub submissions: u64,
    /// Times the host blocked until the device had finished work (to read results back).
    pub host_waits: u64,
    /// Bytes written to the device: buffers created with contents, queue writes.
    pub bytes_uploaded: u64,
    /// Bytes read back from the device.
    pub bytes_read: u64,
}

impl Counters {
    /// What was counted after `earlier` (a reading of the same device).
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            dispatches: self.dispatches - earlier.dispatches,
            submissions: self.submissions - earlier.submissions,
            host_waits: self.host_waits - earlier.host_waits,
            bytes_uploaded: self.bytes_uploaded - earlier.bytes_uploaded,
            bytes_read: self.bytes_read - earlier.bytes_read,
        }
    }
}

/// One batch gathered from a whole image set on the host, the CPU twin of `shaders/pass/gather.wgsl`
/// (and the GPU executor's host fallback for a set kept on the host): position `first + b` of
/// the pass `order` (`[sample, augment]` words, [`crate::dataset::Order::words`]) becomes row `b`
/// of `x` `[batch][channels][height][width]` (batch = `x.len()` / the sample's length), its
/// label `labels[b]` (when `labels` is not empty).
///
/// Each value is what the per-batch path computes: the pixel of the sample padded by `pad` black
/// pixels and cropped at `(dy, dx)`, taken from the mirrored column when flipped, through its
/// channel's table: `x[b][c][r][col] = table_c[p(r + dy − pad, col′ + dx − pad)]` with
/// `col′ = width − 1 − col` when flipped, else `col`, and `p` = 0 outside the image.
pub fn gather(
    set: &ImageSet,
    order: &[u32],
    pad: usize,
    first: usize,
    x: &mut [f32],
    labels: &mut [u32],
) {
    let (h, w) = (set.shape.height, set.shape.width);
    let len = set.shape.len();
    for (b, row) in x.chunks_exact_mut(len).enumerate() {
        let (sample, aug) = (order[2 * (first + b)] as usize, order[2 * (first + b) + 1]);
        let (dy, dx, flip) = (
            (aug & 0xff) as usize,
            ((aug >> 8) & 0xff) as usize,
            (aug >> 16) & 1 == 1,
        );
        let image = &set.pixels[sample * len..][..len];
        for (c, (plane, table)) in row.chunks_exact_mut(h * w).zip(&set.tables).enumerate() {
            let src = &image[c * h * w..][..h * w];
            for (r, out) in plane.chunks_exact_mut(w).enumerate() {
                let sr = (r + dy).checked_sub(pad).filter(|&sr| sr < h);
                for (col, v) in out.iter_mut().enumerate() {
                    let col = if flip { w - 1 - col } else { col };
                    let sc = (col + dx).checked_sub(pad).filter(|&sc| sc < w);
                    let p = match (sr, sc) {
                        (Some(sr), Some(sc)) => src[sr * w + sc],
                        _ => 0,
                    };
                    *v = table[usize::from(p)];
                }
            }
        }
        if let Some(l) = labels.get_mut(b) {
            *l = set.labels[sample];
        }
    }
}
