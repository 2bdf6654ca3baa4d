//! Where a dead class's output neuron stands: for an output neuron that emitted no spike for any
//! test input, how far below the threshold its pre-reset potential v[t] (eq 3) stays. It is
//! computed on the host from the spikes of the layer below (recorded by one forward pass of the
//! test set) and the output layer's weights, so it needs no kernel of its own; the sums run in
//! another order than the backend's, which moves v by float32 rounding only.

use serde::{Deserialize, Serialize};

use super::outcome::EVAL_BATCH;
use crate::backend::Backend;
use crate::dataset::{ImageSet, Order};
use crate::error::Result;
use crate::model::Model;
use crate::pass::gather;
use crate::spec::LayerKind;

/// The pre-reset potential of a dead class's output neuron over the test inputs and steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadClass {
    /// The class.
    pub class: usize,
    /// The largest v\[t\] over every test input and step (below V_th, or the neuron would fire).
    pub max_potential: f32,
    /// The mean of v\[t\] over every test input and step.
    pub mean_potential: f64,
}

/// The potentials of the output neurons of `classes` over `test`, where the output layer is dense
/// and fed by a weighted layer (no pooling between); empty otherwise.
pub fn dead_class_potentials(
    backend: &mut dyn Backend,
    model: &Model,
    test: &ImageSet,
    classes: &[usize],
) -> Result<Vec<DeadClass>> {
    let layers = model.spec.layers();
    let n = layers.len();
    let fed_by_weighted = n >= 2 && layers[n - 2].has_weights();
    let LayerKind::Dense { inputs, .. } = layers[n - 1].kind else {
        return Ok(Vec::new());
    };
    if classes.is_empty() || !fed_by_weighted {
        return Ok(Vec::new());
    }
    let (h, w) = (
        &model.hyper,
        model.weights.last().expect("a weighted layer"),
    );
    let (lambda, steps) = (h.lambda(), h.steps);
    let mut max = vec![f32::NEG_INFINITY; classes.len()];
    let mut sum = vec![0.0f64; classes.len()];
    let order = Order::identity(test.len()).words();
    for first in (0..test.len()).step_by(EVAL_BATCH) {
        let batch = EVAL_BATCH.min(test.len() - first);
        let (mut x, mut labels) = (vec![0.0; batch * test.shape.len()], vec![0; batch]);
        gather(test, &order, 0, first, &mut x, &mut labels);
        let out = backend.infer_all(&x, true)?;
        // The spikes feeding the output layer, `[steps][batch][inputs]`.
        let below = &out.layers[out.layers.len() - 2];
        for (k, &c) in classes.iter().enumerate() {
            let row = &w[c * inputs..(c + 1) * inputs];
            for b in 0..batch {
                let mut u = 0.0f32;
                for t in 0..steps {
                    let s = &below[(t * batch + b) * inputs..][..inputs];
                    let v = lambda * u + row.iter().zip(s).map(|(w, s)| w * s).sum::<f32>();
                    max[k] = max[k].max(v);
                    sum[k] += f64::from(v);
                    u = v - h.v_th * out.output[(t * batch + b) * out.classes + c];
                }
            }
        }
    }
    let count = (test.len() * steps) as f64;
    Ok(classes
        .iter()
        .enumerate()
        .map(|(k, &class)| DeadClass {
            class,
            max_potential: max[k],
            mean_potential: sum[k] / count,
        })
        .collect())
}
