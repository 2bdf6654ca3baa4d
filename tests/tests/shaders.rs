//! Every WGSL kernel in `shaders/` parsed and validated by naga (as naga's own
//! `tests/example_wgsl.rs` does), with no GPU: shader bugs surface here, not at run time.
//! The folder is listed, so new files are covered; each must also be a kernel the engine embeds.

use std::path::PathBuf;

use mtsnn_core::gpu::Kernel;

fn shader_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shaders");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .collect();
    files.sort();
    files
}

/// Parses and validates one module. Override constants need no values here: naga validates
/// them symbolically, and wgpu rejects a pipeline that leaves one unset (no shader gives
/// defaults, so a forgotten constant cannot silently take one).
fn validate(name: &str, source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source).unwrap_or_else(|e| {
        panic!(
            "{name} does not parse:\n{}",
            e.emit_to_string_with_path(source, name)
        )
    });
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    );
    if let Err(e) = validator.validate(&module) {
        panic!(
            "{name} does not validate:\n{}",
            e.emit_to_string_with_path(source, name)
        );
    }
    module
}

#[test]
fn every_shader_parses_and_validates() {
    let files = shader_files();
    assert!(!files.is_empty(), "no .wgsl files found");
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name");
        let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let module = validate(name, &source);
        let entry: Vec<&str> = module
            .entry_points
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            entry,
            ["main"],
            "{name}: one compute entry point named main"
        );
        assert_eq!(
            module.entry_points[0].stage,
            naga::ShaderStage::Compute,
            "{name}"
        );
        for (_, o) in module.overrides.iter() {
            assert!(
                o.init.is_none(),
                "{name}: override {:?} has a default; the pipeline sets every one",
                o.name
            );
        }
    }
}

#[test]
fn every_shader_file_is_an_embedded_kernel_and_back() {
    let files: Vec<String> = shader_files()
        .iter()
        .map(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .expect("UTF-8")
                .to_string()
        })
        .collect();
    let mut kernels: Vec<String> = Kernel::ALL
        .iter()
        .map(|k| k.file_name().to_string())
        .collect();
    kernels.sort();
    assert_eq!(
        files, kernels,
        "shaders/ and gpu::Kernel::ALL list different files"
    );
    for k in Kernel::ALL {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shaders")
            .join(k.file_name());
        let on_disk = std::fs::read_to_string(&path).expect("readable");
        assert_eq!(
            on_disk,
            k.source(),
            "{}: the embedded source is stale (rebuild mtsnn-core)",
            k.file_name()
        );
    }
}
