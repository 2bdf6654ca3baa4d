//! The GPU test policy: every GPU test gets its device from [`gpu_context`].
//!
//! With no adapter, a test fails when `MTSNN_REQUIRE_GPU=1` (CI sets it, with lavapipe
//! installed) and otherwise prints a loud `SKIPPED: no GPU adapter` line and returns.

use mtsnn_core::{AdapterPolicy, Error, GpuContext};

/// A fresh device on any adapter (software ones included), or `None` when the test should be
/// skipped. Panics on any other error, and on a missing adapter when `MTSNN_REQUIRE_GPU=1`.
pub fn gpu_context(test: &str) -> Option<GpuContext> {
    match GpuContext::new(AdapterPolicy::Any) {
        Ok(ctx) => Some(ctx),
        Err(Error::NoAdapter(why)) => {
            if std::env::var("MTSNN_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("{test}: MTSNN_REQUIRE_GPU=1 but there is no GPU adapter: {why}");
            }
            eprintln!("\n*** SKIPPED: no GPU adapter — {test} did not run ({why}) ***\n");
            None
        }
        Err(e) => panic!("{test}: opening the GPU failed: {e}"),
    }
}
