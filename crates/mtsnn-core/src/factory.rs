//! How a backend is chosen, and why.

use std::fmt;
use std::str::FromStr;

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::model::Model;

/// Which backend to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BackendKind {
    /// Plain Rust on all CPU cores.
    Cpu,
    /// wgpu; software adapters (lavapipe, SwiftShader) included. Needs the `gpu` feature.
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

/// A backend built by [`choose_backend`], with where it runs and why.
#[non_exhaustive]
pub struct Chosen {
    /// The backend.
    pub backend: Box<dyn Backend>,
    /// Where it runs: [`BackendKind::Cpu`] or [`BackendKind::Gpu`], never `Auto`.
    pub kind: BackendKind,
    /// Why, in a few words: what was asked for and, for `auto`, which adapters were seen and why
    /// the choice fell where it did, e.g. `auto: the only GPU adapter is llvmpipe (LLVM 15.0.6, 256
    /// bits) on vulkan, a software rasteriser; backend gpu uses it anyway`.
    pub why: String,
}

impl fmt::Display for Chosen {
    /// `cpu (auto: …)`, as the CLI prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.kind, self.why)
    }
}

/// Builds the backend `kind` holding `model` ([`choose_backend`] without the reason).
pub fn create_backend(kind: BackendKind, model: &Model) -> Result<Box<dyn Backend>> {
    Ok(choose_backend(kind, model)?.backend)
}

/// Builds the backend `kind` holding `model`, and says why it runs where it does. `Gpu` takes the
/// best adapter, software ones (lavapipe, SwiftShader) included. `Auto` takes a hardware GPU when
/// one exists, and the CPU otherwise: software adapters are slower than the CPU backend. wgpu's
/// `WGPU_BACKEND` and `WGPU_ADAPTER_NAME` variables narrow the search
/// (`GpuContext::new_async`). Without the `gpu` feature, `Auto` is the CPU and `Gpu` is
/// [`Error::NoAdapter`].
pub fn choose_backend(kind: BackendKind, model: &Model) -> Result<Chosen> {
    let cpu = |why: String| -> Result<Chosen> {
        Ok(Chosen {
            backend: Box::new(CpuBackend::new(model)?),
            kind: BackendKind::Cpu,
            why,
        })
    };
    match kind {
        BackendKind::Cpu => cpu("asked for".into()),
        #[cfg(feature = "gpu")]
        BackendKind::Gpu => gpu::open(crate::gpu::AdapterPolicy::Any, model, "asked for"),
        #[cfg(feature = "gpu")]
        BackendKind::Auto => {
            let search = pollster::block_on(crate::gpu::GpuContext::search(
                crate::gpu::AdapterPolicy::Hardware,
            ));
            if search.best().is_some() {
                gpu::open_found(search, model, "auto")
            } else {
                cpu(gpu::why_not(&search.seen))
            }
        }
        #[cfg(not(feature = "gpu"))]
        BackendKind::Gpu => Err(Error::NoAdapter(NO_GPU.into())),
        #[cfg(not(feature = "gpu"))]
        BackendKind::Auto => cpu(format!("auto: {NO_GPU}")),
    }
}

/// Why a build without the `gpu` feature has no GPU.
#[cfg(not(feature = "gpu"))]
const NO_GPU: &str = "this build of mtsnn-core has no GPU backend (its `gpu` feature is off)";

#[cfg(feature = "gpu")]
mod gpu {
    use std::sync::Arc;

    use super::{BackendKind, Chosen};
    use crate::error::Result;
    use crate::gpu::{
        AdapterPolicy, AdapterSearch, GpuBackend, GpuContext, Rejection, SeenAdapter,
    };
    use crate::model::Model;

    /// The GPU backend on the best adapter `policy` allows.
    pub(super) fn open(policy: AdapterPolicy, model: &Model, asked: &str) -> Result<Chosen> {
        open_found(pollster::block_on(GpuContext::search(policy)), model, asked)
    }

    /// The GPU backend on the adapter `search` found (its error when there is none).
    pub(super) fn open_found(search: AdapterSearch, model: &Model, asked: &str) -> Result<Chosen> {
        let ctx = pollster::block_on(search.open())?;
        let why = format!("{asked}: {}", ctx.describe());
        Ok(Chosen {
            backend: Box::new(GpuBackend::new(Arc::new(ctx), model)?),
            kind: BackendKind::Gpu,
            why,
        })
    }

    /// Why `auto` found no hardware GPU among the adapters `seen`.
    pub(super) fn why_not(seen: &[SeenAdapter]) -> String {
        let software: Vec<_> = seen
            .iter()
            .filter(|a| a.rejected == Some(Rejection::Software))
            .collect();
        if seen.is_empty() {
            return "auto: no GPU adapter found".into();
        }
        if software.len() < seen.len() {
            let list = seen.iter().map(|a| match a.rejected {
                Some(why) => format!("{}: {why}", a.describe()),
                None => a.describe(),
            });
            let list = list.collect::<Vec<_>>().join("; ");
            return format!("auto: no usable hardware GPU adapter ({list})");
        }
        // One device often shows through several APIs (lavapipe: Vulkan, and GL through EGL).
        let mut devices: Vec<(&str, Vec<String>)> = Vec::new();
        for a in &software {
            let name = a.info.name.trim();
            let api = a.info.backend.to_string();
            match devices.iter_mut().find(|(n, _)| *n == name) {
                Some((_, apis)) => apis.push(api),
                None => devices.push((name, vec![api])),
            }
        }
        let list = devices
            .iter()
            .map(|(name, apis)| format!("{name} on {}", apis.join(" and ")));
        let list = list.collect::<Vec<_>>();
        if let [one] = &list[..] {
            format!(
                "auto: the only GPU adapter is {one}, a software rasteriser; backend gpu uses it \
                 anyway"
            )
        } else {
            format!(
                "auto: the GPU adapters are all software rasterisers ({}); backend gpu uses them \
                 anyway",
                list.join("; ")
            )
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use wgpu::{AdapterInfo, Backend, DeviceType};

        fn seen(name: &str, device_type: DeviceType, rejected: Option<Rejection>) -> SeenAdapter {
            let mut info = AdapterInfo::new(device_type, Backend::Vulkan);
            info.name = name.into();
            SeenAdapter { info, rejected }
        }

        #[test]
        fn auto_says_why_it_took_the_cpu() {
            let software = Some(Rejection::Software);
            let llvmpipe = seen("llvmpipe (LLVM 15)", DeviceType::Cpu, software);
            let mut llvmpipe_gl = llvmpipe.clone();
            llvmpipe_gl.info.backend = Backend::Gl;
            let swiftshader = seen("SwiftShader", DeviceType::Cpu, software);
            let old = seen(
                "Old GPU",
                DeviceType::IntegratedGpu,
                Some(Rejection::NoCompute),
            );
            assert_eq!(why_not(&[]), "auto: no GPU adapter found");
            assert_eq!(
                why_not(std::slice::from_ref(&llvmpipe)),
                "auto: the only GPU adapter is llvmpipe (LLVM 15) on vulkan, a software rasteriser; \
                 backend gpu uses it anyway"
            );
            assert_eq!(
                why_not(&[llvmpipe.clone(), llvmpipe_gl.clone()]),
                "auto: the only GPU adapter is llvmpipe (LLVM 15) on vulkan and gl, a software \
                 rasteriser; backend gpu uses it anyway"
            );
            assert_eq!(
                why_not(&[llvmpipe.clone(), swiftshader, llvmpipe_gl]),
                "auto: the GPU adapters are all software rasterisers (llvmpipe (LLVM 15) on vulkan \
                 and gl; SwiftShader on vulkan); backend gpu uses them anyway"
            );
            assert_eq!(
                why_not(&[old, llvmpipe]),
                "auto: no usable hardware GPU adapter (Old GPU on vulkan, an integrated GPU: no \
                 compute shaders; llvmpipe (LLVM 15) on vulkan, a software rasteriser: software)"
            );
        }
    }
}

#[cfg(all(test, not(feature = "gpu")))]
mod cpu_only_tests {
    use super::*;
    use crate::{Hyper, NetSpec, Shape};

    #[test]
    fn without_the_gpu_feature_auto_is_the_cpu_and_gpu_an_error() {
        let spec = NetSpec::parse("784-20-10", Shape::new(1, 28, 28), 10).unwrap();
        let model = Model::init(spec, Hyper::default(), 1).unwrap();
        let auto = choose_backend(BackendKind::Auto, &model).unwrap();
        assert_eq!(
            auto.to_string(),
            "cpu (auto: this build of mtsnn-core has no GPU backend (its `gpu` feature is off))"
        );
        assert!(
            auto.backend.name().starts_with("cpu"),
            "{}",
            auto.backend.name()
        );
        let err = choose_backend(BackendKind::Gpu, &model)
            .err()
            .expect("an error");
        assert_eq!(
            err.to_string(),
            "no GPU adapter: this build of mtsnn-core has no GPU backend (its `gpu` feature is off)"
        );
    }
}
