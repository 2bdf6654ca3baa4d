//! Turns a drawing into a 28×28 input the way the MNIST digits were made (LeCun et al.): the ink's
//! bounding box is scaled to fit a 20×20 box with its aspect ratio kept, anti-aliased, and the
//! result is placed in a 28×28 field so that its centre of mass lies at the field's centre.
//!
//! Scaling and translation are done in one resampling step with a box filter: each output pixel is
//! the area-weighted mean of the source pixels it covers, so a sub-pixel shift does not blur twice.

use crate::error::WebError;

/// Side of the network's input field.
pub const SIDE: usize = 28;
/// Side of the box the ink's bounding box is scaled into.
pub const BOX: f64 = 20.0;

/// The 28×28 MNIST-style input of a grayscale drawing.
///
/// `ink` is `width`×`height`, row-major, `0` = background and `1` = full ink. The output holds
/// 784 values in `0..=1`, each a multiple of 1/255 (as if read from an 8-bit image), so that the
/// same input can be saved as a PNG and fed to `mtsnn infer`. A blank drawing gives all zeros.
pub fn mnistify(ink: &[f32], width: usize, height: usize) -> Result<Vec<f32>, WebError> {
    if width == 0 || height == 0 || ink.len() != width * height {
        return Err(WebError::Input(format!(
            "a {width}×{height} drawing needs {} values, got {}",
            width * height,
            ink.len()
        )));
    }
    if ink.iter().any(|v| !v.is_finite()) {
        return Err(WebError::Input(
            "the drawing has a value that is not a number".into(),
        ));
    }
    let mut out = vec![0.0f32; SIDE * SIDE];
    let Some(frame) = Frame::of(ink, width) else {
        return Ok(out);
    };
    let ax = axis_weights(&frame.x);
    let ay = axis_weights(&frame.y);
    // Separable box filter: first along x for every source row, then along y.
    let mut rows = vec![0.0f64; height * SIDE];
    for (sy, row) in ink.chunks_exact(width).enumerate() {
        for &(tx, sx, w) in &ax {
            rows[sy * SIDE + tx] += w * f64::from(row[sx].clamp(0.0, 1.0));
        }
    }
    let mut acc = vec![0.0f64; SIDE * SIDE];
    for &(ty, sy, w) in &ay {
        for tx in 0..SIDE {
            acc[ty * SIDE + tx] += w * rows[sy * SIDE + tx];
        }
    }
    for (o, a) in out.iter_mut().zip(acc) {
        *o = ((a.clamp(0.0, 1.0) * 255.0).round() / 255.0) as f32;
    }
    Ok(out)
}

/// Where source pixels land along one axis: target = (source − `start`) · `scale` + `offset`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    /// First source pixel of the ink's bounding box.
    start: usize,
    /// One past the last.
    end: usize,
    scale: f64,
    offset: f64,
}

/// The mapping of both axes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Frame {
    x: Axis,
    y: Axis,
}

impl Frame {
    /// The mapping for `ink`, or `None` when it holds no ink.
    fn of(ink: &[f32], width: usize) -> Option<Self> {
        let (mut x0, mut x1, mut y0, mut y1) = (usize::MAX, 0, usize::MAX, 0);
        let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
        for (i, &v) in ink.iter().enumerate() {
            if v <= 0.0 {
                continue;
            }
            let (x, y) = (i % width, i / width);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x + 1), y0.min(y), y1.max(y + 1));
            let v = f64::from(v.min(1.0));
            mass += v;
            mx += v * (x as f64 + 0.5);
            my += v * (y as f64 + 0.5);
        }
        if mass == 0.0 {
            return None;
        }
        let scale = BOX / (x1 - x0).max(y1 - y0) as f64;
        let centre = SIDE as f64 / 2.0;
        let axis = |start: usize, end: usize, com: f64| Axis {
            start,
            end,
            scale,
            offset: centre - (com - start as f64) * scale,
        };
        Some(Self {
            x: axis(x0, x1, mx / mass),
            y: axis(y0, y1, my / mass),
        })
    }
}

/// `(target, source, weight)` for every pair of an output pixel and a source pixel that overlap:
/// the overlap's length over the output pixel's length, so full coverage sums to 1.
fn axis_weights(a: &Axis) -> Vec<(usize, usize, f64)> {
    let mut out = Vec::new();
    for s in a.start..a.end {
        let lo = (s - a.start) as f64 * a.scale + a.offset;
        let hi = lo + a.scale;
        let first = lo.floor().max(0.0) as usize;
        let last = (hi.ceil().min(SIDE as f64)) as usize;
        for t in first..last {
            let overlap = hi.min(t as f64 + 1.0) - lo.max(t as f64);
            if overlap > 0.0 {
                out.push((t, s, overlap));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Centre of mass of a 28×28 image, in pixel units (pixel centres at i + 0.5).
    fn com(img: &[f32]) -> (f64, f64) {
        let (mut m, mut x, mut y) = (0.0, 0.0, 0.0);
        for (i, &v) in img.iter().enumerate() {
            let v = f64::from(v);
            m += v;
            x += v * ((i % SIDE) as f64 + 0.5);
            y += v * ((i / SIDE) as f64 + 0.5);
        }
        (x / m, y / m)
    }

    /// Bounding box `(x0, x1, y0, y1)` of the non-zero pixels.
    fn bbox(img: &[f32]) -> (usize, usize, usize, usize) {
        let lit: Vec<usize> = (0..img.len()).filter(|&i| img[i] > 0.0).collect();
        let xs = lit.iter().map(|i| i % SIDE);
        let ys = lit.iter().map(|i| i / SIDE);
        (
            xs.clone().min().unwrap(),
            xs.max().unwrap() + 1,
            ys.clone().min().unwrap(),
            ys.max().unwrap() + 1,
        )
    }

    /// A `w`×`h` canvas with a filled rectangle `[x0, x1) × [y0, y1)`.
    fn rect(w: usize, h: usize, x0: usize, x1: usize, y0: usize, y1: usize) -> Vec<f32> {
        (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn a_tall_stroke_fills_20_rows_keeps_its_aspect_and_is_centred() {
        // 40×200 ink in the corner of a 300×300 canvas: scale 0.1 → 4×20 in the output.
        let img = mnistify(&rect(300, 300, 10, 50, 20, 220), 300, 300).unwrap();
        assert_eq!(bbox(&img), (12, 16, 4, 24));
        let total: f32 = img.iter().sum();
        assert!((total - 80.0).abs() < 1e-3, "ink is conserved: {total}");
        assert!(img.iter().all(|&v| v == 0.0 || v == 1.0));
        let (cx, cy) = com(&img);
        assert!(
            (cx - 14.0).abs() < 1e-9 && (cy - 14.0).abs() < 1e-9,
            "{cx} {cy}"
        );
    }

    #[test]
    fn off_grid_shifts_are_anti_aliased_and_quantised_to_8_bits() {
        // 3 px wide, 20 px tall on a 28-px canvas: scale 1, centre of mass at 1.5 → shifted by
        // 12.5 px, so each column straddles two output pixels at half intensity.
        let img = mnistify(&rect(28, 28, 0, 3, 0, 20), 28, 28).unwrap();
        let row: Vec<f32> = img[10 * SIDE..11 * SIDE].to_vec();
        let half = (128.0f32 / 255.0, 127.0f32 / 255.0);
        assert!(row[12] == half.0 || row[12] == half.1, "{}", row[12]);
        assert_eq!(&row[13..15], &[1.0, 1.0]);
        assert_eq!(row[15], row[12]);
        for v in img {
            assert_eq!(v, (v * 255.0).round() / 255.0);
        }
    }

    #[test]
    fn the_centre_of_mass_not_the_box_is_centred() {
        // An L on a 100×100 canvas: a 10×100 bar and a 40×10 foot. Bounding box 40×100 → scale
        // 0.2 → 8×20 px; the foot pulls the centre of mass down to y = 60.4, so the 20-px box lands
        // at rows 1.9..21.9 instead of the 4..24 that centring the box would give.
        let mut ink = rect(100, 100, 0, 10, 0, 100);
        for (a, b) in ink.iter_mut().zip(rect(100, 100, 0, 40, 90, 100)) {
            *a = a.max(b);
        }
        let img = mnistify(&ink, 100, 100).unwrap();
        let (cx, cy) = com(&img);
        assert!(
            (cx - 14.0).abs() < 0.1 && (cy - 14.0).abs() < 0.1,
            "{cx} {cy}"
        );
        // Whole pixels of ink plus one partly covered pixel where the shift is fractional.
        let (x0, x1, y0, y1) = bbox(&img);
        assert_eq!((x0, x1, y0, y1), (12, 21, 1, 22));
    }

    #[test]
    fn blank_drawings_give_zeros_and_bad_sizes_are_errors() {
        assert_eq!(mnistify(&[0.0; 50], 10, 5).unwrap(), vec![0.0; 784]);
        let e = mnistify(&[0.0; 49], 10, 5).unwrap_err().to_string();
        assert!(e.contains("10×5 drawing needs 50 values, got 49"), "{e}");
        assert!(mnistify(&[], 0, 0).is_err());
        assert!(mnistify(&[f32::NAN], 1, 1).is_err());
    }
}
