//! Spike statistics of a forward pass and the energy estimate built on them (the paper's claim
//! of low latency is also one of few operations: a spike costs an accumulate, not a multiply).
//!
//! Counting rules:
//! - a neuron that emits s spikes in a step drives s accumulate operations (AC) on each of its
//!   outgoing synapses: SynOps = Σ s × fan-out. Fan-out is the number of weights of the next
//!   weighted layer that read the neuron (through pooling: those that read its pooled value); for
//!   a convolution it is out_channels·k² (interior pixels; border pixels reach fewer);
//! - layer 1 receives the real-valued image (direct encoding), once for all steps: its input
//!   costs multiply-accumulates (MAC), fan-in × neurons;
//! - the same network as an ANN costs one MAC per weight use: Σ_l neurons_l × fan-in_l.
//!
//! Energies per operation: 32-bit float at 45 nm (M. Horowitz, "Computing's energy problem",
//! ISSCC 2014): MAC 4.6 pJ (add 0.9 + multiply 3.7), AC 0.9 pJ.

use serde::Serialize;

use crate::backend::Inference;
use crate::error::{Error, Result};
use crate::spec::{LayerKind, NetSpec};

/// Energy of one 32-bit float multiply-accumulate at 45 nm, in picojoules.
pub const MAC_PJ: f64 = 4.6;
/// Energy of one 32-bit float accumulate (add) at 45 nm, in picojoules.
pub const AC_PJ: f64 = 0.9;

/// Statistics of one weighted layer, averaged over the samples.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LayerStats {
    /// Layer index among the weighted layers (0 = first).
    pub layer: usize,
    /// Spiking neurons in the layer.
    pub neurons: usize,
    /// Mean spike count per neuron per step.
    pub mean_spikes: f64,
    /// Fraction of (neuron, step) pairs with no spike.
    pub silent_fraction: f64,
    /// Fraction of (neuron, step) pairs at S_max.
    pub saturated_fraction: f64,
    /// Spikes of the layer per inference (all steps).
    pub spikes_per_inference: f64,
    /// Synapses driven by one spike of this layer.
    pub fan_out: usize,
    /// Accumulates its spikes cause per inference.
    pub synops_per_inference: f64,
}

/// Statistics of a network over a set of inputs, per inference (one sample, all steps).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SpikeStats {
    /// Samples the statistics are over.
    pub samples: usize,
    /// Time steps T per inference.
    pub steps: usize,
    /// One entry per weighted layer.
    pub layers: Vec<LayerStats>,
    /// Spikes of all layers per inference (all steps).
    pub spikes_per_inference: f64,
    /// Accumulates per inference (Σ over layers of spikes × fan-out).
    pub synops_per_inference: f64,
    /// Multiply-accumulates of layer 1 on the real-valued input, per inference.
    pub input_macs: f64,
    /// Multiply-accumulates of the same network as an ANN.
    pub ann_macs: f64,
    /// Estimated energy per inference, in nanojoules: input MACs + SynOps ACs.
    pub snn_energy_nj: f64,
    /// The ANN's, in nanojoules.
    pub ann_energy_nj: f64,
    /// ann_energy / snn_energy.
    pub energy_ratio: f64,
}

/// Accumulates spike statistics over several forward passes.
#[derive(Clone, Debug)]
pub struct StatsCollector {
    spec: NetSpec,
    s_max: f32,
    steps: usize,
    samples: usize,
    /// Per weighted layer: total spikes, silent and saturated (neuron, step) counts.
    totals: Vec<[f64; 3]>,
}

impl StatsCollector {
    /// A collector for `spec` with at most `s_max` spikes per step.
    pub fn new(spec: &NetSpec, s_max: u32, steps: usize) -> Self {
        let n = spec.weighted_layers().count();
        Self {
            spec: spec.clone(),
            s_max: s_max as f32,
            steps,
            samples: 0,
            totals: vec![[0.0; 3]; n],
        }
    }

    /// Adds a forward pass run with `record_layers`.
    pub fn add(&mut self, inf: &Inference) -> Result<()> {
        if inf.layers.len() != self.totals.len() || inf.steps != self.steps {
            return Err(Error::Shape(format!(
                "statistics need the spike counts of all {} weighted layers over {} steps (got {} layers, {} steps)",
                self.totals.len(),
                self.steps,
                inf.layers.len(),
                inf.steps
            )));
        }
        for (tot, counts) in self.totals.iter_mut().zip(&inf.layers) {
            for &s in counts {
                tot[0] += s as f64;
                tot[1] += f64::from(u8::from(s == 0.0));
                tot[2] += f64::from(u8::from(s >= self.s_max));
            }
        }
        self.samples += inf.batch;
        Ok(())
    }

    /// The statistics so far.
    pub fn finish(&self) -> SpikeStats {
        let weighted: Vec<_> = self.spec.weighted_layers().copied().collect();
        let all = self.spec.layers();
        let per = self.samples.max(1) as f64;
        let mut layers = Vec::new();
        for (i, (l, tot)) in weighted.iter().zip(&self.totals).enumerate() {
            let neurons = l.output.len();
            let pairs = (neurons * self.steps * self.samples).max(1) as f64;
            let fan_out = fan_out(all, i);
            let spikes = tot[0] / per;
            layers.push(LayerStats {
                layer: i,
                neurons,
                mean_spikes: tot[0] / pairs,
                silent_fraction: tot[1] / pairs,
                saturated_fraction: tot[2] / pairs,
                spikes_per_inference: spikes,
                fan_out,
                synops_per_inference: spikes * fan_out as f64,
            });
        }
        let macs = |l: &crate::spec::Layer| (l.output.len() * l.fan_in()) as f64;
        let input_macs = weighted.first().map(macs).unwrap_or(0.0);
        let ann_macs: f64 = weighted.iter().map(macs).sum();
        let synops: f64 = layers.iter().map(|l| l.synops_per_inference).sum();
        let snn_energy_nj = (input_macs * MAC_PJ + synops * AC_PJ) / 1000.0;
        let ann_energy_nj = ann_macs * MAC_PJ / 1000.0;
        SpikeStats {
            samples: self.samples,
            steps: self.steps,
            spikes_per_inference: layers.iter().map(|l| l.spikes_per_inference).sum(),
            synops_per_inference: synops,
            input_macs,
            ann_macs,
            snn_energy_nj,
            ann_energy_nj,
            energy_ratio: if snn_energy_nj > 0.0 {
                ann_energy_nj / snn_energy_nj
            } else {
                f64::INFINITY
            },
            layers,
        }
    }
}

/// Synapses one spike of weighted layer `w` drives in the next weighted layer (0 for the output).
fn fan_out(layers: &[crate::spec::Layer], w: usize) -> usize {
    let pos = layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.has_weights())
        .nth(w)
        .map(|(i, _)| i);
    let Some(pos) = pos else { return 0 };
    for next in &layers[pos + 1..] {
        match next.kind {
            // A pooled value (the average or the maximum of k² spikes of one map) reaches what the
            // pool's output reaches.
            LayerKind::Pool { .. } => continue,
            LayerKind::Dense { outputs, .. } => return outputs,
            LayerKind::Conv {
                out_channels,
                kernel,
                ..
            } => return out_channels * kernel * kernel,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Shape;

    /// A hand-made 4-3-2 network, T = 2, two samples, S_max = 3; the expected numbers are counted
    /// by hand in the comments.
    #[test]
    fn statistics_of_a_hand_made_spike_tensor() {
        let spec = NetSpec::parse("4-3-2", Shape::flat(4), 2).unwrap();
        let hidden = vec![
            0.0, 1.0, 3.0, /* t0 b0 */ 0.0, 0.0, 2.0, /* t0 b1 */
            1.0, 0.0, 3.0, /* t1 b0 */ 0.0, 0.0, 0.0, /* t1 b1 */
        ];
        let output = vec![1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 3.0, 1.0];
        let inf = Inference {
            steps: 2,
            batch: 2,
            classes: 2,
            output: output.clone(),
            layers: vec![hidden, output],
        };
        let mut c = StatsCollector::new(&spec, 3, 2);
        c.add(&inf).unwrap();
        let s = c.finish();
        // Hidden: 10 spikes over 12 (neuron, step, sample) entries; 7 zeros; 2 at S_max = 3.
        let h = &s.layers[0];
        assert_eq!(
            (h.mean_spikes, h.silent_fraction, h.saturated_fraction),
            (10.0 / 12.0, 7.0 / 12.0, 2.0 / 12.0)
        );
        // 5 spikes per sample, each driving the 2 output neurons.
        assert_eq!(
            (h.spikes_per_inference, h.fan_out, h.synops_per_inference),
            (5.0, 2, 10.0)
        );
        // Output: 7 spikes over 8 entries, 4 zeros, one at 3; no fan-out.
        let o = &s.layers[1];
        assert_eq!(
            (
                o.mean_spikes,
                o.silent_fraction,
                o.saturated_fraction,
                o.fan_out
            ),
            (7.0 / 8.0, 0.5, 1.0 / 8.0, 0)
        );
        assert_eq!(s.spikes_per_inference, 5.0 + 3.5);
        // Input MACs 4·3 = 12; ANN MACs 12 + 3·2 = 18.
        assert_eq!(
            (s.input_macs, s.ann_macs, s.synops_per_inference),
            (12.0, 18.0, 10.0)
        );
        assert!((s.snn_energy_nj - (12.0 * 4.6 + 10.0 * 0.9) / 1000.0).abs() < 1e-12);
        assert!((s.energy_ratio - 18.0 * 4.6 / (12.0 * 4.6 + 10.0 * 0.9)).abs() < 1e-12);
    }

    #[test]
    fn fan_out_passes_through_pooling() {
        let spec = NetSpec::parse("15C5-P2-40C5-P2-300", Shape::new(1, 28, 28), 10).unwrap();
        let layers = spec.layers();
        assert_eq!(fan_out(layers, 0), 40 * 25);
        assert_eq!(fan_out(layers, 1), 300);
        assert_eq!(fan_out(layers, 2), 10);
        assert_eq!(fan_out(layers, 3), 0);
        let spec = NetSpec::parse("15C5-MP2-40C5-P2-300", Shape::new(1, 28, 28), 10).unwrap();
        let layers = spec.layers();
        assert_eq!(fan_out(layers, 0), 40 * 25);
        assert_eq!(fan_out(layers, 1), 300);
        assert_eq!(fan_out(layers, 2), 10);
    }

    #[test]
    fn missing_layer_counts_are_an_error() {
        let spec = NetSpec::parse("4-3-2", Shape::flat(4), 2).unwrap();
        let inf = Inference {
            steps: 2,
            batch: 1,
            classes: 2,
            output: vec![0.0; 4],
            layers: vec![],
        };
        assert!(StatsCollector::new(&spec, 3, 2).add(&inf).is_err());
    }
}
