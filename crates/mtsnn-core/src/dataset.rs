//! Data-set metadata: what training, evaluation and the browser must agree on about each data set —
//! its name, the shape of a sample, how a pixel becomes a network input, and what the classes are.
//! File formats (IDX, CIFAR-10's binary batches) and where the files live belong to the callers.
//!
//! Normalisation: a pixel `p` of channel `c` becomes `(p/255 − mean_c) / std_c` ([`Norm`]). The
//! constants depend on the data set's name and on the model's [`InputScale`] (a hyper-parameter
//! that checkpoints record) alone, so every caller that knows both normalises as training did.
//! `mtsnn export` writes them into a model file's metadata under the keys of
//! [`DatasetKind::metadata`], for readers that do not know the data set.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::spec::Shape;

/// Number of classes of every data set.
pub const CLASSES: usize = 10;

/// Metadata key of the data set's name in an exported model file.
pub const META_DATASET: &str = "dataset";
/// Metadata key of the per-channel means, comma-separated.
pub const META_NORM_MEAN: &str = "norm_mean";
/// Metadata key of the per-channel standard deviations, comma-separated.
pub const META_NORM_STD: &str = "norm_std";
/// Metadata key of the class names, a JSON list of strings.
pub const META_CLASS_NAMES: &str = "class_names";

/// Which data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits 0–9 (LeCun et al.).
    Mnist,
    /// Zalando's clothing images, 10 classes (Xiao et al.).
    FashionMnist,
    /// 32×32 colour images of 10 object classes (Krizhevsky).
    #[serde(rename = "cifar10")]
    Cifar10,
}

/// Mean and (population) standard deviation of pixel/255 over a training set, for one channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Norm {
    /// Mean of pixel/255.
    pub mean: f32,
    /// Population standard deviation of pixel/255.
    pub std: f32,
}

impl Norm {
    /// The identity on raw intensities: inputs `p/255` in `0..=1`.
    pub const UNIT: Self = Self {
        mean: 0.0,
        std: 1.0,
    };

    /// The network input for a raw intensity `x` in `0..=1` (`p/255` for an 8-bit pixel).
    pub fn normalise(&self, x: f32) -> f32 {
        (x - self.mean) / self.std
    }

    /// The normalised value of every possible 8-bit pixel.
    pub fn table(&self) -> [f32; 256] {
        std::array::from_fn(|p| self.normalise(p as f32 / 255.0))
    }
}

/// How a pixel becomes a network input (`--input-scale`). The paper does not say; standardising
/// with the training set's statistics is this project's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputScale {
    /// `(p/255 − mean_c) / std_c` with the data set's [`DatasetKind::norms`].
    #[default]
    Standard,
    /// `p/255`, in `0..=1`.
    Unit,
}

impl InputScale {
    /// Every scaling.
    pub const ALL: [Self; 2] = [Self::Standard, Self::Unit];

    /// The name users type: `standard` or `unit`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Unit => "unit",
        }
    }
}

impl fmt::Display for InputScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for InputScale {
    type Err = Error;
    /// A scaling by its [`name`](Self::name), in any case.
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::InvalidParam {
                name: "input_scale",
                reason: format!("{s:?} is not one of standard, unit"),
            })
    }
}

impl DatasetKind {
    /// Every data set.
    pub const ALL: [Self; 3] = [Self::Mnist, Self::FashionMnist, Self::Cifar10];

    /// The name users type (`--dataset`) and files record (run.json, exported models).
    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::Cifar10 => "cifar10",
        }
    }

    /// What the data set is, in a few words.
    pub fn description(self) -> &'static str {
        match self {
            Self::Mnist => "Handwritten digits 0–9 (LeCun et al.)",
            Self::FashionMnist => "Zalando's clothing images, 10 classes (Xiao et al.)",
            Self::Cifar10 => {
                "32×32 colour images of 10 object classes (Krizhevsky), binary version"
            }
        }
    }

    /// The shape of one sample: channels × height × width.
    pub fn shape(self) -> Shape {
        match self {
            Self::Mnist | Self::FashionMnist => Shape::new(1, 28, 28),
            Self::Cifar10 => Shape::new(3, 32, 32),
        }
    }

    /// Normalisation of each channel: mean and (population) standard deviation of pixel/255 over
    /// the training pixels. MNIST 0.130660, 0.308108 and FashionMNIST 0.286041, 0.353024, computed
    /// in float64 over all 60,000 × 784 training pixels of the files `scripts/fetch-data.sh`
    /// installs. CIFAR-10: the usual per-channel mean and population standard deviation of the
    /// 50,000 training images (R, G, B: 0.4914/0.2470, 0.4822/0.2435, 0.4465/0.2616).
    pub fn norms(self) -> &'static [Norm] {
        match self {
            Self::Mnist => &[Norm {
                mean: 0.130_660_48,
                std: 0.308_107_8,
            }],
            Self::FashionMnist => &[Norm {
                mean: 0.286_040_6,
                std: 0.353_024_24,
            }],
            Self::Cifar10 => &[
                Norm {
                    mean: 0.4914,
                    std: 0.2470,
                },
                Norm {
                    mean: 0.4822,
                    std: 0.2435,
                },
                Norm {
                    mean: 0.4465,
                    std: 0.2616,
                },
            ],
        }
    }

    /// What each channel's pixels become under `scale`: [`Self::norms`] for
    /// [`InputScale::Standard`], [`Norm::UNIT`] for [`InputScale::Unit`].
    pub fn input_norms(self, scale: InputScale) -> Vec<Norm> {
        match scale {
            InputScale::Standard => self.norms().to_vec(),
            InputScale::Unit => vec![Norm::UNIT; self.shape().channels],
        }
    }

    /// The lookup table pixel → network input of every channel under `scale`.
    pub fn tables(self, scale: InputScale) -> Vec<[f32; 256]> {
        self.input_norms(scale).iter().map(Norm::table).collect()
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
            Self::Cifar10 => [
                "airplane",
                "automobile",
                "bird",
                "cat",
                "deer",
                "dog",
                "frog",
                "horse",
                "ship",
                "truck",
            ],
        }
    }

    /// The model-file metadata entries that describe the data set as a model trained with
    /// `scale` sees it: its name, the means and standard deviations (one per channel,
    /// comma-separated) and the class names (JSON).
    pub fn metadata(self, scale: InputScale) -> Vec<(String, String)> {
        let norms = self.input_norms(scale);
        let join = |f: fn(&Norm) -> f32| {
            let each: Vec<String> = norms.iter().map(|n| f(n).to_string()).collect();
            each.join(",")
        };
        let classes = serde_json::to_string(&self.class_names()).expect("strings serialise");
        [
            (META_DATASET, self.name().to_string()),
            (META_NORM_MEAN, join(|n| n.mean)),
            (META_NORM_STD, join(|n| n.std)),
            (META_CLASS_NAMES, classes),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// A whole image set as a backend keeps it ([`crate::Backend::load_set`]): 8-bit pixels, labels
/// and the per-channel tables that turn a pixel into a network input. Batches are then gathered
/// from it by the backend (on the GPU by `shaders/pass/gather.wgsl`), in the order and with the
/// augmentation an [`Order`] gives.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    /// Shape of one sample.
    pub shape: Shape,
    /// Pixels 0..=255, `[samples][channels][height][width]`.
    pub pixels: Vec<u8>,
    /// Class index of each sample.
    pub labels: Vec<u32>,
    /// Per channel, the normalised value of each pixel value ([`DatasetKind::tables`]).
    pub tables: Vec<[f32; 256]>,
}

impl ImageSet {
    /// A set of `labels.len()` samples of `shape`; fails with [`Error::Shape`] unless the pixels
    /// hold exactly that many samples and there is one table per channel.
    pub fn new(
        shape: Shape,
        pixels: Vec<u8>,
        labels: Vec<u32>,
        tables: Vec<[f32; 256]>,
    ) -> Result<Self> {
        if pixels.len() != labels.len() * shape.len() || tables.len() != shape.channels {
            return Err(Error::Shape(format!(
                "an image set of {} labels, {} pixels and {} tables for samples of {shape}",
                labels.len(),
                pixels.len(),
                tables.len()
            )));
        }
        Ok(Self {
            shape,
            pixels,
            labels,
            tables,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the set holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// The order of one pass over an [`ImageSet`] and each position's augmentation: what the host
/// uploads per epoch (8 bytes per sample) when the set itself stays on the device.
///
/// Position `p` of the pass is sample `samples[p]`, cropped and flipped as `augment[p]` says
/// ([`augment_word`]): pad by `pad` black pixels (pixel value 0, through the table), cut the
/// original size back out with its top-left corner at `(dy, dx)` of the padded image, then, with
/// `flip`, mirror every row. Every channel of a sample gets the same offsets and flip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// Padding of the random crop (0: none).
    pub pad: usize,
    /// Sample index of each position.
    pub samples: Vec<u32>,
    /// Packed crop offsets and flip of each position.
    pub augment: Vec<u32>,
}

/// Crop offsets `dy`, `dx` (each `0..=2·pad`, at most 255) and the flip, packed as the gather
/// kernel reads them: `dy` in bits 0–7, `dx` in bits 8–15, the flip in bit 16.
pub fn augment_word(dy: usize, dx: usize, flip: bool) -> u32 {
    (dy.min(255) as u32) | ((dx.min(255) as u32) << 8) | (u32::from(flip) << 16)
}

impl Order {
    /// Samples `0..n` in order, not augmented (evaluation).
    pub fn identity(n: usize) -> Self {
        Self {
            pad: 0,
            samples: (0..n as u32).collect(),
            augment: vec![augment_word(0, 0, false); n],
        }
    }

    /// A training epoch over `n` samples drawn from `rng` as the per-batch path always drew them:
    /// first the shuffle, then per position in order the crop offsets `dy`, `dx` (when `pad > 0`)
    /// and the flip (with `flip`, probability ½). Without crop or flip nothing more is drawn.
    pub fn shuffled(n: usize, pad: usize, flip: bool, rng: &mut Rng) -> Self {
        let mut samples: Vec<u32> = (0..n as u32).collect();
        rng.shuffle(&mut samples);
        let augment = (0..n)
            .map(|_| {
                let (dy, dx) = if pad > 0 {
                    (rng.below(2 * pad + 1), rng.below(2 * pad + 1))
                } else {
                    (pad, pad)
                };
                augment_word(dy, dx, flip && rng.below(2) == 1)
            })
            .collect();
        Self {
            pad,
            samples,
            augment,
        }
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when the pass has no position.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// `[sample, augment]` per position, as the device holds them.
    pub fn words(&self) -> Vec<u32> {
        self.samples
            .iter()
            .zip(&self.augment)
            .flat_map(|(&s, &a)| [s, a])
            .collect()
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = Error;
    /// A data set by its [`name`](Self::name), in any case.
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidParam {
                name: "dataset",
                reason: format!(
                    "{s:?} is not one of {}",
                    Self::ALL.map(Self::name).join(", ")
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_serialise_alike() {
        for d in DatasetKind::ALL {
            assert_eq!(d.name().to_uppercase().parse::<DatasetKind>().unwrap(), d);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.name()));
            assert_eq!(serde_json::from_str::<DatasetKind>(&json).unwrap(), d);
            assert_eq!(d.norms().len(), d.shape().channels);
        }
        assert!("cifar".parse::<DatasetKind>().is_err());
    }

    #[test]
    fn normalisation_maps_the_mean_to_zero() {
        for kind in [DatasetKind::Mnist, DatasetKind::FashionMnist] {
            let n = kind.norms()[0];
            let t = n.table();
            assert_eq!(t[0], -n.mean / n.std);
            assert!((t[255] - (1.0 - n.mean) / n.std).abs() < 1e-6);
        }
    }

    #[test]
    fn metadata_names_the_data_set_its_norms_and_classes() {
        let meta: std::collections::HashMap<String, String> = DatasetKind::Cifar10
            .metadata(InputScale::Standard)
            .into_iter()
            .collect();
        assert_eq!(meta[META_DATASET], "cifar10");
        assert_eq!(meta[META_NORM_MEAN], "0.4914,0.4822,0.4465");
        assert_eq!(meta[META_NORM_STD], "0.247,0.2435,0.2616");
        let names: Vec<String> = serde_json::from_str(&meta[META_CLASS_NAMES]).unwrap();
        assert_eq!(names[9], "truck");
        let unit: std::collections::HashMap<String, String> = DatasetKind::Cifar10
            .metadata(InputScale::Unit)
            .into_iter()
            .collect();
        assert_eq!(unit[META_NORM_MEAN], "0,0,0");
        assert_eq!(unit[META_NORM_STD], "1,1,1");
    }

    #[test]
    fn unit_scale_maps_pixels_to_zero_one() {
        for kind in DatasetKind::ALL {
            let tables = kind.tables(InputScale::Unit);
            assert_eq!(tables.len(), kind.shape().channels);
            for t in &tables {
                assert_eq!((t[0], t[255]), (0.0, 1.0));
                assert_eq!(t[51], 0.2);
            }
            assert_eq!(
                kind.tables(InputScale::Standard)[0],
                kind.norms()[0].table()
            );
        }
        for scale in InputScale::ALL {
            assert_eq!(
                scale.name().to_uppercase().parse::<InputScale>().unwrap(),
                scale
            );
            let json = serde_json::to_string(&scale).unwrap();
            assert_eq!(json, format!("\"{}\"", scale.name()));
        }
        assert!("minmax".parse::<InputScale>().is_err());
    }
}
