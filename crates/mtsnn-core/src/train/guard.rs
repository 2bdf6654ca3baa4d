//! The guard against dead classes (`Hyper::guard_dead_classes`, not in the paper).
//!
//! An output neuron pushed far below its threshold early in training receives no gradient again:
//! f2 (eq 15) has its Gaussians at i·V_th, i ≥ 1, and is zero in float32 at the potentials such a
//! neuron sits at (docs/results.md, "Dead classes"). Its class is then lost for the rest of the run.
//!
//! After each epoch the guard runs the first [`PROBE_SAMPLES`] training images (in their file
//! order, not augmented: test data never steer training) and restarts every output neuron that
//! fired for none of them: its incoming weights are drawn afresh as eq 17 draws them at the start,
//! and its Adam moments are zeroed. The draw comes from a generator seeded by the run's seed and
//! the epoch, so a resumed run restarts exactly as the uninterrupted one would have.

use crate::dataset::ImageSet;
use crate::error::{Error, Result};
use crate::hyper::InitMean;
use crate::model::Model;
use crate::rng::Rng;
use crate::spec::LayerKind;

/// Training images the guard looks at after each epoch.
pub const PROBE_SAMPLES: usize = 10_000;

/// Mixed into the run's seed so that restarts draw from their own stream.
const GUARD_STREAM: u64 = 0x6775_6172_6421_0001;

/// The images the guard probes: the first [`PROBE_SAMPLES`] of `train`.
pub fn probe_set(train: &ImageSet) -> Result<ImageSet> {
    let n = train.len().min(PROBE_SAMPLES);
    ImageSet::new(
        train.shape,
        train.pixels[..n * train.shape.len()].to_vec(),
        train.labels[..n].to_vec(),
        train.tables.clone(),
    )
}

/// Gives the output neurons of `classes` new initial weights (eq 17: Normal(V_th / N, 0.5), N as
/// `hyper.init` says) and zero Adam moments, drawn from the generator of `(seed, epoch)`.
/// The output layer must be dense.
pub fn restart_output_neurons(
    model: &mut Model,
    classes: &[usize],
    seed: u64,
    epoch: usize,
) -> Result<()> {
    let layer = model
        .spec
        .weighted_layers()
        .last()
        .ok_or_else(|| Error::Shape("a network without weighted layers".into()))?;
    let LayerKind::Dense { inputs, outputs } = layer.kind else {
        return Err(Error::Shape(
            "the dead-class guard needs a dense output layer".into(),
        ));
    };
    // Eq 17's N, as `Model::init` takes it.
    let n = match model.hyper.init {
        InitMean::PreLayer => layer.input_len(),
        InitMean::FanIn => layer.fan_in(),
    };
    let mean = f64::from(model.hyper.v_th) / n as f64;
    let mut rng =
        Rng::new((seed ^ GUARD_STREAM) ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let last = model.weights.len() - 1;
    for &c in classes {
        if c >= outputs {
            return Err(Error::Shape(format!(
                "class {c} of a network with {outputs} outputs"
            )));
        }
        let row = c * inputs..(c + 1) * inputs;
        for w in &mut model.weights[last][row.clone()] {
            *w = (mean + 0.5 * rng.normal()) as f32;
        }
        model.adam.m[last][row.clone()].fill(0.0);
        model.adam.v[last][row].fill(0.0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper::Hyper;
    use crate::spec::{NetSpec, Shape};

    #[test]
    fn restarts_only_the_named_rows_and_repeats() {
        let spec = NetSpec::parse("12-6-3", Shape::new(1, 3, 4), 3).unwrap();
        let mut model = Model::init(spec, Hyper::default(), 5).unwrap();
        for t in model.adam.m.iter_mut().chain(model.adam.v.iter_mut()) {
            t.fill(0.25);
        }
        let before = model.clone();
        restart_output_neurons(&mut model, &[1], 9, 4).unwrap();
        let (w0, w1) = (&before.weights[1], &model.weights[1]);
        assert_eq!(
            model.weights[0], before.weights[0],
            "hidden layer untouched"
        );
        assert_eq!(w1[..6], w0[..6], "row 0 untouched");
        assert_eq!(w1[12..], w0[12..], "row 2 untouched");
        assert!(w1[6..12].iter().zip(&w0[6..12]).all(|(a, b)| a != b));
        assert!(model.adam.m[1][6..12].iter().all(|&m| m == 0.0));
        assert!(model.adam.v[1][6..12].iter().all(|&v| v == 0.0));
        assert!(model.adam.m[1][..6].iter().all(|&m| m == 0.25));
        // The same seed and epoch draw the same weights; another epoch other ones.
        let mut again = before.clone();
        restart_output_neurons(&mut again, &[1], 9, 4).unwrap();
        assert_eq!(again, model);
        restart_output_neurons(&mut again, &[1], 9, 5).unwrap();
        assert_ne!(again.weights[1][6..12], model.weights[1][6..12]);
        assert!(restart_output_neurons(&mut again, &[3], 9, 5).is_err());
    }

    #[test]
    fn probes_the_first_images() {
        let shape = Shape::new(1, 1, 2);
        let set = ImageSet::new(
            shape,
            vec![1, 2, 3, 4, 5, 6],
            vec![0, 1, 2],
            vec![[0.0; 256]],
        )
        .unwrap();
        let probe = probe_set(&set).unwrap();
        assert_eq!(probe.len(), 3);
        assert_eq!(probe.pixels, set.pixels);
    }
}
