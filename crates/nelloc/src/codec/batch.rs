//! Many images in one call: one device decision for the whole batch (so `Device::Auto`
//! weighs the batch, not each small image), images coded concurrently on the worker
//! threads, each with its own result.

use rayon::prelude::*;

use super::pool::run_in_pool;
use crate::backend;
use crate::error::Result;
use crate::image::{Image, ImageRef};
use crate::options::{DecodeOptions, Device, EncodeOptions};

/// `Auto` resolved once for `pixels` in all ([`backend::auto_device`]). Other devices are
/// kept (and fail per image if absent).
fn resolve(device: Device, pixels: u64) -> Device {
    match device {
        Device::Auto => backend::auto_device(pixels),
        d => d,
    }
}

/// Encodes every image (as [`crate::encode`] would, with `options`); the results are in
/// input order, each its own success or error. Fails as a whole only when the device
/// asked for is absent, or the worker pool cannot start.
pub fn encode_batch(
    images: &[ImageRef<'_>],
    options: &EncodeOptions,
) -> Result<Vec<Result<Vec<u8>>>> {
    let pixels = images
        .iter()
        .map(|i| u64::from(i.width()) * u64::from(i.height()))
        .sum();
    let mut opts = options.clone();
    opts.device = resolve(options.device, pixels);
    backend::probe(opts.device)?;
    // Inner calls share this pool rather than starting one each.
    opts.threads = 0;
    run_in_pool(options.threads, || {
        images
            .par_iter()
            .map(|image| super::encode(*image, &opts))
            .collect()
    })
}

/// Decodes every stream (as [`crate::decode`] would, with `options`); the results are in
/// input order, each its own success or error.
pub fn decode_batch(streams: &[&[u8]], options: &DecodeOptions) -> Result<Vec<Result<Image>>> {
    // The pixel count from each header (a stream that does not parse counts 0 here and
    // reports its error below).
    let pixels = streams
        .iter()
        .filter_map(|s| crate::container::probe(s).ok())
        .map(|p| u64::from(p.width) * u64::from(p.height))
        .sum();
    let mut opts = options.clone();
    opts.device = resolve(options.device, pixels);
    backend::probe(opts.device)?;
    opts.threads = 0;
    // Rows of many images at once would be indistinguishable to one callback.
    opts.on_rows = None;
    run_in_pool(options.threads, || {
        streams
            .par_iter()
            .map(|s| super::decode(s, &opts))
            .collect()
    })
}
