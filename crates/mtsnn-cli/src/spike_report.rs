//! What `mtsnn eval --stats` reports: the engine's spike statistics ([`mtsnn_core::stats`]) with
//! the per-operation energies they were priced at, as JSON or as a table.

use std::fmt::Write as _;

use mtsnn_core::stats::{AC_PJ, MAC_PJ, SpikeStats};
use serde::Serialize;

/// Where the per-operation energies come from.
pub const ENERGY_SOURCE: &str = "32-bit float at 45 nm: M. Horowitz, \"Computing's energy problem \
                                 (and what we can do about it)\", ISSCC 2014";

/// The energies every estimate is priced at.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnergyPerOperation {
    /// One multiply-accumulate, picojoules.
    pub mac_pj: f64,
    /// One accumulate, picojoules.
    pub ac_pj: f64,
    pub source: &'static str,
}

/// Spike statistics per inference and the energies they were priced at.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpikeReport {
    #[serde(flatten)]
    pub stats: SpikeStats,
    pub energy_per_operation: EnergyPerOperation,
}

impl SpikeReport {
    pub fn new(stats: SpikeStats) -> Self {
        Self {
            stats,
            energy_per_operation: EnergyPerOperation {
                mac_pj: MAC_PJ,
                ac_pj: AC_PJ,
                source: ENERGY_SOURCE,
            },
        }
    }

    /// The report as a table per layer and sentences for the totals.
    pub fn text(&self) -> String {
        let s = &self.stats;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "spike statistics over {} samples, T = {} (per inference = one sample, all steps):",
            s.samples, s.steps
        );
        let _ = writeln!(
            out,
            "{:>5} {:>8} {:>18} {:>9} {:>11} {:>16} {:>8} {:>16}",
            "layer",
            "neurons",
            "spikes/neuron/step",
            "silent %",
            "saturated %",
            "spikes/inference",
            "fan-out",
            "SynOps/inference"
        );
        for l in &s.layers {
            let _ = writeln!(
                out,
                "{:>5} {:>8} {:>18.4} {:>9.2} {:>11.2} {:>16.1} {:>8} {:>16.0}",
                l.layer + 1,
                l.neurons,
                l.mean_spikes,
                100.0 * l.silent_fraction,
                100.0 * l.saturated_fraction,
                l.spikes_per_inference,
                l.fan_out,
                l.synops_per_inference
            );
        }
        let _ = writeln!(
            out,
            "per inference: {:.1} spikes, {:.0} SynOps (accumulates), {:.0} multiply-accumulates of \
             layer 1 on the real-valued input",
            s.spikes_per_inference, s.synops_per_inference, s.input_macs
        );
        // The ratio ANN/SNN, said as "less" when the SNN is cheaper and "more" when it is not.
        let comparison = if s.energy_ratio >= 1.0 {
            format!("the SNN needs {:.2}× less", s.energy_ratio)
        } else {
            format!("the SNN needs {:.2}× more", 1.0 / s.energy_ratio)
        };
        let _ = writeln!(
            out,
            "energy per inference: SNN {:.1} nJ ({:.0} MACs × {MAC_PJ} pJ + {:.0} ACs × {AC_PJ} pJ) \
             vs ANN {:.1} nJ ({:.0} MACs × {MAC_PJ} pJ): {comparison}",
            s.snn_energy_nj, s.input_macs, s.synops_per_inference, s.ann_energy_nj, s.ann_macs,
        );
        let _ = writeln!(out, "energies per operation: {ENERGY_SOURCE}");
        out
    }
}
