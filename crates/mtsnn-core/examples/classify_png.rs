//! Classifies a PNG with a saved model on the CPU:
//! `cargo run --release -p mtsnn-core --example classify_png -- web/models/mnist.safetensors digit.png`
//! The image must already be the network's size (28×28 for MNIST and FashionMNIST), light on dark
//! as in those data sets; `mtsnn infer` resizes, inverts and flattens transparency itself.

use mtsnn_core::Classifier;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, model, png] = &args[..] else {
        return Err("usage: classify_png MODEL.safetensors IMAGE.png".into());
    };
    // The model file records its data set, which fixes the normalisation and the class names.
    let mut classifier = Classifier::load(model)?;
    let image = image::open(png)?;
    let pixels = match classifier.input().channels {
        3 => image
            .to_rgb8()
            .pixels()
            .flat_map(|p| p.0)
            .collect::<Vec<u8>>(),
        _ => image.to_luma8().into_raw(),
    };
    let answer = classifier.classify(&pixels)?;
    println!("class {} ({})", answer.class, answer.name);
    for (t, step) in answer.per_step.iter().enumerate() {
        println!("step {t}: output spikes {step:?}");
    }
    Ok(())
}
