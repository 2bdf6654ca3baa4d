//! How a backend is chosen.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::gpu::{AdapterPolicy, GpuBackend, GpuContext};
use crate::model::Model;

/// Which backend to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// Plain Rust on all CPU cores.
    Cpu,
    /// wgpu; software adapters (lavapipe, SwiftShader) included.
    Gpu,
    /// A hardware GPU when one exists, else the CPU.
    #[default]
    Auto,
}

impl FromStr for BackendKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            "auto" => Ok(Self::Auto),
            _ => Err(Error::InvalidParam {
                name: "backend",
                reason: format!("{s:?} is not one of cpu, gpu, auto"),
            }),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
            Self::Auto => "auto",
        })
    }
}

/// Builds the backend `kind` holding `model`. `Gpu` takes the best adapter, software ones
/// (lavapipe, SwiftShader) included. `Auto` takes a hardware GPU when one exists, and the CPU
/// otherwise. wgpu's `WGPU_BACKEND` and
/// `WGPU_ADAPTER_NAME` variables narrow the search ([`GpuContext::new_async`]).
pub fn create_backend(kind: BackendKind, model: &Model) -> Result<Box<dyn Backend>> {
    let cpu = || -> Result<Box<dyn Backend>> { Ok(Box::new(CpuBackend::new(model)?)) };
    match kind {
        BackendKind::Cpu => cpu(),
        BackendKind::Gpu => Ok(Box::new(GpuBackend::new(
            Arc::new(GpuContext::new(AdapterPolicy::Any)?),
            model,
        )?)),
        BackendKind::Auto => match GpuContext::new(AdapterPolicy::Hardware) {
            Ok(ctx) => Ok(Box::new(GpuBackend::new(Arc::new(ctx), model)?)),
            Err(Error::NoAdapter(_)) => cpu(),
            Err(e) => Err(e),
        },
    }
}
