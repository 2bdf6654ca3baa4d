//! Network strings of the paper (`784-800-10`, `15C5-P2-40C5-P2-300`, …) and the shapes they imply.
//!
//! Grammar, tokens joined by `-`:
//! - `N` (a bare number) — a dense spiking layer of N neurons; as the *first* token it is instead the
//!   input size, which must equal the data set's (784 for 28×28 images);
//! - `aCk` — a convolution with `a` filters of `k×k`, stride 1, followed by spiking neurons;
//!   `aCkpP` sets the zero padding to P (default: see below);
//! - `Pk` — `k×k` average pooling of the spike maps, stride k (no neuron);
//! - `MPk` — `k×k` max pooling of the spike maps, stride k (no neuron), e.g. `15C5-MP2-40C5-MP2-300`.
//!
//! The output layer of `n_classes` neurons is implied where the string does not end with it.
//! Padding defaults to "same" (`k/2`), except for the paper's MNIST CNN `15C5-P2-40C5-P2-300`,
//! which TSSL-BP (the paper's reference) builds without padding (28→24→12→8→4).

use std::fmt;

use crate::error::{Error, Result};

/// Channels × height × width of one input or one layer's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Channels (the length of a flat vector).
    pub channels: usize,
    /// Height (1 for a flat vector).
    pub height: usize,
    /// Width (1 for a flat vector).
    pub width: usize,
}

impl Shape {
    /// `channels` maps of `height` × `width`.
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    /// A flat vector of `n` values.
    pub const fn flat(n: usize) -> Self {
        Self::new(n, 1, 1)
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True when it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.height == 1 && self.width == 1 {
            write!(f, "{}", self.channels)
        } else {
            write!(f, "{}x{}x{}", self.channels, self.height, self.width)
        }
    }
}

/// What one layer does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// Fully connected: I = W s_in, W is `[out, in]`.
    Dense {
        /// Input values.
        inputs: usize,
        /// Neurons.
        outputs: usize,
    },
    /// 2-D convolution, stride 1: W is `[out_ch, in_ch, k, k]`.
    Conv {
        /// Input channels.
        in_channels: usize,
        /// Output channels (filters).
        out_channels: usize,
        /// Kernel side k.
        kernel: usize,
        /// Zero padding on each side.
        padding: usize,
    },
    /// `k×k` pooling of spike maps, stride k: the average (`Pk`) or, when `max`, the maximum
    /// (`MPk`) of each window.
    Pool {
        /// Window side k.
        kernel: usize,
        /// Maximum rather than average.
        max: bool,
    },
}

/// One layer with its input and output shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    /// What it does.
    pub kind: LayerKind,
    /// Shape of one sample's input.
    pub input: Shape,
    /// Shape of one sample's output.
    pub output: Shape,
}

impl Layer {
    /// Dense and conv layers have weights and spiking neurons; pooling has neither.
    pub fn has_weights(&self) -> bool {
        !matches!(self.kind, LayerKind::Pool { .. })
    }

    /// Fan-in N_in of eq 17 (inputs seen by one neuron).
    pub fn fan_in(&self) -> usize {
        match self.kind {
            LayerKind::Dense { inputs, .. } => inputs,
            LayerKind::Conv {
                in_channels,
                kernel,
                ..
            } => in_channels * kernel * kernel,
            LayerKind::Pool { kernel, .. } => kernel * kernel,
        }
    }

    /// Number of neurons (values) in this layer's input, C·H·W: eq 17's "neurons of pre-layer".
    pub fn input_len(&self) -> usize {
        self.input.channels * self.input.height * self.input.width
    }

    /// Shape of the weight tensor (empty for pooling).
    pub fn weight_shape(&self) -> Vec<usize> {
        match self.kind {
            LayerKind::Dense { inputs, outputs } => vec![outputs, inputs],
            LayerKind::Conv {
                in_channels,
                out_channels,
                kernel,
                ..
            } => {
                vec![out_channels, in_channels, kernel, kernel]
            }
            LayerKind::Pool { .. } => vec![],
        }
    }

    /// Number of weights.
    pub fn weight_len(&self) -> usize {
        self.weight_shape().iter().product::<usize>() * usize::from(self.has_weights())
    }
}

/// A parsed network: the string, the input, the layers with their shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetSpec {
    text: String,
    input: Shape,
    classes: usize,
    layers: Vec<Layer>,
}

/// The paper's MNIST CNN, built without padding by TSSL-BP.
const UNPADDED_PAPER_NETS: &[&str] = &["15C5-P2-40C5-P2-300"];

/// The most values one layer may output and the most weights it may have: 2^32 (2^26 where `usize`
/// has 32 bits, as in wasm32) — far beyond any network this engine trains, and so far below
/// `usize::MAX` that sizes computed from them never overflow; an input shape read from a file may
/// claim anything.
const MAX_SIZE: usize = {
    let cap = (usize::MAX >> 6) as u64;
    (if cap < 1 << 32 { cap + 1 } else { 1 << 32 }) as usize
};

/// The product of `dims`, when it is at most [`MAX_SIZE`].
fn bounded_size(dims: &[usize]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_SIZE)
}

/// Why inputs of shape `input` and `classes` classes admit no network, if they do not.
fn check_input(input: Shape, classes: usize) -> std::result::Result<(), String> {
    if classes == 0 || [input.channels, input.height, input.width].contains(&0) {
        return Err("the input and the number of classes must be non-empty".into());
    }
    if bounded_size(&[input.channels, input.height, input.width]).is_none() || classes > MAX_SIZE {
        return Err(format!(
            "the input {input} or the {classes} classes are too many values (more than {MAX_SIZE})"
        ));
    }
    Ok(())
}

impl NetSpec {
    /// Parses `text` for inputs of shape `input` and `classes` output classes.
    pub fn parse(text: &str, input: Shape, classes: usize) -> Result<Self> {
        let text = text.trim();
        let err = |reason: String| Error::InvalidSpec {
            spec: text.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(err("empty string; try e.g. 784-800-10".into()));
        }
        check_input(input, classes).map_err(err)?;
        // Every layer's output and weights are bounded before the next layer uses its size.
        let bounded = |layer: Layer| {
            let out = layer.output;
            if bounded_size(&[out.channels, out.height, out.width]).is_none()
                || bounded_size(&layer.weight_shape()).is_none()
            {
                return Err(err(format!(
                    "a layer of {out} values with weights {:?} is too large (more than {MAX_SIZE})",
                    layer.weight_shape()
                )));
            }
            Ok(layer)
        };
        let default_pad_zero = UNPADDED_PAPER_NETS.contains(&text);
        let mut layers = Vec::new();
        let mut shape = input;
        let tokens: Vec<&str> = text.split('-').map(str::trim).collect();
        for (i, tok) in tokens.iter().enumerate() {
            if tok.is_empty() {
                return Err(err(format!("empty token at position {}", i + 1)));
            }
            let kind = parse_token(tok).map_err(|r| err(format!("token {tok:?}: {r}")))?;
            match kind {
                Token::Dense(n) if i == 0 => {
                    if n != input.len() {
                        return Err(err(format!(
                            "the first number is the input size, {n}, but the data has {} values per sample ({input})",
                            input.len()
                        )));
                    }
                    shape = Shape::flat(n);
                }
                Token::Dense(n) => {
                    let out = Shape::flat(n);
                    let kind = LayerKind::Dense {
                        inputs: shape.len(),
                        outputs: n,
                    };
                    layers.push(bounded(Layer {
                        kind,
                        input: shape,
                        output: out,
                    })?);
                    shape = out;
                }
                Token::Conv {
                    filters,
                    kernel,
                    padding,
                } => {
                    if shape.height == 1 && shape.width == 1 && !layers.is_empty() {
                        return Err(err(format!("convolution {tok:?} after a dense layer")));
                    }
                    let padding = padding.unwrap_or(if default_pad_zero { 0 } else { kernel / 2 });
                    let (h, w) = (shape.height + 2 * padding, shape.width + 2 * padding);
                    if h < kernel || w < kernel {
                        return Err(err(format!(
                            "{tok:?}: a {kernel}×{kernel} kernel does not fit the {shape} input"
                        )));
                    }
                    let out = Shape::new(filters, h - kernel + 1, w - kernel + 1);
                    let kind = LayerKind::Conv {
                        in_channels: shape.channels,
                        out_channels: filters,
                        kernel,
                        padding,
                    };
                    layers.push(bounded(Layer {
                        kind,
                        input: shape,
                        output: out,
                    })?);
                    shape = out;
                }
                Token::Pool { kernel: k, max } => {
                    if shape.height < k
                        || shape.width < k
                        || (shape.height == 1 && shape.width == 1)
                    {
                        return Err(err(format!(
                            "{tok:?}: cannot pool a {shape} map with a {k}×{k} window"
                        )));
                    }
                    let out = Shape::new(shape.channels, shape.height / k, shape.width / k);
                    layers.push(Layer {
                        kind: LayerKind::Pool { kernel: k, max },
                        input: shape,
                        output: out,
                    });
                    shape = out;
                }
            }
        }
        let ends_with_output = matches!(layers.last(), Some(Layer { kind: LayerKind::Dense { outputs, .. }, .. }) if *outputs == classes);
        if !ends_with_output {
            let out = Shape::flat(classes);
            layers.push(bounded(Layer {
                kind: LayerKind::Dense {
                    inputs: shape.len(),
                    outputs: classes,
                },
                input: shape,
                output: out,
            })?);
        }
        Ok(Self {
            text: text.to_string(),
            input,
            classes,
            layers,
        })
    }

    /// The string as the user gave it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Shape of one input sample.
    pub fn input(&self) -> Shape {
        self.input
    }

    /// Number of classes (neurons of the output layer).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// All layers, pooling included, input to output.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The layers that have weights (and spiking neurons), in order.
    pub fn weighted_layers(&self) -> impl Iterator<Item = &Layer> {
        self.layers.iter().filter(|l| l.has_weights())
    }

    /// True when every layer is dense (an MLP).
    pub fn is_mlp(&self) -> bool {
        self.layers
            .iter()
            .all(|l| matches!(l.kind, LayerKind::Dense { .. }))
    }

    /// One line per layer, for `--help`-style summaries and logs.
    pub fn describe(&self) -> String {
        let mut s = format!("input {}\n", self.input);
        for l in &self.layers {
            let what = match l.kind {
                LayerKind::Dense { inputs, outputs } => format!("dense {inputs}→{outputs}"),
                LayerKind::Conv {
                    in_channels,
                    out_channels,
                    kernel,
                    padding,
                } => {
                    format!("conv {in_channels}→{out_channels} {kernel}×{kernel} pad {padding}")
                }
                LayerKind::Pool { kernel, max } => {
                    let what = if max { "max" } else { "avg" };
                    format!("{what}-pool {kernel}×{kernel}")
                }
            };
            s += &format!("{what:<28} {} → {}\n", l.input, l.output);
        }
        s
    }
}

impl fmt::Display for NetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

enum Token {
    Dense(usize),
    Conv {
        filters: usize,
        kernel: usize,
        padding: Option<usize>,
    },
    Pool {
        kernel: usize,
        max: bool,
    },
}

/// The largest number a token may hold.
const MAX_NUMBER: usize = 1 << 24;

fn number(s: &str, what: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err(format!("{what} must be positive")),
        Ok(n) if n > MAX_NUMBER => Err(format!("{what} {n} is too large")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{what} {s:?} is not a number")),
    }
}

fn parse_token(tok: &str) -> std::result::Result<Token, String> {
    let lower = tok.to_ascii_lowercase();
    if let Some(k) = lower.strip_prefix("mp") {
        return Ok(Token::Pool {
            kernel: number(k, "pool size")?,
            max: true,
        });
    }
    if let Some(k) = lower.strip_prefix('p') {
        return Ok(Token::Pool {
            kernel: number(k, "pool size")?,
            max: false,
        });
    }
    if let Some((filters, rest)) = lower.split_once('c') {
        let (kernel, padding) = match rest.split_once('p') {
            Some((k, p)) => {
                let p = match p.parse::<usize>() {
                    Ok(p) if p > MAX_NUMBER => return Err(format!("padding {p} is too large")),
                    Ok(p) => p,
                    Err(_) => return Err(format!("padding {p:?} is not a number")),
                };
                (k, Some(p))
            }
            None => (rest, None),
        };
        return Ok(Token::Conv {
            filters: number(filters, "filter count")?,
            kernel: number(kernel, "kernel size")?,
            padding,
        });
    }
    if lower.chars().all(|c| c.is_ascii_digit()) {
        return Ok(Token::Dense(number(&lower, "layer size")?));
    }
    Err("expected a number (dense layer), aCk or aCkpP (convolution), Pk (average pooling) or MPk (max pooling)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MNIST: Shape = Shape::new(1, 28, 28);

    fn sizes(spec: &NetSpec) -> Vec<String> {
        spec.layers().iter().map(|l| l.output.to_string()).collect()
    }

    #[test]
    fn paper_mlps() {
        let s = NetSpec::parse("784-800-10", MNIST, 10).unwrap();
        assert_eq!(sizes(&s), ["800", "10"]);
        assert_eq!(s.layers()[0].weight_shape(), [800, 784]);
        assert!(s.is_mlp());
        let s = NetSpec::parse("784-400-400-10", MNIST, 10).unwrap();
        assert_eq!(sizes(&s), ["400", "400", "10"]);
        // The output layer is implied when missing.
        let s = NetSpec::parse("784-400", MNIST, 10).unwrap();
        assert_eq!(sizes(&s), ["400", "10"]);
    }

    #[test]
    fn paper_cnns_have_the_design_shapes() {
        let s = NetSpec::parse("15C5-P2-40C5-P2-300", MNIST, 10).unwrap();
        assert_eq!(
            sizes(&s),
            ["15x24x24", "15x12x12", "40x8x8", "40x4x4", "300", "10"]
        );
        assert_eq!(s.layers()[4].weight_shape(), [300, 640]);
        let s = NetSpec::parse("32C5-P2-64C5-P2-1024", MNIST, 10).unwrap();
        assert_eq!(
            sizes(&s),
            ["32x28x28", "32x14x14", "64x14x14", "64x7x7", "1024", "10"]
        );
        assert_eq!(s.layers()[4].weight_shape(), [1024, 3136]);
        let s = NetSpec::parse(
            "96C3-256C3-P2-384C3-P2-384C3-256C3-1024-1024",
            Shape::new(3, 32, 32),
            10,
        )
        .unwrap();
        assert_eq!(
            sizes(&s),
            [
                "96x32x32",
                "256x32x32",
                "256x16x16",
                "384x16x16",
                "384x8x8",
                "384x8x8",
                "256x8x8",
                "1024",
                "1024",
                "10"
            ]
        );
        assert_eq!(s.layers()[7].weight_shape(), [1024, 16384]);
        assert_eq!(s.layers()[0].fan_in(), 27);
    }

    #[test]
    fn max_pooling_token() {
        let s = NetSpec::parse("15C5-MP2-40C5-MP2-300", MNIST, 10).unwrap();
        assert_eq!(
            sizes(&s),
            ["15x28x28", "15x14x14", "40x14x14", "40x7x7", "300", "10"]
        );
        assert_eq!(
            s.layers()[1].kind,
            LayerKind::Pool {
                kernel: 2,
                max: true
            }
        );
        assert_eq!(
            s.layers()[3].kind,
            LayerKind::Pool {
                kernel: 2,
                max: true
            }
        );
        assert!(!s.layers()[1].has_weights());
        assert_eq!(s.layers()[1].weight_len(), 0);
        assert!(s.describe().contains("max-pool 2×2"), "{}", s.describe());
        // Lower case, odd windows, and `Pk` stays average.
        let s = NetSpec::parse("4C3p0-mp3-P2", MNIST, 10).unwrap();
        assert_eq!(sizes(&s), ["4x26x26", "4x8x8", "4x4x4", "10"]);
        assert_eq!(
            s.layers()[1].kind,
            LayerKind::Pool {
                kernel: 3,
                max: true
            }
        );
        assert_eq!(
            s.layers()[2].kind,
            LayerKind::Pool {
                kernel: 2,
                max: false
            }
        );
        assert!(s.describe().contains("max-pool 3×3"));
        assert!(s.describe().contains("avg-pool 2×2"));
    }

    #[test]
    fn explicit_padding() {
        let s = NetSpec::parse("8C5p0-P2", MNIST, 10).unwrap();
        assert_eq!(sizes(&s), ["8x24x24", "8x12x12", "10"]);
    }

    #[test]
    fn malformed_strings_are_clear_errors() {
        for bad in [
            "",
            "784--10",
            "784-x-10",
            "785-10",
            "784-0-10",
            "3C99p0",
            "784-10-P2",
            "7C3p-10",
            "1C0",
            "8C5-MP0",
            "8C5-MPx",
            "8C5-M2",
            "8C5-PM2",
            "784-10-MP2",
            // Found by fuzzing (fuzz/): sizes that overflowed `usize` instead of being refused.
            "16C3p18446744073709551615-P2-32C5p2-MP2-100",
            "16C3p0-P2-32C5p222222222-MP2-100",
            "16777216C3p16777216-16777216C3",
            "16777216C3-16777216",
        ] {
            let e = NetSpec::parse(bad, MNIST, 10).unwrap_err();
            assert!(matches!(e, Error::InvalidSpec { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("invalid network string"), "{e}");
        }
    }

    #[test]
    fn absurd_input_shapes_and_class_counts_are_refused() {
        // An input shape or class count read from a checkpoint's metadata may claim anything; found
        // by fuzzing (fuzz/), they overflowed `usize` instead of being refused.
        let huge = usize::MAX / 2;
        for (input, classes) in [
            (Shape::new(huge, huge, 1), 10),
            (Shape::new(3_333_333_333, 32, 32), 10),
            (Shape::new(1, 28, 28), huge),
            (Shape::new(1 << 20, 1 << 20, 1), 10),
        ] {
            let e = NetSpec::parse("8C3-P2-100", input, classes).unwrap_err();
            assert!(e.to_string().contains("too"), "{input} {classes}: {e}");
        }
        // The largest sizes still parse.
        let big = NetSpec::parse("P4-P4", Shape::new(1, 1 << 16, 1 << 16), 10).unwrap();
        assert_eq!(big.layers()[2].weight_len(), 10 << 24);
    }
}
