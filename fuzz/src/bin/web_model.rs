//! Fuzz target: the browser's `Model.load` (crates/mtsnn-web), natively: the model file with the
//! data set unnamed and named, then one classification on the CPU as `model.infer` would run it.

use mtsnn_web::{Dataset, Engine};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        for requested in [None, Some(Dataset::Mnist)] {
            if let Ok(mut engine) = Engine::load(data, requested) {
                let pixels = vec![0.5; engine.spec().input().len()];
                let outcome =
                    pollster::block_on(engine.infer(&pixels)).expect("a loaded model classifies");
                assert!(outcome.label < engine.spec().classes());
            }
        }
    });
}
