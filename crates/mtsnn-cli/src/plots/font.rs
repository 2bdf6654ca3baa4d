//! The typeface of the figures. plotters draws text with `ab_glyph` from a TrueType/OpenType file
//! registered at run time (no fontconfig, nothing embedded): the file named by `MTSNN_FONT`, else
//! the first of [`CANDIDATES`] that exists. On Debian and Ubuntu that is DejaVu Sans from the
//! package `fonts-dejavu-core` (`scripts/setup.sh` installs it).

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use plotters::style::{FontStyle, register_font};

/// Environment variable naming the font file to use instead of the usual places.
pub const FONT_ENV: &str = "MTSNN_FONT";

/// The family name the figures ask plotters for.
pub const FAMILY: &str = "sans-serif";

/// Where sans-serif fonts usually are: Debian/Ubuntu (fonts-dejavu-core, fonts-liberation),
/// Fedora, Arch, macOS, Windows.
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers the font once per process; later calls return the first call's outcome.
pub fn ensure_registered() -> Result<()> {
    static REGISTERED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match REGISTERED.get_or_init(register) {
        Ok(_) => Ok(()),
        Err(e) => Err(anyhow!("{e}")),
    }
}

/// Finds, reads and registers the font file; the error says what to install or set.
fn register() -> Result<PathBuf, String> {
    let path = match std::env::var_os(FONT_ENV) {
        Some(p) => PathBuf::from(p),
        None => CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "no font found for the figures' text (looked for {}); install one \
                     (Debian/Ubuntu: apt-get install fonts-dejavu-core) or set {FONT_ENV} to a \
                     .ttf file",
                    CANDIDATES.join(", ")
                )
            })?,
    };
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("cannot read the font {}: {e}", path.display()))?;
    // plotters keeps registered fonts for the life of the process; this happens once.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font(FAMILY, FontStyle::Normal, bytes)
        .map_err(|_| format!("{} is not a TrueType/OpenType font", path.display()))?;
    Ok(path)
}
