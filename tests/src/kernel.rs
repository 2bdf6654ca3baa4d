//! One kernel on host slices: a one-step schedule, run by the CPU or the GPU executor.

use std::sync::Arc;

use mtsnn_core::cpu::CpuExecutor;
use mtsnn_core::executor::{Executor, Job, Ran};
use mtsnn_core::gpu::GpuExecutor;
use mtsnn_core::kernel_params::AdamStep;
use mtsnn_core::schedule::{Buf, Schedule, Step};
use mtsnn_core::{GpuContext, Result};

/// Where a step runs.
#[derive(Clone, Copy, Debug)]
pub enum On<'a> {
    Cpu,
    Gpu(&'a Arc<GpuContext>),
}

/// Runs `step` once with `Buf(i)` loaded from `buffers[i]` (each exactly as long as the step
/// uses, else [`mtsnn_core::Error::Shape`]), and returns every buffer afterwards, with the batch
/// loss of an output-error step.
pub fn run_step(on: On<'_>, step: Step, buffers: &[&[f32]], adam: Option<AdamStep>) -> Result<Ran> {
    let names = (0..buffers.len())
        .map(|i| (format!("buffer {i}"), false))
        .collect();
    let schedule = Schedule::new(names, vec![step])?;
    let job = Job {
        steps: 0..1,
        loads: buffers
            .iter()
            .enumerate()
            .map(|(i, b)| (Buf(i), *b))
            .collect(),
        adam,
        reads: (0..buffers.len()).map(Buf).collect(),
    };
    match on {
        On::Cpu => run(CpuExecutor::new(Vec::new()), &schedule, job),
        On::Gpu(ctx) => run(GpuExecutor::new(Arc::clone(ctx), &[])?, &schedule, job),
    }
}

/// [`run_step`] on the GPU of `ctx`, without Adam: every buffer afterwards.
pub fn gpu_step(ctx: &Arc<GpuContext>, step: Step, buffers: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
    Ok(run_step(On::Gpu(ctx), step, buffers, None)?.values)
}

fn run<E: Executor>(mut executor: E, schedule: &Schedule, job: Job<'_>) -> Result<Ran> {
    pollster::block_on(async {
        let prepared = executor.prepare(schedule).await?;
        executor.run(schedule, &prepared, job).await
    })
}
