//! Trains a spiking network from code with the library's `Trainer`: 2,000 generated 8×8 images of
//! 10 classes (a bright row and column each, on noise), the paper's Table I hyper-parameters,
//! 5 epochs, a run folder to resume from. Run: `cargo run --release -p mtsnn-core --example train`.

use std::sync::Arc;

use mtsnn_core::dataset::{DatasetKind, ImageSet, Norm};
use mtsnn_core::{BackendKind, Event, Hyper, Model, NetSpec, Rng, Shape, TrainConfig, Trainer};

/// `n` images: class c lights row c % 8 and column c / 2.
fn images(n: usize, seed: u64) -> mtsnn_core::Result<Arc<ImageSet>> {
    let mut rng = Rng::new(seed);
    let labels: Vec<u32> = (0..n).map(|i| (i % 10) as u32).collect();
    let pixels = labels
        .iter()
        .flat_map(|&c| (0..64).map(move |p| (c as usize, p / 8, p % 8)));
    let pixels = pixels.map(|(c, y, x)| {
        let on = y == c % 8 || x == c / 2;
        (if on { 200.0 } else { 30.0 } + 40.0 * rng.normal()).clamp(0.0, 255.0) as u8
    });
    let table = Norm {
        mean: 0.3,
        std: 0.3,
    }
    .table();
    Ok(Arc::new(ImageSet::new(
        Shape::new(1, 8, 8),
        pixels.collect(),
        labels,
        vec![table],
    )?))
}

fn main() -> mtsnn_core::Result<()> {
    let spec = NetSpec::parse("64-100-10", Shape::new(1, 8, 8), 10)?;
    let model = Model::init(spec, Hyper::default(), 1)?;
    // The data set is only named in run.json (and gives the class names): these are our own images.
    let config = TrainConfig::paper(DatasetKind::Mnist)
        .with_epochs(5)
        .with_crop(1);
    let dir = std::env::temp_dir().join("mtsnn-example-train");
    let mut trainer = Trainer::new(model, config, images(2000, 1)?, images(500, 2)?, dir)
        .backend(BackendKind::Cpu)
        .replace_existing(true);
    let finish = trainer.run(&mut |event| match event {
        Event::EpochDone(m) => println!("epoch {}: test {:.1} %", m.epoch, 100.0 * m.test_accuracy),
        Event::Warning(w) => eprintln!("warning: {w}"),
        _ => {}
    })?;
    println!("{finish:?}");
    Ok(())
}
