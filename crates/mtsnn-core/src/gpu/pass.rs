//! The launchers of the passes' own kernels (`shaders/pass/`), outside the schedule: `gather`
//! (a batch from an image set on the device, cropped, flipped and normalised) and `tally` (each
//! sample's loss and hit, or output totals, into the pass's records), twins of
//! [`crate::pass::gather`] and [`crate::pass::tally`], and the device layout of an image set.

use super::context::GpuContext;
use super::launch::{dispatch_elementwise, flag, u32_of};
use super::shaders::{GatherParams, Kernel, TallyParams};
use super::submit::Dispatch;
use super::tensor::GpuTensor;
use crate::dataset::ImageSet;
use crate::error::{Error, Result};
use crate::pass::Record;
use crate::spec::Shape;

/// Where the parts of an image set lie in its device buffer ([`image_set_words`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetLayout {
    /// Shape of one sample.
    pub shape: Shape,
    /// Number of samples.
    pub samples: usize,
    /// Word where the labels start.
    pub labels_at: usize,
    /// Word where the packed pixels start.
    pub pixels_at: usize,
}

/// An image set as `gather.wgsl` reads it: the tables (as f32 bits), the labels, then the pixels
/// packed 4 per word (byte k of a word in bits 8k..8k+7), and where each part starts. Fails with
/// [`Error::Shape`] when a pixel's byte index would not fit the kernel's u32.
pub fn image_set_words(set: &ImageSet) -> Result<(Vec<u32>, SetLayout)> {
    u32_of("pixels of the image set", set.pixels.len())?;
    let mut words: Vec<u32> = set.tables.iter().flatten().map(|v| v.to_bits()).collect();
    let labels_at = words.len();
    words.extend_from_slice(&set.labels);
    let pixels_at = words.len();
    words.extend(set.pixels.chunks(4).map(|c| {
        let mut b = [0u8; 4];
        b[..c.len()].copy_from_slice(c);
        u32::from_le_bytes(b)
    }));
    u32_of("words of the image set", words.len())?;
    let layout = SetLayout {
        shape: set.shape,
        samples: set.len(),
        labels_at,
        pixels_at,
    };
    Ok((words, layout))
}

/// Byte offset of `first` in `gather.wgsl`'s parameters, set per batch by a copy.
pub const GATHER_FIRST_AT: u64 = std::mem::offset_of!(GatherParams, first) as u64;

/// Byte offset of `first` in `tally.wgsl`'s parameters, set per batch by a copy.
pub const TALLY_FIRST_AT: u64 = std::mem::offset_of!(TallyParams, first) as u64;

/// One batch of `batch` samples from the image set `set` (laid out as `layout` says) into `x`
/// and, with `with_labels`, `labels` (`shaders/pass/gather.wgsl`), as
/// [`crate::pass::gather`]: positions `first`.. of the pass `order` (`[sample, augment]`
/// words), cropped with padding `pad`. `first` may be changed per batch by copying it into the
/// launch's uniforms at [`GATHER_FIRST_AT`].
#[allow(clippy::too_many_arguments)]
pub async fn gather(
    ctx: &GpuContext,
    set: &GpuTensor,
    layout: &SetLayout,
    order: &GpuTensor,
    pad: usize,
    first: usize,
    batch: usize,
    x: &GpuTensor,
    labels: &GpuTensor,
    with_labels: bool,
) -> Result<Dispatch> {
    let shape = layout.shape;
    set.check_holds(
        "gather set",
        layout.pixels_at + (layout.samples * shape.len()).div_ceil(4),
    )?;
    order.check_holds("gather order", 2 * (first + batch))?;
    x.check_holds("gather x", batch * shape.len())?;
    if with_labels {
        labels.check_holds("gather labels", batch)?;
    }
    if pad > 64 {
        return Err(Error::Shape(format!(
            "a crop padding of {pad} (at most 64)"
        )));
    }
    let params = GatherParams {
        batch: u32_of("batch", batch)?,
        channels: u32_of("channels", shape.channels)?,
        height: u32_of("height", shape.height)?,
        width: u32_of("width", shape.width)?,
        pad: pad as u32,
        first: u32_of("first", first)?,
        labels_at: u32_of("labels_at", layout.labels_at)?,
        pixels_at: u32_of("pixels_at", layout.pixels_at)?,
        with_labels: u32::from(with_labels),
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    let n = batch * shape.len();
    dispatch_elementwise(
        ctx,
        Kernel::Gather,
        &[],
        &params,
        &[set, order, x, labels],
        n,
    )
    .await
}

/// The per-sample records of a batch of `batch` (`shaders/pass/tally.wgsl`), as
/// [`crate::pass::tally`]: from the output spikes `s` `[steps][batch][classes]`, the
/// `labels` and per-sample `loss` (read for [`Record::Training`] only), into `records` from
/// position `first` (changed per batch by a copy at [`TALLY_FIRST_AT`]).
#[allow(clippy::too_many_arguments)]
pub async fn tally(
    ctx: &GpuContext,
    s: &GpuTensor,
    labels: &GpuTensor,
    loss: &GpuTensor,
    steps: usize,
    batch: usize,
    classes: usize,
    record: Record,
    first: usize,
    records: &GpuTensor,
) -> Result<Dispatch> {
    s.check_holds("tally s", steps * batch * classes)?;
    records.check_holds("tally records", (first + batch) * record.len(classes))?;
    let training = record == Record::Training;
    if training {
        labels.check_holds("tally labels", batch)?;
        loss.check_holds("tally loss", batch)?;
    }
    let params = TallyParams {
        batch: u32_of("batch", batch)?,
        steps: u32_of("steps", steps)?,
        classes: u32_of("classes", classes)?,
        first: u32_of("first", first)?,
    };
    let constants = [("TRAINING", flag(training))];
    let tensors = [s, labels, loss, records];
    dispatch_elementwise(ctx, Kernel::Tally, &constants, &params, &tensors, batch).await
}
