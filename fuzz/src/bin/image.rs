//! Fuzz target: the image decoding of `mtsnn infer` (PNG, JPEG, BMP; any size, colour or
//! grayscale, transparent or not), to a grayscale 28×28 input and to a colour 32×32 one.

use std::path::Path;

use mtsnn_cli::parsers::{Invert, colour_pixels, gray_pixels};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let path = Path::new("fuzz-image");
        if let Ok((pixels, _)) = gray_pixels(data, path, 28, 28, Invert::Auto) {
            assert_eq!(pixels.len(), 28 * 28);
        }
        if let Ok(pixels) = colour_pixels(data, path, 32, 32) {
            assert_eq!(pixels.len(), 3 * 32 * 32);
        }
    });
}
