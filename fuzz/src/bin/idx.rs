//! Fuzz target: IDX files (MNIST, FashionMNIST), raw or gzip, read as images (3 dimensions) and as
//! labels (1 dimension). What parses has as many bytes as its dimensions promise.

use std::path::Path;

use mtsnn_cli::parsers::idx;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        for ndim in [1, 3] {
            if let Ok(parsed) = idx(data.to_vec(), ndim, Path::new("fuzz-idx-ubyte")) {
                assert_eq!(parsed.dims.len(), ndim);
                assert_eq!(parsed.data.len(), parsed.dims.iter().product::<usize>());
            }
        }
    });
}
