//! A network's parameters: spec, hyper-parameters, weights and Adam state. Backend-free.

use crate::error::{Error, Result};
use crate::hyper::{Hyper, InitMean};
use crate::rng::Rng;
use crate::spec::NetSpec;

/// Adam's moment estimates (one tensor per weighted layer) and its step count.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    /// Adam updates done so far.
    pub step: u64,
    /// First-moment estimates, shaped as [`Model::weights`].
    pub m: Vec<Vec<f32>>,
    /// Second-moment estimates, shaped as [`Model::weights`].
    pub v: Vec<Vec<f32>>,
}

/// Everything needed to run or resume training a network: its layers, hyper-parameters, weights,
/// optimiser state and epochs completed, read through the methods of the same names. A backend
/// returns a trained state with `read_state`; checkpoints and exports store it.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The network's layers.
    pub(crate) spec: NetSpec,
    /// The hyper-parameters it is trained and run with (T, τ_m, V_th, S_max, surrogate, Adam).
    pub(crate) hyper: Hyper,
    /// One tensor per weighted layer, row-major: dense `[out, in]`, conv `[out_ch, in_ch, k, k]`.
    pub(crate) weights: Vec<Vec<f32>>,
    /// The optimiser's state, for resuming training.
    pub(crate) adam: AdamState,
    /// Epochs completed.
    pub(crate) epoch: usize,
}

impl Model {
    /// A fresh network initialised by eq 17: W ~ Normal(mean V_th / N_{l−1}, std 0.5), N_{l−1} the
    /// size of the previous layer or the fan-in, as `hyper.init` says.
    pub fn init(spec: NetSpec, hyper: Hyper, seed: u64) -> Result<Self> {
        hyper.validate()?;
        let mut rng = Rng::new(seed);
        let weights: Vec<Vec<f32>> = spec
            .weighted_layers()
            .map(|l| {
                let n = match hyper.init {
                    InitMean::PreLayer => l.input_len(),
                    InitMean::FanIn => l.fan_in(),
                };
                let mean = hyper.v_th as f64 / n as f64;
                (0..l.weight_len())
                    .map(|_| (mean + 0.5 * rng.normal()) as f32)
                    .collect()
            })
            .collect();
        Ok(Self::from_weights(spec, hyper, weights))
    }

    /// The network's layers.
    pub fn spec(&self) -> &NetSpec {
        &self.spec
    }

    /// The hyper-parameters it is trained and run with (T, τ_m, V_th, S_max, surrogate, Adam).
    pub fn hyper(&self) -> &Hyper {
        &self.hyper
    }

    /// One tensor per weighted layer, row-major: dense `[out, in]`, conv `[out_ch, in_ch, k, k]`.
    pub fn weights(&self) -> &[Vec<f32>] {
        &self.weights
    }

    /// The weights of weighted layer `layer` (counted from 0), to change in place; their number is
    /// fixed by the layer. Panics when the network has no such layer.
    pub fn layer_weights_mut(&mut self, layer: usize) -> &mut [f32] {
        &mut self.weights[layer]
    }

    /// The optimiser's state, for resuming training.
    pub fn adam(&self) -> &AdamState {
        &self.adam
    }

    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// A network with the given weights and a fresh optimiser.
    pub fn from_weights(spec: NetSpec, hyper: Hyper, weights: Vec<Vec<f32>>) -> Self {
        let zeros: Vec<Vec<f32>> = weights.iter().map(|w| vec![0.0; w.len()]).collect();
        Self {
            spec,
            hyper,
            adam: AdamState {
                step: 0,
                m: zeros.clone(),
                v: zeros,
            },
            weights,
            epoch: 0,
        }
    }

    /// Checks that every tensor has the size its layer needs.
    pub fn check_shapes(&self) -> Result<()> {
        let layers: Vec<_> = self.spec.weighted_layers().collect();
        let tensors = [&self.weights, &self.adam.m, &self.adam.v];
        for (name, t) in ["weights", "adam.m", "adam.v"].iter().zip(tensors) {
            if t.len() != layers.len() {
                return Err(Error::Shape(format!(
                    "{name}: {} tensors for {} weighted layers",
                    t.len(),
                    layers.len()
                )));
            }
            for (i, (w, l)) in t.iter().zip(&layers).enumerate() {
                if w.len() != l.weight_len() {
                    return Err(Error::Shape(format!(
                        "{name}[{i}]: {} values, layer needs {:?}",
                        w.len(),
                        l.weight_shape()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The first value that is NaN or infinite, as `(tensor, index, value)`, the tensor named as in
    /// a checkpoint (`layer1.weight`, `layer0.adam_m`, `layer0.adam_v`); `None` when all are finite.
    /// Weights and Adam's moments are scanned in that order (a few ms for a million weights).
    pub fn first_non_finite(&self) -> Option<(String, usize, f32)> {
        let kinds = [
            ("weight", &self.weights),
            ("adam_m", &self.adam.m),
            ("adam_v", &self.adam.v),
        ];
        kinds.into_iter().find_map(|(kind, tensors)| {
            tensors.iter().enumerate().find_map(|(layer, t)| {
                t.iter()
                    .position(|x| !x.is_finite())
                    .map(|i| (format!("layer{layer}.{kind}"), i, t[i]))
            })
        })
    }

    /// An error naming the first non-finite value, if any (see [`Model::first_non_finite`]).
    pub fn check_finite(&self) -> Result<()> {
        match self.first_non_finite() {
            None => Ok(()),
            Some((tensor, i, x)) => Err(Error::NonFinite {
                tensor,
                index: i,
                value: x,
            }),
        }
    }

    /// Number of trainable weights.
    pub fn parameter_count(&self) -> usize {
        self.weights.iter().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Shape;

    #[test]
    fn init_follows_eq_17() {
        let spec = NetSpec::parse("784-800-10", Shape::new(1, 28, 28), 10).unwrap();
        let m = Model::init(spec, Hyper::default(), 3).unwrap();
        m.check_shapes().unwrap();
        let w = &m.weights[0];
        let n = w.len() as f64;
        let mean = w.iter().map(|&x| x as f64).sum::<f64>() / n;
        let std = (w.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((mean - 10.0 / 784.0).abs() < 0.002, "mean {mean}");
        assert!((std - 0.5).abs() < 0.002, "std {std}");
        let mean2 = m.weights[1].iter().map(|&x| x as f64).sum::<f64>() / 8000.0;
        assert!((mean2 - 10.0 / 800.0).abs() < 0.02, "mean {mean2}");
        assert_eq!(m.parameter_count(), 784 * 800 + 8000);
    }

    #[test]
    fn non_finite_values_are_found_and_named() {
        let spec = NetSpec::parse("784-8-10", Shape::new(1, 28, 28), 10).unwrap();
        let mut m = Model::init(spec, Hyper::default(), 1).unwrap();
        assert_eq!(m.first_non_finite(), None);
        m.check_finite().unwrap();
        m.adam.v[1][7] = f32::INFINITY;
        assert_eq!(
            m.first_non_finite(),
            Some(("layer1.adam_v".into(), 7, f32::INFINITY))
        );
        m.weights[1][3] = f32::NAN;
        let (t, i, x) = m.first_non_finite().unwrap();
        assert_eq!((t.as_str(), i, x.is_nan()), ("layer1.weight", 3, true));
        let e = m.check_finite().unwrap_err().to_string();
        assert!(e.contains("layer1.weight") && e.contains("NaN"), "{e}");
    }

    fn mean(w: &[f32]) -> f64 {
        w.iter().map(|&x| x as f64).sum::<f64>() / w.len() as f64
    }

    #[test]
    fn conv_init_mean_counts_the_pre_layer_or_the_fan_in() {
        let spec = NetSpec::parse("15C5-P2-40C5-P2-300", Shape::new(1, 28, 28), 10).unwrap();
        let paper = Model::init(spec.clone(), Hyper::default(), 3).unwrap();
        let fan_in = Hyper {
            init: InitMean::FanIn,
            ..Hyper::default()
        };
        let old = Model::init(spec, fan_in, 3).unwrap();
        // conv1 sees a 1×28×28 image through 1·5·5 inputs; conv2 a 15×12×12 map through 15·5·5.
        for (layer, pre, fan) in [(0, 784.0, 25.0), (1, 2160.0, 375.0), (2, 640.0, 640.0)] {
            let n = paper.weights[layer].len() as f64;
            let tol = 3.0 * 0.5 / n.sqrt();
            let (got_pre, got_fan) = (mean(&paper.weights[layer]), mean(&old.weights[layer]));
            assert!(
                (got_pre - 10.0 / pre).abs() < tol,
                "layer {layer}: {got_pre}"
            );
            assert!(
                (got_fan - 10.0 / fan).abs() < tol,
                "layer {layer}: {got_fan}"
            );
        }
    }
}
