//! What one inference tells the page: the answer, and every layer's spikes arranged for display.

use mtsnn_core::stats::StatsCollector;
use mtsnn_core::{Inference, LayerKind, NetSpec};

use crate::error::WebError;

/// How one weighted layer's spike counts are reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// `"dense"` or `"conv"`.
    pub kind: &'static str,
    /// Channels × height × width of the layer's spike map (`n×1×1` for dense layers).
    pub shape: [usize; 3],
    /// Entries per step in [`Outcome::layer_counts`]: neurons of a dense layer, channels of a
    /// convolution (its spikes summed over the map).
    pub units: usize,
}

/// The weighted layers of `spec`, in order (the output layer last).
pub fn layer_infos(spec: &NetSpec) -> Vec<LayerInfo> {
    spec.weighted_layers()
        .map(|l| {
            let o = l.output;
            let (kind, units) = match l.kind {
                LayerKind::Conv { .. } => ("conv", o.channels),
                _ => ("dense", o.len()),
            };
            LayerInfo {
                kind,
                shape: [o.channels, o.height, o.width],
                units,
            }
        })
        .collect()
}

/// The result of one inference of one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Predicted class: argmax of the output spikes summed over steps, the lowest on ties.
    pub label: usize,
    /// Output spike counts, `[step][class]`.
    pub output_counts: Vec<Vec<u32>>,
    /// Spike counts of every weighted layer, `[layer][step][unit]` (see [`LayerInfo::units`]).
    pub layer_counts: Vec<Vec<Vec<u32>>>,
    /// Spikes of all weighted layers over all steps.
    pub total_spikes: u64,
    /// Synaptic operations (accumulates) the spikes cause (see `mtsnn_core::stats`).
    pub synops: f64,
}

impl Outcome {
    /// Arranges a batch-1 forward pass run with `record_layers`.
    pub fn new(spec: &NetSpec, s_max: u32, inf: &Inference) -> Result<Self, WebError> {
        let infos = layer_infos(spec);
        if inf.batch != 1 || inf.layers.len() != infos.len() {
            return Err(WebError::Input(format!(
                "internal: expected one sample with {} layers, got {} samples and {} layers",
                infos.len(),
                inf.batch,
                inf.layers.len()
            )));
        }
        let mut stats = StatsCollector::new(spec, s_max, inf.steps);
        stats.add(inf)?;
        let per_step = |counts: &[f32], width: usize| -> Vec<Vec<u32>> {
            counts
                .chunks_exact(width)
                .map(|step| step.iter().map(|&s| s as u32).collect())
                .collect()
        };
        let layer_counts = infos
            .iter()
            .zip(&inf.layers)
            .map(|(info, counts)| {
                let neurons = info.shape.iter().product::<usize>();
                let per_unit = neurons / info.units;
                per_step(counts, neurons)
                    .into_iter()
                    .map(|step| {
                        step.chunks_exact(per_unit)
                            .map(|u| u.iter().sum())
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            label: inf.predictions()[0],
            output_counts: per_step(&inf.output, inf.classes),
            layer_counts,
            total_spikes: inf.layers.iter().flatten().map(|&s| s as u64).sum(),
            synops: stats.finish().synops_per_inference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtsnn_core::Shape;

    #[test]
    fn dense_layers_report_neurons_per_step() {
        let spec = NetSpec::parse("4-3-2", Shape::flat(4), 2).unwrap();
        let hidden = vec![0.0, 1.0, 3.0, /* t0 */ 2.0, 0.0, 0.0 /* t1 */];
        let output = vec![1.0, 0.0, /* t0 */ 0.0, 2.0 /* t1 */];
        let inf = Inference::new(2, 1, 2, output.clone(), vec![hidden, output]);
        let o = Outcome::new(&spec, 15, &inf).unwrap();
        assert_eq!(o.label, 1);
        assert_eq!(o.output_counts, vec![vec![1, 0], vec![0, 2]]);
        assert_eq!(
            o.layer_counts,
            vec![
                vec![vec![0, 1, 3], vec![2, 0, 0]],
                vec![vec![1, 0], vec![0, 2]]
            ]
        );
        assert_eq!(o.total_spikes, 6 + 3);
        // 6 hidden spikes, each reaching the 2 output neurons.
        assert_eq!(o.synops, 12.0);
        let infos = layer_infos(&spec);
        assert_eq!(
            infos[0],
            LayerInfo {
                kind: "dense",
                shape: [3, 1, 1],
                units: 3
            }
        );
    }

    #[test]
    fn convolutions_report_channels_and_ties_pick_the_lowest_class() {
        // 1×4×4 input, 2 filters of 3×3 with padding 1 (4×4 maps), pool to 2×2, then 2 classes.
        let spec = NetSpec::parse("2C3-P2", Shape::new(1, 4, 4), 2).unwrap();
        let infos = layer_infos(&spec);
        assert_eq!(
            infos[0],
            LayerInfo {
                kind: "conv",
                shape: [2, 4, 4],
                units: 2
            }
        );
        let mut conv = vec![0.0; 32];
        conv[0] = 1.0; // channel 0 at t0
        conv[16 + 3] = 2.0; // channel 1 at t0
        conv.extend(std::iter::repeat_n(1.0, 16)); // channel 0 at t1: all 16 pixels
        conv.extend(vec![0.0; 16]);
        let output = vec![1.0, 0.0, 0.0, 1.0];
        let inf = Inference::new(2, 1, 2, output.clone(), vec![conv, output]);
        let o = Outcome::new(&spec, 15, &inf).unwrap();
        assert_eq!(o.layer_counts[0], vec![vec![1, 2], vec![16, 0]]);
        assert_eq!(o.label, 0);
        assert_eq!(o.total_spikes, 19 + 2);
    }

    #[test]
    fn batches_are_refused() {
        let spec = NetSpec::parse("4-3-2", Shape::flat(4), 2).unwrap();
        let inf = Inference::new(1, 2, 2, vec![0.0; 4], vec![vec![0.0; 6], vec![0.0; 4]]);
        assert!(Outcome::new(&spec, 15, &inf).is_err());
    }
}
