//! `mtsnn infer`: classifies image files with a saved model and shows its output spikes.
//!
//! Each image is read (PNG, JPEG or BMP), flattened onto white where it is transparent, turned to
//! grayscale, resized to the network's input (28×28), inverted if needed so that the object is light
//! on a dark background like MNIST and FashionMNIST, and normalised exactly as in training.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use image::imageops::FilterType;
use image::{GrayImage, ImageReader};
use mtsnn_core::{BackendKind, Inference};
use safetensors::tensor::{Dtype, TensorView};
use serde::Serialize;

use super::{data_source, load_model, make_backend};
use crate::data::{DatasetKind, kind_parser};

/// Whether to invert images before classifying them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Invert {
    /// Invert images whose border is mostly light (dark ink on light paper)
    Auto,
    /// Always invert
    Yes,
    /// Never invert
    No,
}

/// Options of `mtsnn infer`.
#[derive(Args, Debug)]
pub struct InferArgs {
    /// The model or checkpoint (.safetensors)
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Images to classify (PNG, JPEG or BMP; any size, colour or grayscale)
    #[arg(value_name = "IMAGE", required = true)]
    images: Vec<PathBuf>,
    /// Data set the model was trained on; decides the normalisation and the class names
    /// [default: the one in the run.json beside the model]
    #[arg(long, value_parser = kind_parser())]
    dataset: Option<DatasetKind>,
    /// Invert the images: the data sets have light objects on black
    #[arg(long, value_enum, default_value_t = Invert::Auto)]
    invert: Invert,
    /// Where to compute: cpu, gpu, or auto (a hardware GPU when there is one, else the CPU)
    #[arg(long, default_value_t = BackendKind::Auto)]
    backend: BackendKind,
    /// Print one JSON object per image (one per line) instead of text
    #[arg(long)]
    json: bool,
    /// Also write every weighted layer's spike counts to FILE (safetensors: `layer{i}.spikes`,
    /// `[steps, images, neurons]`, U8, or U16 when S_max > 255), for comparing another
    /// implementation with this one layer by layer
    #[arg(long, value_name = "FILE")]
    record_layers: Option<PathBuf>,
}

/// The result for one image, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Prediction {
    image: PathBuf,
    /// Predicted class index: the output neuron with the most spikes over all steps.
    class: usize,
    /// What the class is (a digit, or a clothing name).
    name: &'static str,
    /// Whether the image was inverted.
    inverted: bool,
    /// Output spike counts per time step, `[steps][classes]`.
    spikes: Vec<Vec<u32>>,
    /// Output spike counts summed over the steps.
    totals: Vec<u32>,
}

/// Runs `mtsnn infer`.
pub fn run(args: &InferArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let (dataset, _) = data_source(&args.model, args.dataset, None)?;
    let shape = model.spec().input();
    let tables = dataset.tables(model.hyper().input_scale);
    if shape.channels != tables.len() || !matches!(shape.channels, 1 | 3) {
        bail!(
            "the network {} takes {shape} inputs but {dataset} images have {} channel(s)",
            model.spec().text(),
            tables.len()
        );
    }
    let (width, height) = (u32::try_from(shape.width)?, u32::try_from(shape.height)?);
    let mut x = Vec::with_capacity(args.images.len() * shape.len());
    let mut inverted = Vec::new();
    for path in &args.images {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot open {}", path.display()))?;
        let (pixels, inv) = if shape.channels == 3 {
            (colour_pixels(&bytes, path, width, height)?, false)
        } else {
            gray_pixels(&bytes, path, width, height, args.invert)?
        };
        for (plane, table) in pixels.chunks_exact(shape.height * shape.width).zip(&tables) {
            x.extend(plane.iter().map(|&p| table[usize::from(p)]));
        }
        inverted.push(inv);
    }
    let mut backend = make_backend(args.backend, &model)?;
    let out = backend
        .infer_all(&x, args.record_layers.is_some())
        .context("inference failed")?;
    if let Some(path) = &args.record_layers {
        write_layers(path, &out, args.images.len(), model.hyper().s_max)?;
    }
    let names = dataset.class_names();
    let mut stdout = std::io::stdout().lock();
    for (b, (path, class)) in args.images.iter().zip(out.predictions()).enumerate() {
        let spikes: Vec<Vec<u32>> = out
            .output
            .chunks_exact(out.batch * out.classes)
            .map(|step| {
                step[b * out.classes..(b + 1) * out.classes]
                    .iter()
                    .map(|&s| s as u32)
                    .collect()
            })
            .collect();
        let totals = (0..out.classes)
            .map(|c| spikes.iter().map(|s| s[c]).sum())
            .collect();
        let p = Prediction {
            image: path.clone(),
            class,
            name: names.get(class).copied().unwrap_or("?"),
            inverted: inverted[b],
            spikes,
            totals,
        };
        if args.json {
            writeln!(stdout, "{}", serde_json::to_string(&p)?)?;
        } else {
            print_text(&mut stdout, &p, dataset)?;
        }
    }
    Ok(())
}

/// Writes the spike counts of every weighted layer (`out.layers`, each `[steps][images][neurons]`)
/// as a safetensors file of unsigned integers: U8 when `s_max` fits, else U16.
fn write_layers(path: &Path, out: &Inference, images: usize, s_max: u32) -> Result<()> {
    let wide = s_max > u32::from(u8::MAX);
    let data: Vec<(String, Vec<u8>, Vec<usize>)> = out
        .layers
        .iter()
        .enumerate()
        .map(|(i, spikes)| {
            let bytes = if wide {
                spikes
                    .iter()
                    .flat_map(|&s| (s as u16).to_le_bytes())
                    .collect()
            } else {
                spikes.iter().map(|&s| s as u8).collect()
            };
            let shape = vec![out.steps, images, spikes.len() / (out.steps * images)];
            (format!("layer{i}.spikes"), bytes, shape)
        })
        .collect();
    let dtype = if wide { Dtype::U16 } else { Dtype::U8 };
    let views = data
        .iter()
        .map(|(name, bytes, shape)| {
            Ok((name.clone(), TensorView::new(dtype, shape.clone(), bytes)?))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .context("encoding the layers' spike counts")?;
    let bytes = safetensors::serialize(views, None).context("encoding the layers' spike counts")?;
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes one prediction as text.
fn print_text(out: &mut impl Write, p: &Prediction, dataset: DatasetKind) -> Result<()> {
    let label = match dataset {
        DatasetKind::Mnist => format!("class {}", p.class),
        DatasetKind::FashionMnist | DatasetKind::Cifar10 => {
            format!("class {} ({})", p.class, p.name)
        }
    };
    let inverted = if p.inverted { " [inverted]" } else { "" };
    writeln!(out, "{}: {label}{inverted}", p.image.display())?;
    let row = |counts: &[u32]| counts.iter().map(|c| format!("{c:>3}")).collect::<String>();
    writeln!(
        out,
        "  class:{}",
        row(&(0..p.totals.len() as u32).collect::<Vec<_>>())
    )?;
    for (t, step) in p.spikes.iter().enumerate() {
        writeln!(out, "  t={:<4}{}", t + 1, row(step))?;
    }
    writeln!(out, "  total:{}", row(&p.totals))?;
    Ok(())
}

/// Decodes the bytes of an image file (`path` names it in errors) as `width`×`height` grayscale
/// pixels, light object on dark ground; returns the pixels and whether they were inverted.
pub fn gray_pixels(
    bytes: &[u8],
    path: &Path,
    width: u32,
    height: u32,
    invert: Invert,
) -> Result<(Vec<u8>, bool)> {
    let image = decode(bytes, path)?;
    // Transparent pixels count as white paper.
    let gray_alpha = image.to_luma_alpha8();
    let gray = GrayImage::from_fn(gray_alpha.width(), gray_alpha.height(), |x, y| {
        let [l, a] = gray_alpha.get_pixel(x, y).0;
        let v = (u32::from(l) * u32::from(a) + 255 * (255 - u32::from(a))) / 255;
        image::Luma([v as u8])
    });
    let invert = match invert {
        Invert::Yes => true,
        Invert::No => false,
        Invert::Auto => border_mean(&gray) > 127.5,
    };
    let mut resized = if gray.dimensions() == (width, height) {
        gray
    } else {
        image::imageops::resize(&gray, width, height, FilterType::Triangle)
    };
    if invert {
        image::imageops::invert(&mut resized);
    }
    Ok((resized.into_raw(), invert))
}

/// The widest and tallest image `infer` reads (a 12-megapixel photo fits): decoding time and
/// memory grow with the size a file claims, which a few hundred bytes can set to billions of pixels.
const MAX_SIDE: u32 = 4096;

/// Decodes the bytes of an image file of any format the `image` crate knows, at most
/// [`MAX_SIDE`] pixels wide and tall.
fn decode(bytes: &[u8], path: &Path) -> Result<image::DynamicImage> {
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .with_context(|| format!("cannot read {}", path.display()))
    };
    let not_an_image = || {
        format!(
            "{} is not an image this program can read (PNG, JPEG or BMP)",
            path.display()
        )
    };
    let (width, height) = reader()?.into_dimensions().with_context(not_an_image)?;
    if width > MAX_SIDE || height > MAX_SIDE {
        bail!(
            "{}: {width}×{height} pixels; images up to {MAX_SIDE}×{MAX_SIDE} are read",
            path.display()
        );
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    let mut reader = reader()?;
    reader.limits(limits);
    reader.decode().with_context(not_an_image)
}

/// The bytes of a colour image file decoded and resized to `width`×`height`, as planes `[R][G][B]`
/// (CIFAR-10's layout).
pub fn colour_pixels(bytes: &[u8], path: &Path, width: u32, height: u32) -> Result<Vec<u8>> {
    let rgb = decode(bytes, path)?.to_rgb8();
    let rgb = if rgb.dimensions() == (width, height) {
        rgb
    } else {
        image::imageops::resize(&rgb, width, height, FilterType::Triangle)
    };
    Ok((0..3)
        .flat_map(|c| rgb.pixels().map(move |p| p.0[c]))
        .collect())
}

/// Mean value of the outermost ring of pixels.
fn border_mean(img: &GrayImage) -> f64 {
    let (w, h) = img.dimensions();
    let (mut sum, mut n) = (0u64, 0u64);
    for (x, y, p) in img.enumerate_pixels() {
        if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
            sum += u64::from(p.0[0]);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { sum as f64 / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn border_decides_inversion() {
        let dark = GrayImage::from_fn(5, 5, |x, y| {
            image::Luma([if (x, y) == (2, 2) { 255 } else { 0 }])
        });
        assert_eq!(border_mean(&dark), 0.0);
        let light = GrayImage::from_fn(5, 5, |x, y| {
            image::Luma([if (x, y) == (2, 2) { 0 } else { 250 }])
        });
        assert_eq!(border_mean(&light), 250.0);
    }
}
