//! Storage buffers of 32-bit values (f32, or u32 labels) on the device, created within the
//! device's limits.

use super::context::{Count, GpuContext};
use crate::error::{Error, Result};

/// Kernels index with u32, and a workgroup may run past the end of a buffer by less than 1024
/// invocations: no tensor holds more values than this.
const MAX_VALUES: u64 = u32::MAX as u64 - 1024;

/// Buffers are whole multiples of this many bytes, so that every tensor binds as WGSL
/// `array<vec4<f32>>` too (`gemm_vec4.wgsl`'s operands): the padding past `len` values is zeros,
/// and kernels never read it as data.
const ALIGN: u64 = 16;

/// A storage buffer of `len` 32-bit values (padded to 16 bytes), bindable to every kernel.
/// Clones share the buffer.
#[derive(Clone, Debug)]
pub struct GpuTensor {
    pub(crate) buffer: wgpu::Buffer,
    len: usize,
}

impl GpuTensor {
    /// Number of 32-bit values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The wgpu buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Fails with [`Error::Shape`] unless the tensor holds at least `needed` values.
    pub(crate) fn check_holds(&self, what: &str, needed: usize) -> Result<()> {
        if self.len < needed {
            return Err(Error::Shape(format!(
                "{what}: a GPU tensor of {} values where {needed} are needed",
                self.len
            )));
        }
        Ok(())
    }
}

/// The 32-bit values a tensor holds: f32 activations and weights, u32 labels.
pub trait Word: bytemuck::Pod + sealed::Sealed {}
impl Word for f32 {}
impl Word for u32 {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for u32 {}
}

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl GpuContext {
    /// The most 32-bit values one tensor may hold on this device: the smaller of its storage
    /// binding and buffer size limits (in whole 16-byte units), and of the kernels' u32 indices.
    pub fn max_tensor_values(&self) -> usize {
        let bytes = self
            .limits()
            .max_storage_buffer_binding_size
            .min(self.limits().max_buffer_size);
        (bytes / ALIGN * ALIGN / 4).min(MAX_VALUES) as usize
    }

    /// Checks that `len` values fit one storage binding of this device and returns the buffer's
    /// size in bytes: 4·`len` rounded up to [`ALIGN`] (at least that: bindings cannot be empty).
    fn tensor_bytes(&self, label: &str, len: usize) -> Result<u64> {
        let bytes = (4 * (len.max(1) as u64)).next_multiple_of(ALIGN);
        let limit = self
            .limits()
            .max_storage_buffer_binding_size
            .min(self.limits().max_buffer_size);
        if bytes > limit || len as u64 > MAX_VALUES {
            return Err(Error::Gpu(format!(
                "{label}: {len} values ({:.1} MiB) exceed what {} binds in one storage buffer ({:.1} MiB); \
                 use smaller batches",
                bytes as f64 / (1u64 << 20) as f64,
                self.name(),
                limit.min(4 * MAX_VALUES) as f64 / (1u64 << 20) as f64,
            )));
        }
        Ok(bytes)
    }

    /// A tensor of `len` zeros.
    pub fn zeros(&self, label: &str, len: usize) -> Result<GpuTensor> {
        let size = self.tensor_bytes(label, len)?;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: USAGE,
            mapped_at_creation: false,
        });
        Ok(GpuTensor { buffer, len })
    }

    /// A tensor holding `data` (f32 values, or u32 as labels are).
    pub fn upload<T: Word>(&self, label: &str, data: &[T]) -> Result<GpuTensor> {
        if data.is_empty() {
            return self.zeros(label, 0);
        }
        let size = self.tensor_bytes(label, data.len())?;
        let contents: &[u8] = bytemuck::cast_slice(data);
        self.count(Count::BytesUploaded, contents.len() as u64);
        // As wgpu's `create_buffer_init`, with the size padded to ALIGN (the padding stays zero).
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: USAGE,
            mapped_at_creation: true,
        });
        buffer
            .get_mapped_range_mut(..)
            .map_err(|e| Error::Gpu(format!("{label}: mapping a new buffer: {e}")))?
            .slice(..contents.len())
            .copy_from_slice(contents);
        buffer.unmap();
        Ok(GpuTensor {
            buffer,
            len: data.len(),
        })
    }

    /// Overwrites the first `data.len()` values of `tensor`; ordered before later submissions.
    pub fn write<T: Word>(&self, tensor: &GpuTensor, data: &[T]) -> Result<()> {
        tensor.check_holds("write", data.len())?;
        if !data.is_empty() {
            let bytes: &[u8] = bytemuck::cast_slice(data);
            self.count(Count::BytesUploaded, bytes.len() as u64);
            self.queue.write_buffer(&tensor.buffer, 0, bytes);
        }
        Ok(())
    }
}
