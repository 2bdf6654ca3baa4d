//! The device a GPU backend runs on: adapter choice, a device opened with the adapter's real
//! limits, capture of every wgpu error, and the cache of compute pipelines.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::conv::WeightGradChunks;
use super::gemm::MatmulPath;
use super::shaders::Kernel;
use crate::error::{Error, Result};
use crate::pass::Counters;

/// Which adapters [`GpuContext::new`] may open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterPolicy {
    /// Any adapter that runs compute shaders, software ones (lavapipe, SwiftShader) included.
    Any,
    /// Only hardware: adapters whose device type is not `Cpu`.
    Hardware,
}

/// Why [`GpuContext::search`] passed over an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// A software rasteriser (lavapipe/llvmpipe, SwiftShader, WARP), and the policy wants hardware.
    Software,
    /// It cannot run compute shaders.
    NoCompute,
    /// It binds fewer than the 4 storage buffers per stage the kernels need.
    FewStorageBuffers,
    /// Its name does not contain `WGPU_ADAPTER_NAME` (or [`ADAPTER_VAR`]'s name).
    Name,
    /// Usable, but [`ADAPTER_VAR`] (or a Slurm task's GPU) picked another by its index.
    NotChosen,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Software => "software",
            Self::NoCompute => "no compute shaders",
            Self::FewStorageBuffers => "fewer than 4 storage buffers per stage",
            Self::Name => "name does not match WGPU_ADAPTER_NAME or MTSNN_ADAPTER",
            Self::NotChosen => "not the one MTSNN_ADAPTER's index (or the Slurm task's GPU) names",
        })
    }
}

/// The environment variable that picks one adapter (`mtsnn --adapter` sets it): an index into the
/// usable adapters in the order [`AdapterSearch::seen`] lists them (`mtsnn adapters` shows it:
/// the best kind first, then by PCI bus), or a part of the adapter's name (any case).
///
/// Unset, inside a Slurm job, the first number of `GPU_DEVICE_ORDINAL`, `CUDA_VISIBLE_DEVICES` or
/// `ROCR_VISIBLE_DEVICES` (the GPU Slurm allocated to the task) is taken as that index, so tasks
/// sharing a node use their own GPUs; where the index is beyond the adapters this process sees
/// (Slurm's device cgroup already hides the others), the best adapter is taken.
pub const ADAPTER_VAR: &str = "MTSNN_ADAPTER";

/// Which adapter the environment asks for.
#[derive(Debug, PartialEq)]
enum Wanted {
    /// The best one.
    Best,
    /// The usable one at this index; `strict` when the user named it (else a Slurm hint).
    Index { index: usize, strict: bool },
    /// One whose name contains this (lower case).
    Name(String),
}

/// What [`ADAPTER_VAR`], `WGPU_ADAPTER_NAME` and a Slurm task's variables ask for, read through
/// `var`.
fn wanted(var: &dyn Fn(&str) -> Option<String>) -> Wanted {
    if let Some(v) = var(ADAPTER_VAR).filter(|v| !v.trim().is_empty()) {
        return match v.trim().parse() {
            Ok(index) => Wanted::Index {
                index,
                strict: true,
            },
            Err(_) => Wanted::Name(v.trim().to_lowercase()),
        };
    }
    if let Some(v) = var("WGPU_ADAPTER_NAME") {
        return Wanted::Name(v.to_lowercase());
    }
    if var("SLURM_JOB_ID").is_some() {
        for name in [
            "GPU_DEVICE_ORDINAL",
            "CUDA_VISIBLE_DEVICES",
            "ROCR_VISIBLE_DEVICES",
        ] {
            let first = var(name).and_then(|v| v.split(',').next()?.trim().parse().ok());
            if let Some(index) = first {
                return Wanted::Index {
                    index,
                    strict: false,
                };
            }
        }
    }
    Wanted::Best
}

/// An adapter [`GpuContext::search`] saw.
#[derive(Clone, Debug)]
pub struct SeenAdapter {
    /// What wgpu reports about it.
    pub info: wgpu::AdapterInfo,
    /// Why it was passed over; `None` when the policy allows it.
    pub rejected: Option<Rejection>,
}

impl SeenAdapter {
    /// Its name, API and kind (see [`describe`]).
    pub fn describe(&self) -> String {
        describe(&self.info)
    }
}

/// An adapter in words: name, API and kind of device, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) on
/// Vulkan, a software rasteriser` or `NVIDIA GeForce RTX 4090 on Vulkan, a discrete GPU`.
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => "a discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "an integrated GPU",
        wgpu::DeviceType::VirtualGpu => "a virtual GPU",
        wgpu::DeviceType::Other => "a GPU of unreported type",
        wgpu::DeviceType::Cpu => "a software rasteriser",
    };
    let name = info.name.trim();
    let name = if name.is_empty() {
        "an unnamed adapter"
    } else {
        name
    };
    format!("{name} on {}, {kind}", info.backend)
}

/// What [`GpuContext::search`] found: the best adapter the policy allows, if any, and every
/// adapter seen.
pub struct AdapterSearch {
    policy: AdapterPolicy,
    best: Option<wgpu::Adapter>,
    /// Every adapter with why it was passed over: the usable ones first, best first (then by PCI
    /// bus), in the order [`ADAPTER_VAR`]'s index counts them; then the others, in wgpu's order.
    pub seen: Vec<SeenAdapter>,
}

impl AdapterSearch {
    /// The adapter [`Self::open`] would open.
    pub fn best(&self) -> Option<&wgpu::Adapter> {
        self.best.as_ref()
    }

    /// Opens the best adapter ([`GpuContext::from_adapter`]); [`Error::NoAdapter`], listing what
    /// was seen, when there is none.
    pub async fn open(self) -> Result<GpuContext> {
        let Some(adapter) = self.best else {
            let what = if self.policy == AdapterPolicy::Hardware {
                "no hardware GPU adapter"
            } else {
                "no GPU adapter"
            };
            let list = if self.seen.is_empty() {
                "none found".to_string()
            } else {
                let seen = self.seen.iter().map(|a| {
                    let why = a.rejected.map(|r| format!(": {r}")).unwrap_or_default();
                    format!(
                        "{} ({}, {:?}){why}",
                        a.info.name, a.info.backend, a.info.device_type
                    )
                });
                seen.collect::<Vec<_>>().join("; ")
            };
            return Err(Error::NoAdapter(format!(
                "{what} with compute shaders (adapters: {list})"
            )));
        };
        GpuContext::from_adapter(&adapter).await
    }
}

/// The environment variable that forces the weight gradients' chunk count
/// ([`GpuContext::weight_grad_chunks`]), for benchmarks.
const CHUNKS_VAR: &str = "MTSNN_WEIGHT_GRAD_CHUNKS";

/// The chunk count in [`CHUNKS_VAR`]: a whole number from 1.
fn parse_chunks(value: &str) -> Result<usize> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| Error::InvalidParam {
            name: CHUNKS_VAR,
            reason: format!("{value:?} is not a chunk count (a whole number from 1)"),
        })
}

/// A pipeline is identified by its kernel and the values of its override constants (as f64 bits).
type PipelineKey = (Kernel, Vec<(&'static str, u64)>);

/// A wgpu device and queue with what the kernels need to know about them.
///
/// Library code takes a `&GpuContext` (or an `Arc` of one) and never makes its own, so tests and
/// callers choose the device. Every error wgpu reports is turned into [`Error::Gpu`]: operations
/// run inside error scopes, and errors outside any scope are collected by the uncaptured-error
/// handler and returned by the next operation that checks (never a panic, never silent zeros).
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    matmul_path: MatmulPath,
    weight_grad_chunks: WeightGradChunks,
    modules: Mutex<HashMap<Kernel, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<PipelineKey, wgpu::ComputePipeline>>,
    /// Errors reported outside any error scope, and device loss.
    uncaptured: Arc<Mutex<Vec<String>>>,
    /// [`Counters`]' running totals, in its field order.
    counts: [AtomicU64; 5],
    /// Timestamp queries inside compute passes were offered and requested.
    timestamps: bool,
}

/// One of the [`Counters`] that [`GpuContext`] keeps.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Count {
    Dispatches,
    Submissions,
    HostWaits,
    BytesUploaded,
    BytesRead,
}

impl fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.name())
            .finish_non_exhaustive()
    }
}

/// Preference among usable adapters: discrete, integrated, virtual, other, software; native
/// APIs (Vulkan, Metal, DX12, WebGPU) before OpenGL.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let device = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    (device, u8::from(info.backend == wgpu::Backend::Gl))
}

impl GpuContext {
    /// Opens the best adapter the policy allows (see [`Self::new_async`]).
    pub fn new(policy: AdapterPolicy) -> Result<Self> {
        pollster::block_on(Self::new_async(policy))
    }

    /// Opens the best adapter the policy allows, with all of that adapter's limits.
    ///
    /// wgpu's environment variables choose among them: `WGPU_BACKEND` (e.g. `vulkan`, `gl`;
    /// an unknown value leaves no adapter at all) restricts the APIs searched, and
    /// `WGPU_ADAPTER_NAME` keeps only adapters whose name contains it (case-insensitive).
    /// Errors: [`Error::NoAdapter`] when none fits, [`Error::Gpu`] when the device fails to open.
    pub async fn new_async(policy: AdapterPolicy) -> Result<Self> {
        Self::search(policy).await.open().await
    }

    /// Looks at every adapter (as [`Self::new_async`] does) and keeps the best the policy allows,
    /// with what was seen and why the others were passed over, without opening a device.
    pub async fn search(policy: AdapterPolicy) -> AdapterSearch {
        let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let backends = desc.backends;
        let instance = wgpu::Instance::new(desc);
        let wanted = wanted(&|name| std::env::var(name).ok());
        let mut found = Vec::new();
        for adapter in instance.enumerate_adapters(backends).await {
            let info = adapter.get_info();
            let rejected = if policy == AdapterPolicy::Hardware
                && info.device_type == wgpu::DeviceType::Cpu
            {
                Some(Rejection::Software)
            } else if !adapter
                .get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
            {
                Some(Rejection::NoCompute)
            } else if adapter.limits().max_storage_buffers_per_shader_stage < 4 {
                Some(Rejection::FewStorageBuffers)
            } else if matches!(&wanted, Wanted::Name(w) if !info.name.to_lowercase().contains(w)) {
                Some(Rejection::Name)
            } else {
                None
            };
            found.push((adapter, SeenAdapter { info, rejected }));
        }
        // Usable first, best first, then by PCI bus (stable: wgpu's order breaks ties).
        found.sort_by(|(_, a), (_, b)| {
            let key = |s: &SeenAdapter| (s.rejected.is_some(), rank(&s.info));
            key(a)
                .cmp(&key(b))
                .then_with(|| a.info.device_pci_bus_id.cmp(&b.info.device_pci_bus_id))
        });
        let usable = found.iter().filter(|(_, s)| s.rejected.is_none()).count();
        let chosen = match wanted {
            Wanted::Index { index, strict } if index < usable || strict => Some(index),
            _ => (usable > 0).then_some(0),
        };
        let mut best = None;
        let mut seen = Vec::new();
        for (i, (adapter, mut s)) in found.into_iter().enumerate() {
            if s.rejected.is_none() {
                if Some(i) == chosen {
                    best = Some(adapter);
                } else {
                    s.rejected = Some(Rejection::NotChosen);
                }
            }
            seen.push(s);
        }
        AdapterSearch { policy, best, seen }
    }

    /// Opens a device on `adapter` with all of its limits; of the optional features only
    /// timestamp queries inside passes (for [`Self::execute_timed`]), when the adapter offers them.
    pub async fn from_adapter(adapter: &wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let wanted =
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        let timestamps = adapter.features().contains(wanted);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("mtsnn"),
                required_features: if timestamps {
                    wanted
                } else {
                    wgpu::Features::empty()
                },
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("opening {}: {e}", info.name)))?;
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&uncaptured);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(e.to_string());
        }));
        let sink = Arc::clone(&uncaptured);
        device.set_device_lost_callback(move |reason, message| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!("device lost ({reason:?}): {message}"));
        });
        let limits = device.limits();
        let matmul_path = MatmulPath::for_adapter(&info, &limits);
        let weight_grad_chunks = match std::env::var(CHUNKS_VAR) {
            Ok(v) => WeightGradChunks::Fixed(parse_chunks(&v)?),
            Err(_) => WeightGradChunks::for_adapter(&info),
        };
        Ok(Self {
            device,
            queue,
            info,
            limits,
            matmul_path,
            weight_grad_chunks,
            modules: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
            uncaptured,
            counts: Default::default(),
            timestamps,
        })
    }

    /// The adapter's name and API, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)`.
    pub fn name(&self) -> String {
        format!("{} ({})", self.info.name, self.info.backend)
    }

    /// The adapter in words: name, API and kind of device (as `gpu::describe` says).
    pub fn describe(&self) -> String {
        describe(&self.info)
    }

    /// What wgpu reports about the adapter.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// True when the device times launches ([`Self::execute_timed`]): the adapter offers wgpu's
    /// `TIMESTAMP_QUERY` and `TIMESTAMP_QUERY_INSIDE_PASSES`.
    pub fn has_timestamps(&self) -> bool {
        self.timestamps
    }

    /// True for software adapters (lavapipe, SwiftShader, llvmpipe).
    pub fn is_software(&self) -> bool {
        Self::is_software_adapter(&self.info)
    }

    /// True when `info` describes a software adapter: wgpu's CPU device type (lavapipe,
    /// SwiftShader, llvmpipe, a browser's WebGPU fallback adapter).
    pub fn is_software_adapter(info: &wgpu::AdapterInfo) -> bool {
        info.device_type == wgpu::DeviceType::Cpu
    }

    /// The device's limits (those of its adapter).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Which kernel and tiles compute the GEMMs: `MatmulPath::for_adapter` unless
    /// [`Self::with_matmul_path`] chose otherwise.
    pub fn matmul_path(&self) -> &MatmulPath {
        &self.matmul_path
    }

    /// Chooses the GEMM kernel and its tiles (all give the same sums to rounding; tests run each).
    pub fn with_matmul_path(mut self, path: MatmulPath) -> Self {
        self.matmul_path = path;
        self
    }

    /// Into how many image ranges a conv layer's weight gradient is split across workgroups:
    /// `WeightGradChunks::for_adapter`, unless the environment variable
    /// `MTSNN_WEIGHT_GRAD_CHUNKS` (a count ≥ 1, read when the context opens) or
    /// [`Self::with_weight_grad_chunks`] chose otherwise.
    pub fn weight_grad_chunks(&self) -> WeightGradChunks {
        self.weight_grad_chunks
    }

    /// Chooses how conv weight gradients are split (every choice gives the same sums to rounding;
    /// tests force several).
    pub fn with_weight_grad_chunks(mut self, chunks: WeightGradChunks) -> Self {
        self.weight_grad_chunks = chunks;
        self
    }

    /// What this context has been asked to do since it opened: kernel launches recorded,
    /// submissions, blocking waits for the device, bytes written to and read from it. Take two
    /// and [`Counters::since`] for what happened in between.
    pub fn counters(&self) -> Counters {
        let [d, s, w, u, r] = self.counts.each_ref().map(|c| c.load(Ordering::Relaxed));
        Counters {
            dispatches: d,
            submissions: s,
            host_waits: w,
            bytes_uploaded: u,
            bytes_read: r,
        }
    }

    /// Adds `n` to one counter.
    pub(crate) fn count(&self, what: Count, n: u64) {
        self.counts[what as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// The wgpu device, for callers that record their own work.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Starts capturing validation, out-of-memory and internal errors of the work that follows
    /// on this thread; [`ErrorScope::finish`] reports them.
    pub(crate) fn scope(&self) -> ErrorScope<'_> {
        let guards = [
            wgpu::ErrorFilter::Validation,
            wgpu::ErrorFilter::OutOfMemory,
            wgpu::ErrorFilter::Internal,
        ]
        .map(|f| self.device.push_error_scope(f))
        .into();
        ErrorScope { ctx: self, guards }
    }

    /// Fails with the errors reported outside any scope since the last check, if any.
    pub(crate) fn check_uncaptured(&self, what: &str) -> Result<()> {
        let errors = std::mem::take(
            &mut *self
                .uncaptured
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Gpu(format!("{what}: {}", errors.join("; "))))
        }
    }

    /// The compute pipeline of `kernel` with these override constants, compiled once and cached.
    pub(crate) async fn pipeline(
        &self,
        kernel: Kernel,
        constants: &[(&'static str, f64)],
    ) -> Result<wgpu::ComputePipeline> {
        let key: PipelineKey = (
            kernel,
            constants
                .iter()
                .map(|&(name, v)| (name, v.to_bits()))
                .collect(),
        );
        if let Some(p) = self
            .pipelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(p.clone());
        }
        let scope = self.scope();
        let cached = self
            .modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&kernel)
            .cloned();
        let module = cached.unwrap_or_else(|| {
            self.device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.file_name()),
                    source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
                })
        });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.file_name()),
                layout: None,
                module: &module,
                entry_point: Some(kernel.entry_point()),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    // Every kernel writes its workgroup memory before reading it.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        scope
            .finish(&format!(
                "compiling {} with {constants:?}",
                kernel.file_name()
            ))
            .await?;
        self.modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(kernel, module);
        self.pipelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, pipeline.clone());
        Ok(pipeline)
    }
}

/// Error scopes pushed by [`GpuContext::scope`]; popped in reverse order by [`Self::finish`], or
/// on drop (early return), when their errors are discarded.
pub(crate) struct ErrorScope<'a> {
    ctx: &'a GpuContext,
    guards: Vec<wgpu::ErrorScopeGuard>,
}

impl ErrorScope<'_> {
    /// Pops the scopes; the first error captured, or any uncaptured one, becomes [`Error::Gpu`].
    pub(crate) async fn finish(mut self, what: &str) -> Result<()> {
        let mut errors = Vec::new();
        while let Some(guard) = self.guards.pop() {
            if let Some(e) = guard.pop().await {
                errors.push(e.to_string());
            }
        }
        if !errors.is_empty() {
            return Err(Error::Gpu(format!("{what}: {}", errors.join("; "))));
        }
        self.ctx.check_uncaptured(what)
    }
}

impl Drop for ErrorScope<'_> {
    fn drop(&mut self) {
        // wgpu requires error scopes to be popped in reverse order of pushing.
        while let Some(guard) = self.guards.pop() {
            drop(guard);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adapter_is_named_by_index_name_or_the_slurm_task_gpu() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(wanted(&env(&[])), Wanted::Best);
        let strict = |index| Wanted::Index {
            index,
            strict: true,
        };
        assert_eq!(wanted(&env(&[(ADAPTER_VAR, " 2 ")])), strict(2));
        assert_eq!(
            wanted(&env(&[(ADAPTER_VAR, "LLVMpipe")])),
            Wanted::Name("llvmpipe".into())
        );
        assert_eq!(
            wanted(&env(&[("WGPU_ADAPTER_NAME", "NVIDIA")])),
            Wanted::Name("nvidia".into())
        );
        // A Slurm task: its allocated GPU, as a hint; outside a job the variables mean nothing.
        let slurm = Wanted::Index {
            index: 3,
            strict: false,
        };
        assert_eq!(
            wanted(&env(&[
                ("SLURM_JOB_ID", "7"),
                ("CUDA_VISIBLE_DEVICES", "3,1")
            ])),
            slurm
        );
        assert_eq!(
            wanted(&env(&[("SLURM_JOB_ID", "7"), ("GPU_DEVICE_ORDINAL", "3")])),
            slurm
        );
        assert_eq!(wanted(&env(&[("CUDA_VISIBLE_DEVICES", "3")])), Wanted::Best);
        assert_eq!(
            wanted(&env(&[
                (ADAPTER_VAR, "0"),
                ("SLURM_JOB_ID", "7"),
                ("CUDA_VISIBLE_DEVICES", "3")
            ])),
            strict(0)
        );
    }

    #[test]
    fn the_chunk_variable_takes_whole_numbers_from_one() {
        assert_eq!(parse_chunks("8").unwrap(), 8);
        assert_eq!(parse_chunks(" 1\n").unwrap(), 1);
        for bad in ["0", "-2", "eight", "", "2.5"] {
            let e = parse_chunks(bad).unwrap_err().to_string();
            assert!(e.contains(CHUNKS_VAR), "{bad:?}: {e}");
        }
    }
}
