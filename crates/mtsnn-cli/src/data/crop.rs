//! Random cropping, the paper's only augmentation: pad the image by `pad` pixels of black (the
//! background, pixel value 0) on every side, then cut an image of the original size back out at a
//! random offset. Equivalent to shifting the image by up to `pad` pixels in each direction.

/// Writes into `dst` the `height`×`width` window of `src` padded by `pad` zeros whose top-left corner
/// is at `(dy, dx)` in the padded image (`dy, dx ∈ 0..=2·pad`; `(pad, pad)` gives `src` back).
pub fn crop(
    src: &[u8],
    height: usize,
    width: usize,
    pad: usize,
    dy: usize,
    dx: usize,
    dst: &mut [u8],
) {
    debug_assert!(dy <= 2 * pad && dx <= 2 * pad);
    for (r, row) in dst.chunks_exact_mut(width).take(height).enumerate() {
        // Row r of the window is row r + dy − pad of the source.
        let sr = (r + dy).checked_sub(pad).filter(|&sr| sr < height);
        for (c, px) in row.iter_mut().enumerate() {
            let sc = (c + dx).checked_sub(pad).filter(|&sc| sc < width);
            *px = match (sr, sc) {
                (Some(sr), Some(sc)) => src[sr * width + sc],
                _ => 0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: [u8; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    fn cropped(pad: usize, dy: usize, dx: usize) -> [u8; 9] {
        let mut out = [99; 9];
        crop(&SRC, 3, 3, pad, dy, dx, &mut out);
        out
    }

    #[test]
    fn centre_offset_is_identity() {
        assert_eq!(cropped(0, 0, 0), SRC);
        assert_eq!(cropped(2, 2, 2), SRC);
    }

    #[test]
    fn offsets_shift_and_fill_with_zeros() {
        // Top-left corner of the padded image: the image moves down-right by one pixel.
        assert_eq!(cropped(1, 0, 0), [0, 0, 0, 0, 1, 2, 0, 4, 5]);
        // Bottom-right: it moves up-left.
        assert_eq!(cropped(1, 2, 2), [5, 6, 0, 8, 9, 0, 0, 0, 0]);
        // Only horizontally.
        assert_eq!(cropped(1, 1, 2), [2, 3, 0, 5, 6, 0, 8, 9, 0]);
        // A shift larger than the image leaves nothing.
        assert_eq!(cropped(3, 0, 0), [0; 9]);
    }
}
