//! Composes the WGSL kernels of the workspace's `shaders/` folders (mtsnn-wgsl: `#include`s of
//! `shaders/lib/`, `#for` lines, the register tile's size from `src/gpu/tile.rs`) into `$OUT_DIR`,
//! where `src/gpu/shaders.rs` embeds them. A crate cannot publish files outside its own folder, so
//! this works because mtsnn-core is built only inside this workspace and is not published alone.
//! Without the `gpu` feature there are no kernels to embed, and this does nothing.

#[cfg(feature = "gpu")]
#[path = "src/gpu/tile.rs"]
mod tile;

fn main() {
    // Without this line, a build without shaders to watch would rerun on any change in the crate.
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(feature = "gpu")]
    compose_shaders();
}

#[cfg(feature = "gpu")]
fn compose_shaders() {
    use std::path::{Path, PathBuf};

    let shaders = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shaders");
    println!("cargo::rerun-if-changed={}", shaders.display());
    println!("cargo::rerun-if-changed=src/gpu/tile.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let kernels = mtsnn_wgsl::compose_dir(&shaders, &tile::WGSL_CONSTANTS)
        .unwrap_or_else(|e| panic!("composing shaders/: {e}"));
    for (name, wgsl) in kernels {
        // `FAMILY/NAME.wgsl`: the family's folder first.
        let path = out.join(&name);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        }
        std::fs::write(&path, wgsl).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
