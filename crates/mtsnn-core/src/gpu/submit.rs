//! Running recorded kernels and reading results back.
//!
//! The core is `async`: on native targets `device.poll` completes the buffer mapping before the
//! future is awaited, so `pollster::block_on` returns at once; in a browser the same future is
//! awaited and the mapping callback wakes it (`device.poll` is a no-op there).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use super::context::{Count, GpuContext};
use super::tensor::GpuTensor;
use crate::error::{Error, Result};

/// One kernel launch, ready to record: its pipeline, bound buffers and workgroup grid.
/// Built by the launchers of the family modules (`gpu/gemm`, `neuron.rs`, …); may be recorded
/// any number of times.
#[derive(Debug)]
pub struct Dispatch {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) bind_group: wgpu::BindGroup,
    pub(crate) workgroups: [u32; 3],
    /// The uniform buffer of its parameters (bound at binding 0).
    pub(crate) params: wgpu::Buffer,
}

impl Dispatch {
    /// Records the launch into a compute pass.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}

/// The value a `map_async` callback hands over, and the task waiting for it.
struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// A future resolved by a callback: the receiving half of a one-shot channel.
struct Callback<T>(Arc<Mutex<Slot<T>>>);

impl<T> Callback<T> {
    /// The future, and the function that resolves it.
    fn new() -> (Self, impl FnOnce(T) + Send + 'static)
    where
        T: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot {
            value: None,
            waker: None,
        }));
        let sender = Arc::clone(&slot);
        let resolve = move |value: T| {
            let mut slot = sender.lock().unwrap_or_else(PoisonError::into_inner);
            slot.value = Some(value);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        };
        (Self(slot), resolve)
    }
}

impl<T> Future for Callback<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl GpuContext {
    /// Waits for `submission` (one host wait, counted with the bytes read) and returns the whole
    /// of `staging`, a `MAP_READ` buffer it copied into, as values of `T`. `what` names the buffer
    /// and `doing` the work in errors.
    async fn wait_and_read<T: bytemuck::Pod>(
        &self,
        staging: &wgpu::Buffer,
        submission: wgpu::SubmissionIndex,
        what: &str,
        doing: &str,
    ) -> Result<Vec<T>> {
        let (mapped, resolve) = Callback::new();
        staging.slice(..).map_async(wgpu::MapMode::Read, resolve);
        self.count(Count::HostWaits, 1);
        self.count(Count::BytesRead, staging.size());
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: None,
            })
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        mapped
            .await
            .map_err(|e| Error::Gpu(format!("mapping {what}: {e}")))?;
        self.check_uncaptured(doing)?;
        let values = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("reading {what}: {e}")))?;
            bytemuck::pod_collect_to_vec(&view)
        };
        staging.unmap();
        Ok(values)
    }

    /// Runs `work` in order in one compute pass, as [`Self::execute`], with a timestamp before
    /// the first launch and after each; returns each launch's device time in nanoseconds (the
    /// difference of its two timestamps), or `None` where the device has no timestamp queries
    /// ([`Self::has_timestamps`]). One host wait.
    pub async fn execute_timed(&self, work: &[&Dispatch]) -> Result<Option<Vec<f64>>> {
        if !self.has_timestamps() || work.is_empty() {
            return Ok(None);
        }
        let count = u32::try_from(work.len() + 1)
            .ok()
            .filter(|&n| n <= wgpu::QUERY_SET_MAX_QUERIES)
            .ok_or_else(|| Error::Gpu(format!("{} launches to time", work.len())))?;
        let bytes = 8 * u64::from(count);
        let scope = self.scope();
        let queries = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("launch timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let buffer = |usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("launch timestamps"),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        let resolved = buffer(wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC);
        let staging = buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("mtsnn timed"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            pass.write_timestamp(&queries, 0);
            for (i, dispatch) in work.iter().enumerate() {
                dispatch.record(&mut pass);
                pass.write_timestamp(&queries, i as u32 + 1);
            }
        }
        encoder.resolve_query_set(&queries, 0..count, &resolved, 0);
        encoder.copy_buffer_to_buffer(&resolved, 0, &staging, 0, bytes);
        let submission = self.queue.submit([encoder.finish()]);
        self.count(Count::Dispatches, work.len() as u64);
        self.count(Count::Submissions, 1);
        scope.finish("running timed kernels").await?;
        let ticks: Vec<u64> = self
            .wait_and_read(
                &staging,
                submission,
                "the timestamps",
                "running timed kernels",
            )
            .await?;
        let period = f64::from(self.queue.get_timestamp_period());
        Ok(Some(
            ticks
                .windows(2)
                .map(|w| w[1].wrapping_sub(w[0]) as f64 * period)
                .collect(),
        ))
    }

    /// Records `work` in order into one compute pass (wgpu orders the dispatches' buffer
    /// accesses), then copies the first `n` values of each `(tensor, n)` in `reads`, submits
    /// everything at once, and returns the values read. All errors become [`Error::Gpu`].
    pub async fn execute(
        &self,
        work: &[&Dispatch],
        reads: &[(&GpuTensor, usize)],
    ) -> Result<Vec<Vec<f32>>> {
        for (tensor, n) in reads {
            tensor.check_holds("read-back", *n)?;
        }
        let total: u64 = reads.iter().map(|(_, n)| 4 * *n as u64).sum();
        let scope = self.scope();
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("mtsnn"),
            });
        if !work.is_empty() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            for dispatch in work {
                dispatch.record(&mut pass);
            }
        }
        let staging = (total > 0).then(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("read-back"),
                size: total,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        if let Some(staging) = &staging {
            let mut offset = 0;
            for (tensor, n) in reads.iter().filter(|(_, n)| *n > 0) {
                encoder.copy_buffer_to_buffer(&tensor.buffer, 0, staging, offset, 4 * *n as u64);
                offset += 4 * *n as u64;
            }
        }
        let submission = self.queue.submit([encoder.finish()]);
        self.count(Count::Dispatches, work.len() as u64);
        self.count(Count::Submissions, 1);
        scope.finish("running kernels").await?;
        let Some(staging) = staging else {
            return Ok(reads.iter().map(|_| Vec::new()).collect());
        };

        let values: Vec<f32> = self
            .wait_and_read(
                &staging,
                submission,
                "the read-back buffer",
                "running kernels",
            )
            .await?;
        let mut out = Vec::with_capacity(reads.len());
        let mut rest = values.as_slice();
        for (_, n) in reads {
            let (head, tail) = rest.split_at(*n);
            out.push(head.to_vec());
            rest = tail;
        }
        Ok(out)
    }
}
