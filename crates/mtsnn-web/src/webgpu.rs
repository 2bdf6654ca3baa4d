//! The WebGPU path: the engine's own WGSL kernels (`mtsnn_core::GpuBackend`) on the browser's GPU
//! through wgpu's WebGPU backend. Every read-back is awaited (`map_async`), never polled.
//!
//! The same code opens Vulkan, Metal or DX12 adapters in native builds; only the browser uses it.

use std::sync::Arc;

use mtsnn_core::{AdapterPolicy, Backend, Error, GpuBackend, GpuContext, Model};

use crate::error::WebError;

/// Opens the browser's GPU (any adapter, software ones included), uploads the model and runs it
/// once; returns the backend with the adapter's description.
///
/// `Ok(None)` when there is no adapter (no `navigator.gpu`, or the browser offers none), so the
/// caller can fall back to the CPU; errors of an adapter that exists are `Err`.
pub async fn open(model: &Model) -> Result<Option<(GpuBackend, String)>, WebError> {
    let ctx = match GpuContext::new_async(AdapterPolicy::Any).await {
        Ok(ctx) => Arc::new(ctx),
        Err(Error::NoAdapter(_)) => return Ok(None),
        Err(e) => return Err(WebError::Gpu(e.to_string())),
    };
    let adapter = describe(&ctx);
    let failed = |e: Error| WebError::Gpu(format!("{adapter}: {e}"));
    let mut backend = GpuBackend::new_async(ctx, model).await.map_err(failed)?;
    // A first inference compiles the kernels and proves the device works, so that a broken
    // WebGPU fails here, where the caller can still choose the CPU, not at the first answer.
    let blank = vec![0.0; model.spec.input().len()];
    backend.infer_async(&blank, true).await.map_err(failed)?;
    Ok(Some((backend, adapter)))
}

/// The adapter's name as the browser reports it, or a placeholder; marked when it is software.
fn describe(ctx: &GpuContext) -> String {
    let name = ctx.adapter_info().name.trim();
    let name = if name.is_empty() {
        "adapter name hidden by the browser"
    } else {
        name
    };
    if ctx.is_software() {
        format!("{name}, software fallback")
    } else {
        name.to_string()
    }
}
