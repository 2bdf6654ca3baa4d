//! Every WGSL kernel, as composed from `shaders/` and embedded in the engine, parsed and validated
//! by naga (as naga's own `tests/example_wgsl.rs` does), with no GPU: shader bugs surface here,
//! not at run time. The folder is listed, so new files are covered; each must also be a kernel
//! the engine declares, and its `struct Params` must match the Rust struct the engine uploads.

use std::path::PathBuf;

use mtsnn_core::gpu::{GEMM_TILES, Kernel, WGSL_CONSTANTS};
use mtsnn_tests::params::params_mismatches;

fn shaders_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shaders")
}

/// Parses and validates one module. Override constants need no values here: naga validates
/// them symbolically, and wgpu rejects a pipeline that leaves one unset (no shader gives
/// defaults, so a forgotten constant cannot silently take one).
fn validate(name: &str, source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source).unwrap_or_else(|e| {
        panic!(
            "{name} (composed) does not parse:\n{}",
            e.emit_to_string_with_path(source, name)
        )
    });
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    );
    if let Err(e) = validator.validate(&module) {
        panic!(
            "{name} (composed) does not validate:\n{}",
            e.emit_to_string_with_path(source, name)
        );
    }
    module
}

#[test]
fn every_shader_parses_and_validates() {
    for k in Kernel::ALL {
        let name = k.file_name();
        let module = validate(name, k.source());
        let entry: Vec<&str> = module
            .entry_points
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            entry,
            [k.entry_point()],
            "{name}: one compute entry point named main"
        );
        assert_eq!(
            module.entry_points[0].stage,
            naga::ShaderStage::Compute,
            "{name}"
        );
        // Unnamed overrides are naga's for array sizes that are override expressions (gemm.wgsl's
        // workgroup tiles): computed from the named ones, never set by the host.
        for (_, o) in module.overrides.iter().filter(|(_, o)| o.name.is_some()) {
            assert!(
                o.init.is_none(),
                "{name}: override {:?} has a default; the pipeline sets every one",
                o.name
            );
        }
    }
}

#[test]
fn every_params_struct_matches_its_shader() {
    for k in Kernel::ALL {
        let name = k.file_name();
        let module = validate(name, k.source());
        let mismatches = params_mismatches(&module, &k.params());
        assert!(
            mismatches.is_empty(),
            "{name}: struct Params and {} differ:\n{}",
            k.params().name,
            mismatches.join("\n")
        );
    }
}

#[test]
fn every_shader_file_is_an_embedded_kernel_and_back() {
    let composed = mtsnn_wgsl::compose_dir(&shaders_dir(), &WGSL_CONSTANTS)
        .unwrap_or_else(|e| panic!("composing shaders/: {e}"));
    let files: Vec<&str> = composed.iter().map(|(name, _)| name.as_str()).collect();
    let mut kernels: Vec<&str> = Kernel::ALL.iter().map(|k| k.path()).collect();
    kernels.sort();
    assert_eq!(
        files, kernels,
        "shaders/ and gpu::Kernel::ALL list different files"
    );
    for (name, wgsl) in &composed {
        let k = Kernel::ALL
            .into_iter()
            .find(|k| k.path() == name)
            .expect("listed above");
        assert_eq!(
            wgsl,
            k.source(),
            "{name}: the embedded source is stale (rebuild mtsnn-core)"
        );
    }
}

/// `module` specialised with `constants` as a pipeline would be (naga's override processing, which
/// wgpu runs when it creates the pipeline), validated again and written as SPIR-V: the steps where
/// an override-sized array or a constant the host sets could still fail, without a GPU.
fn specialise(name: &str, module: &naga::Module, constants: &[(&str, f64)]) {
    let flags = naga::valid::ValidationFlags::all();
    let caps = naga::valid::Capabilities::default();
    let info = naga::valid::Validator::new(flags, caps)
        .validate(module)
        .expect("validated above");
    let mut values = naga::back::PipelineConstants::default();
    for (k, v) in constants {
        values.insert(k.to_string(), *v);
    }
    let entry = Some((naga::ShaderStage::Compute, "main"));
    let (module, _) =
        naga::back::pipeline_constants::process_overrides(module, &info, entry, &values)
            .unwrap_or_else(|e| panic!("{name} with {constants:?}: {e}"));
    let info = naga::valid::Validator::new(flags, caps)
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name} with {constants:?} does not validate: {e}"));
    naga::back::spv::write_vec(&module, &info, &naga::back::spv::Options::default(), None)
        .unwrap_or_else(|e| panic!("{name} with {constants:?} does not compile to SPIR-V: {e}"));
}

/// The workgroup-memory-tile kernels with every tile the engine ships (and, for gemm.wgsl and
/// gemm_vec4.wgsl, every transpose; for gemm_vec4.wgsl and conv_forward_tiled.wgsl, every choice
/// of vec4 operands), specialised with no GPU. naga 30 panicked here when gemm.wgsl declared its own overrides after
/// the tile's.
#[test]
fn every_gemm_tile_specialises_every_tiled_kernel() {
    const BOTH: [f64; 2] = [0.0, 1.0];
    for kernel in [
        Kernel::Gemm,
        Kernel::GemmVec4,
        Kernel::ConvForwardTiled,
        Kernel::ConvInputGradTiled,
    ] {
        let name = kernel.file_name();
        let module = validate(name, kernel.source());
        for tile in GEMM_TILES {
            let constants = tile.constants();
            let vec4: &[[f64; 2]] = match kernel {
                Kernel::Gemm => &[[0.0, 0.0]],
                Kernel::GemmVec4 => &[[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]],
                Kernel::ConvForwardTiled => {
                    for vec_a in BOTH {
                        let mut all = constants.to_vec();
                        all.push(("VEC_A", vec_a));
                        specialise(name, &module, &all);
                    }
                    continue;
                }
                _ => {
                    specialise(name, &module, &constants);
                    continue;
                }
            };
            for a_t in BOTH {
                for b_t in BOTH {
                    for &[vec_a, vec_b] in vec4 {
                        let mut all = constants.to_vec();
                        all.extend([("TRANS_A", a_t), ("TRANS_B", b_t)]);
                        if kernel == Kernel::GemmVec4 {
                            all.extend([("VEC_A", vec_a), ("VEC_B", vec_b)]);
                        }
                        specialise(name, &module, &all);
                    }
                }
            }
        }
    }
}
