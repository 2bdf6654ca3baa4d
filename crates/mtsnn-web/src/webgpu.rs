//! The WebGPU path: the engine's own WGSL kernels (`mtsnn_core::GpuBackend`) on the browser's GPU
//! through wgpu's WebGPU backend. Every read-back is awaited (`map_async`), never polled. Only
//! in builds with the `gpu` feature.
//!
//! The same code opens Vulkan, Metal or DX12 adapters in native builds; only the browser uses it.

use std::sync::Arc;

use mtsnn_core::{AdapterPolicy, Backend, Error, GpuBackend, GpuContext, Model};

use crate::error::WebError;

/// Where `Model.load` with `"auto"` or `"webgpu"` runs a model: on WebGPU (`gpu`), or on the CPU.
pub struct Placement {
    /// The WebGPU backend holding the model; `None`: the CPU.
    pub gpu: Option<GpuBackend>,
    /// Why: the adapter for WebGPU, the reason for the CPU.
    pub note: String,
}

impl Placement {
    fn cpu(note: String) -> Self {
        Self { gpu: None, note }
    }
}

/// Opens the browser's GPU, uploads the model and runs it once. `auto` takes hardware adapters
/// only: on a software fallback adapter (the spec's `isFallbackAdapter`, which wgpu reports as a
/// CPU device; Chromium's SwiftShader) WebGPU runs far slower than the CPU path, so the model
/// stays on the CPU, as it does when there is no adapter or it fails. Without `auto` (`"webgpu"`)
/// any adapter is taken and its absence or failure is an error. `adapter_words` describes the
/// adapter where the browser hides its name (e.g. `google swiftshader`).
pub async fn place(
    model: &Model,
    auto: bool,
    adapter_words: Option<String>,
) -> Result<Placement, WebError> {
    let search = GpuContext::search(AdapterPolicy::Any).await;
    let Some(info) = search.best().map(|a| a.get_info()) else {
        return if auto {
            Ok(Placement::cpu(
                "auto: the browser offers no WebGPU adapter".into(),
            ))
        } else {
            Err(WebError::Gpu(
                "no adapter (navigator.gpu offers none)".into(),
            ))
        };
    };
    let software = GpuContext::is_software_adapter(&info);
    let adapter = describe(&info.name, adapter_words, software);
    if auto && software {
        return Ok(Placement::cpu(format!(
            "auto: WebGPU's adapter ({adapter}) runs in software, slower than the CPU path; \
             ask for \"webgpu\" to use it anyway"
        )));
    }
    let opened = async {
        let failed = |e: Error| WebError::Gpu(format!("{adapter}: {e}"));
        let ctx = Arc::new(search.open().await.map_err(failed)?);
        let mut backend = GpuBackend::new_async(ctx, model).await.map_err(failed)?;
        // A first inference compiles the kernels and proves the device works, so that a broken
        // WebGPU fails here, where the caller can still choose the CPU, not at the first answer.
        let blank = vec![0.0; model.spec().input().len()];
        backend.infer_async(&blank, true).await.map_err(failed)?;
        Ok(backend)
    };
    match opened.await {
        Ok(backend) => Ok(Placement {
            gpu: Some(backend),
            note: adapter,
        }),
        Err(e) if auto => Ok(Placement::cpu(format!("auto: fell back from {e}"))),
        Err(e) => Err(e),
    }
}

/// The adapter's name as the browser reports it, else `words` (vendor and architecture), else a
/// placeholder; marked when it is a software fallback.
fn describe(name: &str, words: Option<String>, software: bool) -> String {
    let name = match (name.trim(), words) {
        ("", Some(words)) => words,
        ("", None) => "adapter name hidden by the browser".into(),
        (name, _) => name.to_string(),
    };
    if software {
        format!("{name}, software fallback")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn adapters_are_named_by_what_the_browser_tells() {
        assert_eq!(
            describe("", Some("google swiftshader".into()), true),
            "google swiftshader, software fallback"
        );
        assert_eq!(
            describe(" ", None, false),
            "adapter name hidden by the browser"
        );
        assert_eq!(
            describe("Apple M2", Some("apple".into()), false),
            "Apple M2"
        );
    }
}
