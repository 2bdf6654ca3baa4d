//! A figure: an RGB canvas that plotters draws on, a caption under it naming the command that made
//! it, and PNG output whose text chunks repeat title, program and command (readable with any PNG
//! tool, e.g. `identify -verbose`).

use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::{self, FAMILY};

/// The drawing area a figure's body is drawn on.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Title text size, pixels.
const TITLE_SIZE: u32 = 22;
/// Caption text size, pixels.
const CAPTION_SIZE: u32 = 14;
/// Caption line height, pixels.
const CAPTION_LINE: u32 = 18;

/// A drawn figure, ready to be saved.
pub struct Figure {
    width: u32,
    height: u32,
    /// RGB, row by row.
    pixels: Vec<u8>,
    title: String,
    command: String,
}

impl Figure {
    /// Draws a `width`×`height` figure: `title` at the top, `body` on the area below it and above
    /// the caption `made with: <command>`.
    pub fn draw(
        width: u32,
        height: u32,
        title: &str,
        command: &str,
        body: impl FnOnce(&Area) -> Result<()>,
    ) -> Result<Self> {
        font::ensure_registered()?;
        let mut pixels = vec![255u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
            root.fill(&WHITE)?;
            let caption = wrap(
                &format!("made with: {command}"),
                (width as usize).saturating_sub(20) / 8,
            );
            let caption_height = CAPTION_LINE * caption.len() as u32 + 8;
            let (main, footer) = root.split_vertically(height.saturating_sub(caption_height));
            let main = main
                .margin(8, 0, 0, 0)
                .titled(title, (FAMILY, TITLE_SIZE))?;
            body(&main)?;
            let style = (FAMILY, CAPTION_SIZE)
                .into_font()
                .color(&RGBColor(80, 80, 80))
                .pos(Pos::new(HPos::Left, VPos::Top));
            for (i, line) in caption.iter().enumerate() {
                footer.draw_text(line, &style, (10, 4 + CAPTION_LINE as i32 * i as i32))?;
            }
            root.present()?;
        }
        Ok(Self {
            width,
            height,
            pixels,
            title: title.to_string(),
            command: command.to_string(),
        })
    }

    /// Writes the figure as a PNG with iTXt chunks `Title`, `Software` and `Comment` (the
    /// command), creating the parent directory if needed.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        }
        let mut bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(BufWriter::new(&mut bytes), self.width, self.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let software = format!("mtsnn {}", env!("CARGO_PKG_VERSION"));
            for (key, text) in [
                ("Title", self.title.as_str()),
                ("Software", software.as_str()),
                ("Comment", self.command.as_str()),
            ] {
                enc.add_itxt_chunk(key.to_string(), text.to_string())
                    .context("encoding the PNG's text")?;
            }
            let mut writer = enc.write_header().context("encoding the PNG")?;
            writer
                .write_image_data(&self.pixels)
                .context("encoding the PNG")?;
            writer.finish().context("encoding the PNG")?;
        }
        mtsnn_core::checkpoint::write_atomic(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

/// Splits `text` into lines of at most `width` characters, at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(20);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("a b c", 80), ["a b c"]);
        let long = "x".repeat(45);
        let lines = wrap(&format!("made with: {long} tail"), 20);
        assert_eq!(
            lines,
            ["made with:", &long[..20], &long[20..40], "xxxxx tail"]
        );
    }
}
