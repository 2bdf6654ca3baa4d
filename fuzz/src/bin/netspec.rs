//! Fuzz target: network strings (`784-800-10`, `15C5-P2-40C5-P2-300`, …). An optional first line
//! `CxHxW classes` sets the input and the number of classes, as a checkpoint's metadata may claim
//! any; without it the input is MNIST's. A parsed network's layers must chain.

use mtsnn_core::{NetSpec, Shape};

/// `CxHxW classes`, e.g. `3x32x32 10`.
fn input_and_classes(line: &str) -> Option<(Shape, usize)> {
    let (shape, classes) = line.split_once(' ')?;
    let dims: Vec<usize> = shape
        .split('x')
        .map(|d| d.parse().ok())
        .collect::<Option<_>>()?;
    let [c, h, w] = dims[..] else { return None };
    Some((Shape::new(c, h, w), classes.parse().ok()?))
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let (input, classes, net) = match text.split_once('\n') {
            Some((head, net)) => match input_and_classes(head) {
                Some((input, classes)) => (input, classes, net),
                None => return,
            },
            None => (Shape::new(1, 28, 28), 10, text),
        };
        let Ok(spec) = NetSpec::parse(net, input, classes) else {
            return;
        };
        let mut values = spec.input().len();
        for layer in spec.layers() {
            assert_eq!(layer.input.len(), values, "layers do not chain: {spec:?}");
            values = layer.output.len();
            let _ = layer.weight_len();
        }
        assert_eq!(values, spec.classes());
        let _ = spec.describe();
    });
}
