//! The CIFAR-10 binary version: `data_batch_1.bin` … `data_batch_5.bin` (training, 10,000 records
//! each) and `test_batch.bin`. A record is 3,073 bytes: the label (0–9), then the 32×32 red, green
//! and blue planes, each row-major — the `[channel][y][x]` layout the engine takes.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

/// Side of a CIFAR-10 image.
pub const SIDE: usize = 32;
/// Colour planes.
pub const CHANNELS: usize = 3;
/// Bytes of one record: label + pixels.
pub const RECORD: usize = 1 + CHANNELS * SIDE * SIDE;

/// Reads one batch file: `(pixels [n][3][32][32], labels [n])`.
pub fn read(path: &Path) -> Result<(Vec<u8>, Vec<u32>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&bytes, path)
}

/// Parses the bytes of one batch file (see [`read`]); `path` names the file in errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u32>)> {
    ensure!(!bytes.is_empty(), "{}: the file is empty", path.display());
    if !bytes.len().is_multiple_of(RECORD) {
        bail!(
            "{}: {} bytes is not a whole number of {RECORD}-byte CIFAR-10 records (label + 3×32×32 \
             pixels); the file is truncated or not the binary version of CIFAR-10",
            path.display(),
            bytes.len()
        );
    }
    let n = bytes.len() / RECORD;
    let mut pixels = Vec::with_capacity(n * (RECORD - 1));
    let mut labels = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if rec[0] >= 10 {
            bail!(
                "{}: record {i} has label {}, not a class 0..9",
                path.display(),
                rec[0]
            );
        }
        labels.push(u32::from(rec[0]));
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok((pixels, labels))
}

/// Encodes records in the binary format.
#[cfg(test)]
pub fn encode(pixels: &[u8], labels: &[u8]) -> Vec<u8> {
    let per = RECORD - 1;
    assert_eq!(pixels.len(), labels.len() * per);
    labels
        .iter()
        .zip(pixels.chunks_exact(per))
        .flat_map(|(&l, p)| std::iter::once(l).chain(p.iter().copied()))
        .collect()
}

/// The training files, in order, then the test file.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mtsnn-cifar-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("b.bin");
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn round_trip_of_generated_records() {
        let pixels: Vec<u8> = (0..3 * (RECORD - 1)).map(|i| (i * 7 % 256) as u8).collect();
        let labels = [3u8, 0, 9];
        let p = tmp("ok", &encode(&pixels, &labels));
        let (px, lb) = read(&p).unwrap();
        assert_eq!((px, lb), (pixels, vec![3, 0, 9]));
    }

    #[test]
    fn truncated_file_and_bad_label_are_clear_errors() {
        let bytes = encode(&vec![1; 2 * (RECORD - 1)], &[1, 2]);
        let e = read(&tmp("short", &bytes[..bytes.len() - 5]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a whole number of 3073-byte"), "{e}");
        let mut bad = bytes.clone();
        bad[RECORD] = 12;
        let e = read(&tmp("label", &bad)).unwrap_err().to_string();
        assert!(e.contains("record 1 has label 12"), "{e}");
    }
}
