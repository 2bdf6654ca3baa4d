//! Writes the seed corpus of the fuzz targets (`fuzz/corpus/<target>/`) with the real encoders:
//! checkpoints and exports by mtsnn-core, IDX and CIFAR-10 files as the formats define them,
//! images by the `image` crate. Run once when a format changes:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds -- fuzz/corpus`.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use mtsnn_core::checkpoint::WeightFormat;
use mtsnn_core::{Hyper, Model, NetSpec, Shape};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> Result {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

/// An IDX file of unsigned bytes.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// A tiny model: few weights, so that the seeds stay small.
fn model(net: &str, input: Shape) -> Result<Model> {
    let spec = NetSpec::parse(net, input, 10)?;
    let hyper = Hyper::default().with_steps(2);
    Ok(Model::init(spec, hyper, 7)?)
}

fn main() -> Result {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: seeds OUT_DIR")?
        .into();

    let cnn = model("2C3-MP4-P7", Shape::new(1, 28, 28))?;
    let mlp = model("4-3", Shape::new(1, 2, 2))?;
    let extra = [
        ("dataset", "mnist"),
        ("norm_mean", "0.1307"),
        ("norm_std", "0.3081"),
        (
            "class_names",
            r#"["0","1","2","3","4","5","6","7","8","9"]"#,
        ),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let files = [
        ("full-cnn.safetensors", cnn.to_bytes()?),
        ("full-mlp.safetensors", mlp.to_bytes()?),
        (
            "f16-export.safetensors",
            cnn.to_inference_bytes_with(true, &extra)?,
        ),
        ("f32-export.safetensors", mlp.to_inference_bytes(false)?),
        (
            "i8-export.safetensors",
            cnn.to_export_bytes(WeightFormat::I8, &extra)?,
        ),
    ];
    for (name, bytes) in &files {
        write(&out, "checkpoint", name, bytes)?;
        write(&out, "web_model", name, bytes)?;
    }

    let nets = [
        "784-800-10",
        "784-400-400-10",
        "15C5-P2-40C5-P2-300",
        "15C5-MP2-40C5-MP2-300",
        "16C3p0-P2-32C5p2-MP2-100",
        "3x32x32 10\n32C3-P2-64C3-P2-256-10",
    ];
    for (i, net) in nets.iter().enumerate() {
        write(&out, "netspec", &format!("net{i}.txt"), net.as_bytes())?;
    }

    let images = idx(&[2, 3, 3], &(0..18).map(|i| i * 14).collect::<Vec<u8>>());
    let labels = idx(&[2], &[7, 0]);
    write(&out, "idx", "images-idx3-ubyte", &images)?;
    write(&out, "idx", "labels-idx1-ubyte", &labels)?;
    write(&out, "idx", "images-idx3-ubyte.gz", &gzip(&images)?)?;
    write(&out, "idx", "labels-idx1-ubyte.gz", &gzip(&labels)?)?;

    let mut record = vec![3u8];
    record.extend((0..3 * 32 * 32).map(|i| (i % 251) as u8));
    write(&out, "cifar", "data_batch.bin", &record)?;

    let rgba = RgbaImage::from_fn(6, 5, |x, y| {
        Rgba([
            (x * 40) as u8,
            (y * 50) as u8,
            90,
            if x == 0 { 0 } else { 255 },
        ])
    });
    let rgb = RgbImage::from_fn(8, 8, |x, y| Rgb([(x * 30) as u8, (y * 30) as u8, 200]));
    let gray = image::GrayImage::from_fn(4, 4, |x, y| image::Luma([((x + y) * 30) as u8]));
    let encode = |img: image::DynamicImage, format| -> Result<Vec<u8>> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, format)?;
        Ok(bytes.into_inner())
    };
    write(
        &out,
        "image",
        "rgba.png",
        &encode(rgba.into(), ImageFormat::Png)?,
    )?;
    write(
        &out,
        "image",
        "gray.png",
        &encode(gray.into(), ImageFormat::Png)?,
    )?;
    write(
        &out,
        "image",
        "rgb.jpg",
        &encode(rgb.clone().into(), ImageFormat::Jpeg)?,
    )?;
    write(
        &out,
        "image",
        "rgb.bmp",
        &encode(rgb.into(), ImageFormat::Bmp)?,
    )?;
    Ok(())
}
