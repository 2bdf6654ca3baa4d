//! Classifies a grayscale PNG with a saved model on the CPU:
//! `cargo run --release -p mtsnn-core --example classify_png -- web/models/mnist.safetensors digit.png`
//! The image must already be the network's size (28×28), light on dark as in MNIST.

use std::path::Path;

use mtsnn_core::dataset::{DatasetKind, META_DATASET};
use mtsnn_core::{Backend, CpuBackend, Model, checkpoint};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, model_path, png] = &args[..] else {
        return Err("usage: classify_png MODEL.safetensors IMAGE.png".into());
    };
    let model = Model::load(Path::new(model_path))?;
    // An exported model records its data set, which with the model's input scale fixes the
    // normalisation, and the class names.
    let meta = checkpoint::read_metadata(&std::fs::read(model_path)?, Path::new(model_path))?;
    let dataset: DatasetKind = meta
        .get(META_DATASET)
        .ok_or("no data set recorded")?
        .parse()?;
    let table = dataset.tables(model.hyper.input_scale)[0];
    let image = image::open(png)?.to_luma8();
    let x: Vec<f32> = image.pixels().map(|p| table[usize::from(p.0[0])]).collect();
    if x.len() != model.spec.input().len() {
        return Err(format!("the network takes {} images", model.spec.input()).into());
    }
    let out = CpuBackend::new(&model)?.infer(&x, false)?;
    let class = out.predictions()[0];
    println!("class {class} ({})", dataset.class_names()[class]);
    for (t, step) in out.output.chunks_exact(out.classes).enumerate() {
        println!("step {t}: output spikes {step:?}");
    }
    Ok(())
}
