//! The layer pipeline, derived from a [`NetSpec`]: what each layer computes, the size of its
//! output and whether that output is the same at every time step. Backend-free;
//! [`crate::schedule`] turns it into kernel launches.

use crate::error::{Error, Result};
use crate::spec::{LayerKind, NetSpec};

/// Sizes of one convolution layer (stride 1, zero padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (filters).
    pub out_channels: usize,
    /// Kernel side k.
    pub kernel: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
}

impl ConvGeom {
    /// Output height (stride 1).
    pub fn out_height(&self) -> usize {
        self.height + 2 * self.padding + 1 - self.kernel
    }

    /// Output width (stride 1).
    pub fn out_width(&self) -> usize {
        self.width + 2 * self.padding + 1 - self.kernel
    }

    /// Values of one input image.
    pub fn in_len(&self) -> usize {
        self.in_channels * self.height * self.width
    }

    /// Values of one output image.
    pub fn out_len(&self) -> usize {
        self.out_channels * self.out_height() * self.out_width()
    }

    /// Weights, `[out_ch][in_ch][k][k]`.
    pub fn weight_len(&self) -> usize {
        self.out_channels * self.in_channels * self.kernel * self.kernel
    }

    /// Fails with [`Error::Shape`] for a geometry with no output pixel (kernel wider than the
    /// padded map).
    pub fn check(&self) -> Result<()> {
        if self.kernel == 0 || self.kernel > self.height.min(self.width) + 2 * self.padding {
            return Err(Error::Shape(format!(
                "a {k}×{k} kernel with padding {p} on {h}×{w} maps",
                k = self.kernel,
                p = self.padding,
                h = self.height,
                w = self.width
            )));
        }
        Ok(())
    }
}

/// What a layer computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// I = W s_in (eq 3), then neurons; `weight` indexes the model's weight tensors.
    Dense {
        /// Input values per sample.
        inputs: usize,
        /// Neurons.
        outputs: usize,
        /// Index of W among the weighted layers.
        weight: usize,
    },
    /// I = W ∗ s_in, then neurons.
    Conv {
        /// The convolution's sizes.
        geom: ConvGeom,
        /// Index of W among the weighted layers.
        weight: usize,
    },
    /// Average (or, when `max`, maximum) of k×k windows of the spike maps; no neuron.
    Pool {
        /// Channels of the input maps.
        channels: usize,
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
        /// Window side k (also the stride).
        kernel: usize,
        /// Maximum rather than average.
        max: bool,
    },
}

/// One layer of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerOp {
    /// What the layer computes.
    pub op: Op,
    /// Values of one sample's output.
    pub out_len: usize,
    /// True when the output is the same at every step: only pooling of the raw input (layer 1's
    /// direct-encoded input is constant, so its current W·x is computed once).
    pub constant: bool,
}

impl LayerOp {
    /// Index of the layer's weight tensor; `None` for pooling.
    pub fn weight(&self) -> Option<usize> {
        match self.op {
            Op::Dense { weight, .. } | Op::Conv { weight, .. } => Some(weight),
            Op::Pool { .. } => None,
        }
    }
}

/// The pipeline of `spec`, input to output.
pub fn layer_ops(spec: &NetSpec) -> Vec<LayerOp> {
    let mut weight = 0;
    let mut constant = true;
    spec.layers()
        .iter()
        .map(|l| {
            let op = match l.kind {
                LayerKind::Dense { inputs, outputs } => Op::Dense {
                    inputs,
                    outputs,
                    weight,
                },
                LayerKind::Conv {
                    in_channels,
                    out_channels,
                    kernel,
                    padding,
                } => Op::Conv {
                    geom: ConvGeom {
                        in_channels,
                        out_channels,
                        kernel,
                        padding,
                        height: l.input.height,
                        width: l.input.width,
                    },
                    weight,
                },
                LayerKind::Pool { kernel, max } => Op::Pool {
                    channels: l.input.channels,
                    height: l.input.height,
                    width: l.input.width,
                    kernel,
                    max,
                },
            };
            weight += usize::from(l.has_weights());
            constant &= !l.has_weights();
            LayerOp {
                op,
                out_len: l.output.len(),
                constant,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Shape;

    #[test]
    fn pooling_the_raw_input_stays_constant_and_weights_are_numbered() {
        let spec = NetSpec::parse("P2-3C3p0-P2-4", Shape::new(1, 10, 10), 4).unwrap();
        let ops = layer_ops(&spec);
        let constant: Vec<bool> = ops.iter().map(|o| o.constant).collect();
        assert_eq!(constant, [true, false, false, false]);
        let weights: Vec<Option<usize>> = ops.iter().map(LayerOp::weight).collect();
        assert_eq!(weights, [None, Some(0), None, Some(1)]);
        let Op::Conv { geom, .. } = ops[1].op else {
            panic!("layer 2 is a convolution")
        };
        assert_eq!((geom.height, geom.out_height(), geom.out_len()), (5, 3, 27));
        assert_eq!(ops[3].out_len, 4);
    }
}
