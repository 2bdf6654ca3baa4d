//! Fuzz target: CIFAR-10's binary batch files. What parses has 3×32×32 pixels per label, each
//! label a class 0..9.

use std::path::Path;

use mtsnn_cli::parsers::cifar;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok((pixels, labels)) = cifar(data, Path::new("fuzz_batch.bin")) {
            assert_eq!(pixels.len(), labels.len() * 3 * 32 * 32);
            assert!(labels.iter().all(|&l| l < 10));
        }
    });
}
