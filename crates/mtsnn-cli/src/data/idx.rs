//! The IDX format of MNIST and FashionMNIST, gzip-compressed or raw.
//!
//! An IDX file is a 4-byte magic number `00 00 TT NN` (TT the element type, 0x08 = unsigned byte;
//! NN the number of dimensions), NN big-endian `u32` dimension sizes, then the elements, row-major.
//! Only unsigned-byte files are read: that is what images and labels are stored as.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use flate2::read::GzDecoder;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Type code of unsigned bytes.
const UBYTE: u8 = 0x08;
/// The most bytes a (decompressed) IDX file may hold: far above MNIST's 47 MB, far below memory.
const MAX_BYTES: u64 = 1 << 32;

/// An n-dimensional array of bytes read from an IDX file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<u8>,
}

/// Reads the IDX file at `path` (gzip or raw, told apart by the gzip magic), which must have `ndim`
/// dimensions. Every error names the file.
pub fn read(path: &Path, ndim: usize) -> Result<Idx> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut raw = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut raw)
        .with_context(|| format!("cannot read {}", path.display()))?;
    decode(raw, ndim, path)
}

/// Parses the bytes of an IDX file, gzip or raw (told apart by the gzip magic), with `ndim`
/// dimensions; `path` names the file in errors.
pub fn decode(raw: Vec<u8>, ndim: usize, path: &Path) -> Result<Idx> {
    let bytes = if raw.starts_with(&GZIP_MAGIC) {
        gunzip(&raw).with_context(|| format!("{}: not a valid gzip file", path.display()))?
    } else {
        raw
    };
    ensure!(
        bytes.len() as u64 <= MAX_BYTES,
        "{}: larger than {MAX_BYTES} bytes; not an MNIST-like IDX file",
        path.display()
    );
    parse(&bytes, ndim).with_context(|| format!("{}: not a valid IDX file", path.display()))
}

/// Decompresses a whole gzip stream, refusing more than [`MAX_BYTES`] of output.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut out)?;
    Ok(out)
}

/// Parses IDX bytes of unsigned-byte elements with `ndim` dimensions. The length must match the
/// header exactly: a short file is reported as truncated, a long one as having trailing bytes.
pub fn parse(bytes: &[u8], ndim: usize) -> Result<Idx> {
    let expected = u32::from_be_bytes([0, 0, UBYTE, ndim as u8]);
    let Some(magic) = bytes.first_chunk::<4>() else {
        bail!(
            "truncated: {} bytes, shorter than the 4-byte magic number",
            bytes.len()
        );
    };
    let found = u32::from_be_bytes(*magic);
    if magic[..2] != [0, 0] {
        bail!("wrong magic number 0x{found:08X}, expected 0x{expected:08X}");
    }
    if magic[2] != UBYTE {
        bail!(
            "element type 0x{:02X} in magic number 0x{found:08X}; only unsigned bytes (0x{UBYTE:02X}) are supported",
            magic[2]
        );
    }
    if usize::from(magic[3]) != ndim {
        bail!(
            "wrong magic number 0x{found:08X}: {} dimensions, expected {ndim} (0x{expected:08X})",
            magic[3]
        );
    }
    let header = 4 + 4 * ndim;
    ensure!(
        bytes.len() >= header,
        "truncated: {} bytes, shorter than the {header}-byte header",
        bytes.len()
    );
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n as u64 <= MAX_BYTES)
        .with_context(|| format!("dimensions {dims:?} are impossibly large"))?;
    let body = &bytes[header..];
    ensure!(
        body.len() >= len,
        "truncated: the header promises {} = {len} bytes of data, the file has {}",
        shape_text(&dims),
        body.len()
    );
    ensure!(
        body.len() == len,
        "{} trailing bytes after the {} = {len} bytes the header promises",
        body.len() - len,
        shape_text(&dims)
    );
    Ok(Idx {
        dims,
        data: body.to_vec(),
    })
}

/// `60000×28×28`.
fn shape_text(dims: &[usize]) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// Encodes `data` of shape `dims` as IDX bytes (the inverse of [`parse`]), for tests.
#[cfg(test)]
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, UBYTE, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn err(bytes: &[u8], ndim: usize) -> String {
        format!("{:#}", parse(bytes, ndim).unwrap_err())
    }

    #[test]
    fn parses_images_and_labels() {
        let data: Vec<u8> = (0..24).collect();
        let idx = parse(&encode(&[2, 3, 4], &data), 3).unwrap();
        assert_eq!(idx.dims, [2, 3, 4]);
        assert_eq!(idx.data, data);
        let labels = parse(&encode(&[3], &[7, 0, 9]), 1).unwrap();
        assert_eq!((labels.dims, labels.data), (vec![3], vec![7, 0, 9]));
    }

    #[test]
    fn empty_array_is_fine() {
        assert_eq!(parse(&encode(&[0, 28, 28], &[]), 3).unwrap().data.len(), 0);
    }

    #[test]
    fn rejects_bad_magic_type_and_rank() {
        assert!(err(b"\x12\x34\x08\x03rest", 3).contains("wrong magic number 0x12340803"));
        assert!(err(&[0, 0, 0x0D, 3, 0, 0, 0, 0], 3).contains("element type 0x0D"));
        let labels_as_images = encode(&[3], &[1, 2, 3]);
        assert!(err(&labels_as_images, 3).contains("1 dimensions, expected 3"));
    }

    #[test]
    fn rejects_truncated_and_overlong() {
        assert!(err(&[0, 0], 1).contains("truncated"));
        assert!(err(&[0, 0, 8, 3, 0, 0, 0, 2], 3).contains("16-byte header"));
        let full = encode(&[2, 2, 2], &[1; 8]);
        let e = err(&full[..full.len() - 3], 3);
        assert!(
            e.contains("truncated") && e.contains("2×2×2 = 8 bytes") && e.contains("has 5"),
            "{e}"
        );
        let mut long = full.clone();
        long.push(0);
        assert!(err(&long, 3).contains("1 trailing bytes"));
    }

    #[test]
    fn rejects_impossible_dimensions_without_allocating() {
        let huge = encode(&[u32::MAX as usize, u32::MAX as usize, 2], &[]);
        assert!(err(&huge, 3).contains("impossibly large"));
    }

    #[test]
    fn reads_gzip_and_raw_files_and_names_them_in_errors() {
        let dir = std::env::temp_dir().join(format!("mtsnn-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = encode(&[2, 2, 2], &[5; 8]);
        let raw = dir.join("raw-idx3-ubyte");
        std::fs::write(&raw, &bytes).unwrap();
        let gz = dir.join("x-idx3-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(read(&raw, 3).unwrap(), read(&gz, 3).unwrap());

        let garbage = dir.join("garbage.gz");
        std::fs::write(&garbage, [0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        let e = format!("{:#}", read(&garbage, 3).unwrap_err());
        assert!(e.contains("garbage.gz") && e.contains("gzip"), "{e}");
        let missing = format!("{:#}", read(&dir.join("nope"), 3).unwrap_err());
        assert!(missing.contains("nope"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
