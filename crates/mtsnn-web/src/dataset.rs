//! What a model needs to know about its data: the data set's name, how raw pixels are normalised,
//! and what the classes are.
//!
//! `mtsnn export` writes all three into the model file's metadata (the keys of
//! [`Dataset::metadata`]); they are used when present. Files without them (e.g. the
//! `model.safetensors` of `mtsnn train`) get the constants of the data set the caller names under
//! the model's input scale, from the core's [`mtsnn_core::dataset`] — the same the CLI trains
//! with — so the page normalises every pixel exactly as training did.

use std::collections::HashMap;

use mtsnn_core::dataset::{
    InputScale, META_CLASS_NAMES, META_DATASET, META_NORM_MEAN, META_NORM_STD, Norm,
};

use crate::error::WebError;

/// A data set: the browser runs the grayscale ones (one channel), see [`parse`].
pub use mtsnn_core::dataset::DatasetKind as Dataset;

/// The data sets the browser runs: those with one channel.
fn grayscale() -> impl Iterator<Item = Dataset> {
    Dataset::ALL.into_iter().filter(|d| d.shape().channels == 1)
}

/// The grayscale data set called `name` (any case), as the options of `Model.load` name it.
pub fn parse(name: &str) -> Result<Dataset, WebError> {
    grayscale()
        .find(|d| d.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<String> = grayscale().map(|d| format!("{:?}", d.name())).collect();
            WebError::Option(format!(
                "dataset {name:?} is not one of {}",
                names.join(", ")
            ))
        })
}

/// The data-set facts a loaded model runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct DataInfo {
    /// The data set's name, e.g. `mnist`.
    pub dataset: String,
    /// Normalisation: `(x − mean) / std` for raw intensities `x = p/255`.
    pub mean: f32,
    pub std: f32,
    /// One name per class.
    pub class_names: Vec<String>,
}

impl DataInfo {
    /// The facts of a grayscale data set (one the browser runs, see [`parse`]) for a model trained
    /// with input scale `scale`.
    pub fn builtin(ds: Dataset, scale: InputScale) -> Self {
        let Norm { mean, std } = ds.input_norms(scale)[0];
        Self {
            dataset: ds.name().to_string(),
            mean,
            std,
            class_names: ds.class_names().map(String::from).to_vec(),
        }
    }

    /// The facts for a model file with metadata `meta`, `classes` outputs and input scale `scale`
    /// (its hyper-parameter); `requested` is the data set the caller named, if any. The file's own
    /// entries win; naming a data set other than the one the file was exported for is an error.
    pub fn resolve(
        meta: &HashMap<String, String>,
        requested: Option<Dataset>,
        classes: usize,
        scale: InputScale,
    ) -> Result<Self, WebError> {
        let bad = |what: String| WebError::Model(format!("metadata {what}"));
        let file_dataset = meta.get(META_DATASET);
        if let (Some(file), Some(req)) = (file_dataset, requested)
            && file != req.name()
        {
            return Err(WebError::Option(format!(
                "the model file was exported for {file:?}, the options say {:?}",
                req.name()
            )));
        }
        let known = requested.or_else(|| file_dataset.and_then(|d| parse(d).ok()));
        let mut info = Self::builtin(known.unwrap_or(Dataset::Mnist), scale);
        if let Some(name) = file_dataset {
            info.dataset.clone_from(name);
        }
        match (meta.get(META_NORM_MEAN), meta.get(META_NORM_STD)) {
            (Some(mean), Some(std)) => {
                let one = |key: &str, text: &str| match text.parse::<f32>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => Err(bad(format!(
                        "{key} = {text:?} is not one number (one channel: grayscale)"
                    ))),
                };
                info.mean = one(META_NORM_MEAN, mean)?;
                info.std = one(META_NORM_STD, std)?;
                if info.std <= 0.0 {
                    return Err(bad(format!("norm_std = {std:?} is not positive")));
                }
            }
            (None, None) if known.is_none() && file_dataset.is_some() => {
                return Err(bad(format!(
                    "names the data set {:?} without its normalisation (norm_mean, norm_std)",
                    info.dataset
                )));
            }
            (None, None) => {}
            _ => return Err(bad("has only one of norm_mean and norm_std".into())),
        }
        if let Some(names) = meta.get(META_CLASS_NAMES) {
            info.class_names = serde_json::from_str(names)
                .map_err(|e| bad(format!("class_names is not a list of strings ({e})")))?;
        } else if known.is_none() {
            info.class_names = (0..classes).map(|c| c.to_string()).collect();
        }
        if info.class_names.len() != classes {
            return Err(bad(format!(
                "names {} classes, the network has {classes}",
                info.class_names.len()
            )));
        }
        Ok(info)
    }

    /// Normalises raw intensities in `0..=1` (`p/255` for 8-bit pixels) as the CLI does
    /// ([`Norm::normalise`]).
    ///
    /// For `x = p as f32 / 255.0` the result is bit-identical to the CLI's lookup table.
    pub fn normalise(&self, pixels: &[f32]) -> Result<Vec<f32>, WebError> {
        if let Some(i) = pixels.iter().position(|p| !(0.0..=1.0).contains(p)) {
            return Err(WebError::Input(format!(
                "pixel {i} is {}; intensities must lie in 0..1 (0 = background, 1 = ink)",
                pixels[i]
            )));
        }
        let norm = Norm {
            mean: self.mean,
            std: self.std,
        };
        Ok(pixels.iter().map(|&x| norm.normalise(x)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(entries: &[(&str, &str)]) -> HashMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The CLI maps an 8-bit pixel through `(p as f32 / 255.0 - mean) / std`; JavaScript sends
    /// `p / 255` computed in f64 and rounded to f32. Both must give the same network input.
    #[test]
    fn eight_bit_pixels_normalise_exactly_as_in_the_cli() {
        for ds in [Dataset::Mnist, Dataset::FashionMnist] {
            let info = DataInfo::builtin(ds, InputScale::Standard);
            let js: Vec<f32> = (0..=255).map(|p| (f64::from(p) / 255.0) as f32).collect();
            let cli: Vec<f32> = (0..=255u8)
                .map(|p| (f32::from(p) / 255.0 - info.mean) / info.std)
                .collect();
            assert_eq!(info.normalise(&js).unwrap(), cli);
            assert_eq!(
                cli,
                ds.tables(InputScale::Standard)[0],
                "the CLI's lookup table"
            );
        }
    }

    #[test]
    fn out_of_range_pixels_are_refused() {
        let info = DataInfo::builtin(Dataset::Mnist, InputScale::Standard);
        let e = info.normalise(&[0.5, 2.0]).unwrap_err().to_string();
        assert!(e.contains("pixel 1 is 2"), "{e}");
        assert!(info.normalise(&[f32::NAN]).is_err());
    }

    #[test]
    fn exported_metadata_wins_over_the_builtin_constants() {
        let m = meta(&[
            ("dataset", "fashion-mnist"),
            ("norm_mean", "0.5"),
            ("norm_std", "0.25"),
            ("class_names", r#"["a","b"]"#),
        ]);
        let info = DataInfo::resolve(&m, None, 2, InputScale::Standard).unwrap();
        assert_eq!(
            (info.dataset.as_str(), info.mean, info.std),
            ("fashion-mnist", 0.5, 0.25)
        );
        assert_eq!(info.class_names, ["a", "b"]);
        assert_eq!(info.normalise(&[1.0]).unwrap(), [2.0]);
        // Naming the same data set is fine, another one is an error.
        assert!(
            DataInfo::resolve(&m, Some(Dataset::FashionMnist), 2, InputScale::Standard).is_ok()
        );
        let e = DataInfo::resolve(&m, Some(Dataset::Mnist), 2, InputScale::Standard)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("exported for \"fashion-mnist\", the options say \"mnist\""),
            "{e}"
        );
    }

    #[test]
    fn files_without_metadata_use_the_named_data_set() {
        let info = DataInfo::resolve(
            &meta(&[]),
            Some(Dataset::FashionMnist),
            10,
            InputScale::Standard,
        )
        .unwrap();
        assert_eq!(
            info,
            DataInfo::builtin(Dataset::FashionMnist, InputScale::Standard)
        );
        // A model trained on p/255 (`--input-scale unit`) whose file names no normalisation.
        let unit =
            DataInfo::resolve(&meta(&[]), Some(Dataset::Mnist), 10, InputScale::Unit).unwrap();
        assert_eq!((unit.mean, unit.std), (0.0, 1.0));
        assert_eq!(unit.normalise(&[0.2]).unwrap(), [0.2]);
        assert_eq!(
            DataInfo::resolve(&meta(&[]), None, 10, InputScale::Standard)
                .unwrap()
                .dataset,
            "mnist"
        );
    }

    #[test]
    fn broken_metadata_is_a_clear_error() {
        let cases = [
            (
                vec![("norm_mean", "0.1,0.2,0.3"), ("norm_std", "1")],
                "not one number",
            ),
            (vec![("norm_mean", "0.1")], "only one of"),
            (
                vec![("norm_mean", "0.1"), ("norm_std", "0")],
                "not positive",
            ),
            (vec![("dataset", "cifar10")], "without its normalisation"),
            (vec![("class_names", "[1, 2]")], "not a list of strings"),
            (
                vec![("class_names", r#"["x"]"#)],
                "names 1 classes, the network has 10",
            ),
        ];
        for (entries, expected) in cases {
            let e = DataInfo::resolve(&meta(&entries), None, 10, InputScale::Standard)
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{entries:?}: {e}");
        }
    }

    #[test]
    fn names_parse() {
        assert_eq!(parse("FASHION-MNIST").unwrap(), Dataset::FashionMnist);
        assert_eq!(parse("mnist").unwrap().to_string(), "mnist");
        assert!(parse("cifar").is_err());
        // The browser runs grayscale data sets only.
        let e = parse("cifar10").unwrap_err().to_string();
        assert!(
            e.ends_with(r#"dataset "cifar10" is not one of "mnist", "fashion-mnist""#),
            "{e}"
        );
    }
}
