//! Whether a kernel's Rust parameter struct matches its WGSL `struct Params`: the struct the
//! module binds as its uniform at `@group(0) @binding(0)`, with offsets and size as naga's
//! layouter computes them for the module (WGSL's layout rules, which the GPU uses).

use mtsnn_core::gpu::ParamsLayout;

/// Every difference between `rust` and the `struct Params` of `module`, one sentence each: none
/// when they match in size and in the name, offset and scalar type of each member, in order.
pub fn params_mismatches(module: &naga::Module, rust: &ParamsLayout) -> Vec<String> {
    let Some((handle, ty)) = module
        .types
        .iter()
        .find(|(_, ty)| ty.name.as_deref() == Some("Params"))
    else {
        return vec!["the module declares no `struct Params`".to_string()];
    };
    let naga::TypeInner::Struct { members, .. } = &ty.inner else {
        return vec!["`Params` is not a struct".to_string()];
    };
    let mut found = Vec::new();
    let bound = module.global_variables.iter().any(|(_, g)| {
        g.space == naga::AddressSpace::Uniform
            && g.ty == handle
            && g.binding
                == Some(naga::ResourceBinding {
                    group: 0,
                    binding: 0,
                })
    });
    if !bound {
        found.push("`Params` is not the uniform at @group(0) @binding(0)".to_string());
    }
    let mut layouter = naga::proc::Layouter::default();
    if let Err(e) = layouter.update(module.to_ctx()) {
        return vec![format!("naga cannot lay the module out: {e}")];
    }
    let size = layouter[handle].size as usize;
    if size != rust.size {
        found.push(format!(
            "size: WGSL {size} bytes, {} {} bytes",
            rust.name, rust.size
        ));
    }
    let wgsl: Vec<(String, usize, String)> = members
        .iter()
        .map(|m| {
            let name = m.name.clone().unwrap_or_default();
            let ty = match module.types[m.ty].inner {
                naga::TypeInner::Scalar(naga::Scalar::U32) => "u32".to_string(),
                naga::TypeInner::Scalar(naga::Scalar::F32) => "f32".to_string(),
                naga::TypeInner::Scalar(naga::Scalar::I32) => "i32".to_string(),
                ref other => format!("{other:?}"),
            };
            (name, m.offset as usize, ty)
        })
        .collect();
    for i in 0..wgsl.len().max(rust.fields.len()) {
        match (wgsl.get(i), rust.fields.get(i)) {
            (Some((name, offset, ty)), Some(f)) => {
                if (name.as_str(), *offset, ty.as_str()) != (f.name, f.offset, f.wgsl) {
                    found.push(format!(
                        "member {i}: WGSL `{name}: {ty}` at {offset}, {}.{}: {} at {}",
                        rust.name, f.name, f.wgsl, f.offset
                    ));
                }
            }
            (Some((name, offset, ty)), None) => found.push(format!(
                "member {i}: WGSL `{name}: {ty}` at {offset} is missing from {}",
                rust.name
            )),
            (None, Some(f)) => found.push(format!(
                "member {i}: {}.{} is missing from the WGSL struct",
                rust.name, f.name
            )),
            (None, None) => unreachable!("i < the longer length"),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtsnn_core::gpu::Field;
    use std::mem::offset_of;

    const WGSL: &str = "
        struct Params { n: u32, lr: f32, steps: u32, _pad: u32 }
        @group(0) @binding(0) var<uniform> p: Params;
        @compute @workgroup_size(1) fn main() { _ = p.n; }
    ";

    fn module(source: &str) -> naga::Module {
        naga::front::wgsl::parse_str(source).expect("valid WGSL")
    }

    /// The layout of a `#[repr(C)]` struct with members `$field: $ty` (each `u32` or `f32`).
    macro_rules! layout {
        ($name:ident { $($field:ident: $ty:ident),* }) => {{
            #[repr(C)]
            #[allow(dead_code)]
            struct $name { $($field: $ty),* }
            ParamsLayout {
                name: stringify!($name),
                size: size_of::<$name>(),
                fields: &[$(Field {
                    name: stringify!($field),
                    offset: offset_of!($name, $field),
                    wgsl: stringify!($ty),
                }),*],
            }
        }};
    }

    #[test]
    fn a_matching_struct_passes() {
        let rust = layout!(Good {
            n: u32,
            lr: f32,
            steps: u32,
            _pad: u32
        });
        assert_eq!(
            params_mismatches(&module(WGSL), &rust),
            Vec::<String>::new()
        );
    }

    #[test]
    fn mismatched_structs_fail() {
        let m = module(WGSL);
        let swapped = layout!(Swapped {
            lr: f32,
            n: u32,
            steps: u32,
            _pad: u32
        });
        assert_eq!(
            params_mismatches(&m, &swapped),
            [
                "member 0: WGSL `n: u32` at 0, Swapped.lr: f32 at 0",
                "member 1: WGSL `lr: f32` at 4, Swapped.n: u32 at 4",
            ]
        );
        let retyped = layout!(Retyped {
            n: u32,
            lr: u32,
            steps: u32,
            _pad: u32
        });
        assert_eq!(
            params_mismatches(&m, &retyped),
            ["member 1: WGSL `lr: f32` at 4, Retyped.lr: u32 at 4"]
        );
        let short = layout!(Short {
            n: u32,
            lr: f32,
            steps: u32
        });
        assert_eq!(
            params_mismatches(&m, &short),
            [
                "size: WGSL 16 bytes, Short 12 bytes",
                "member 3: WGSL `_pad: u32` at 12 is missing from Short",
            ]
        );
        let unbound = module(&WGSL.replace("var<uniform> p", "var<storage> p"));
        let good = layout!(Good {
            n: u32,
            lr: f32,
            steps: u32,
            _pad: u32
        });
        assert_eq!(
            params_mismatches(&unbound, &good),
            ["`Params` is not the uniform at @group(0) @binding(0)"]
        );
    }
}
