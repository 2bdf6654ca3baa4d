//! What a training reports when it goes wrong without failing: a layer silent at initialisation,
//! an epoch that looks divergent, output neurons that never fire ("dead classes"). Each check
//! returns its warning as text, with the likely cause; the caller shows it.

use super::metrics::EpochMetrics;
use super::outcome::TestOutcome;
use crate::backend::Inference;
use crate::hyper::{GradMode, InitMean};
use crate::model::Model;

/// The warning when a layer of the freshly initialised network emits no spike for any of the
/// first batch's samples (`first`, its forward pass with every layer recorded): the layers
/// above it then get no input, and learning has to start from the surrogate's far tails (f2 at
/// v = 0 is e^−5 ≈ 0.007 with Table I values), slowly or not at all. (The pre-layer init of eq
/// 17 leaves the deep CIFAR-10 network silent from its 4th convolution up; the fan-in init keeps
/// spikes flowing there.)
pub fn silent_at_init(model: &Model, first: &Inference) -> Option<String> {
    let i = first
        .layers
        .iter()
        .position(|spikes| spikes.iter().all(|&s| s == 0.0))?;
    let shape = model
        .spec
        .weighted_layers()
        .nth(i)
        .map_or_else(String::new, |l| l.output.to_string());
    Some(format!(
        "at initialisation, weighted layer {} of {} ({shape}) emits no spike for any of the first \
         {} training samples (--init {}): the layers above it get no input, and learning can only \
         start from the surrogate gradient's far tails, slowly if at all. {}",
        i + 1,
        first.layers.len(),
        first.batch,
        model.hyper.init.name(),
        match model.hyper.init {
            InitMean::PreLayer =>
                "--init fan-in keeps spikes flowing through deep convolutional networks.",
            InitMean::FanIn => "Try --init pre-layer or another --seed.",
        }
    ))
}

/// The warning at the end of an epoch when training has gone wrong without a NaN: the loss far
/// above that of silent outputs or rising fourfold over `lowest_loss`, training accuracy at
/// chance, every output neuron silent or saturated on the test set; else one naming the output
/// neurons that never fired (named by `class_names`). Adds the likely cause.
pub fn diverging(
    model: &Model,
    m: &EpochMetrics,
    outcome: &TestOutcome,
    lowest_loss: f64,
    class_names: &[&str],
) -> Option<String> {
    let h = &model.hyper;
    let classes = model.spec.classes() as f64;
    // Eq 6 with every output silent: ½ · T · target² (25 with Table I values).
    let silent_loss = 0.5 * h.steps as f64 * f64::from(h.target_count).powi(2);
    let mut signs = Vec::new();
    if m.train_loss > 4.0 * silent_loss {
        signs.push(format!(
            "the training loss {:.1} is far above {silent_loss:.1}, that of silent outputs",
            m.train_loss
        ));
    } else if m.train_loss > 4.0 * lowest_loss {
        signs.push(format!(
            "the training loss rose from {lowest_loss:.2} to {:.2}",
            m.train_loss
        ));
    }
    if m.train_accuracy * classes < 1.2 {
        signs.push(format!(
            "training accuracy {:.2} % is at or below chance ({:.0} %) over the whole epoch",
            100.0 * m.train_accuracy,
            100.0 / classes
        ));
    }
    if outcome.all_silent() {
        signs.push("every output neuron is silent for every test input".into());
    } else if outcome.all_saturated() {
        signs.push(format!(
            "every output neuron fires S_max = {} spikes at every step for every test input",
            h.s_max
        ));
    }
    let cause = if h.grad == GradMode::Bptt && !h.detach_reset {
        "likely cause: --grad bptt without --detach-reset, whose reset path (1 − V_th·f′ per step) \
         makes the gradient blow up or flip sign; add --detach-reset, or use --grad paper"
            .to_string()
    } else if h.lr > 0.05 {
        format!(
            "likely cause: --lr {} is far above Table I's 0.005; try --lr 0.005 or smaller",
            h.lr
        )
    } else {
        "try a smaller --lr, another --seed or the other --init".to_string()
    };
    if !signs.is_empty() {
        return Some(format!(
            "epoch {} looks divergent: {}; {cause}",
            m.epoch,
            signs.join("; ")
        ));
    }
    let dead = outcome.dead_classes();
    if dead.is_empty() {
        return None;
    }
    let below: Vec<String> = m
        .dead_classes
        .iter()
        .map(|d| {
            format!(
                "class {}: at most {:.2}, mean {:.2}",
                d.class, d.max_potential, d.mean_potential
            )
        })
        .collect();
    let below = if below.is_empty() {
        String::new()
    } else {
        format!(
            "; its pre-reset potential (V_th = {}) stays {}",
            h.v_th,
            below.join(", ")
        )
    };
    Some(format!(
        "epoch {}: dead classes: the output neuron of class {} emits no spike for any of the {} \
         test inputs, so the network cannot predict {} (a neuron that stopped firing rarely \
         recovers){below}; {cause}",
        m.epoch,
        outcome.describe_dead(class_names),
        outcome.total,
        if dead.len() == 1 { "it" } else { "them" }
    ))
}
