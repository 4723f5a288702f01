//! Batches (`nlc_encode_batch`, `nlc_decode_batch`): many images in one call, with one
//! device decision for the batch (on a GPU the per-launch work is what pays).

use crate::ffi::{bytes, handle, into_c_buffer, new_handle, optional};
use crate::image::nlc_image;
use crate::options::{
    decoder_or_default, encoder_or_default, nlc_decoder_options, nlc_encoder_options,
};
use crate::status::{guard, nlc_status, Failure};

/// Encodes `count` images in one call. On return `statuses[i]` is image i's status and,
/// where it is `NLC_OK`, `outs[i]` / `out_sizes[i]` its stream (release each with
/// `nlc_free`); failed entries get NULL and 0. Returns `NLC_OK` when every image was
/// encoded, else the first failing status (its message in `nlc_last_error_message`). When
/// the call fails as a whole (NULL arrays, an absent device) nothing is written.
///
/// # Safety
/// `images` must be NULL (an error) or valid for reads of `count` live image handles;
/// `options` NULL or a live handle; `outs`, `out_sizes` and `statuses` NULL (an error) or
/// valid for writes of `count` elements.
#[no_mangle]
pub unsafe extern "C" fn nlc_encode_batch(
    images: *const *const nlc_image,
    count: usize,
    options: *const nlc_encoder_options,
    outs: *mut *mut u8,
    out_sizes: *mut usize,
    statuses: *mut nlc_status,
) -> nlc_status {
    guard(|| {
        for (p, what) in [
            (images.cast::<u8>(), "images"),
            (outs.cast_const().cast::<u8>(), "outs"),
            (out_sizes.cast_const().cast::<u8>(), "out_sizes"),
            (statuses.cast_const().cast::<u8>(), "statuses"),
        ] {
            if p.is_null() && count > 0 {
                return Err(Failure::null(what));
            }
        }
        if count == 0 {
            return Ok(());
        }
        // SAFETY: `images` is valid for `count` reads by contract.
        let handles = unsafe { std::slice::from_raw_parts(images, count) };
        let mut refs = Vec::with_capacity(count);
        for (i, &h) in handles.iter().enumerate() {
            // SAFETY: each element is NULL (an error) or a live handle by contract.
            refs.push(
                unsafe { handle(h, &format!("images[{i}]")) }?
                    .inner
                    .as_ref(),
            );
        }
        // SAFETY: see the function's contract.
        let opts = encoder_or_default(unsafe { optional(options) });
        let results = nelloc::encode_batch(&refs, &opts)?;
        let mut first: Option<Failure> = None;
        for (i, r) in results.into_iter().enumerate() {
            let (buffer, len, status) = match r {
                Ok(bytes) => (into_c_buffer(&bytes), bytes.len(), nlc_status::NLC_OK),
                Err(e) => {
                    let f = Failure::from(e);
                    let status = f.status;
                    first.get_or_insert(Failure::new(status, format!("image {i}: {}", f.message)));
                    (std::ptr::null_mut(), 0, status)
                }
            };
            // SAFETY: the arrays are valid for `count` writes by contract.
            unsafe {
                outs.add(i).write(buffer);
                out_sizes.add(i).write(len);
                statuses.add(i).write(status);
            }
        }
        first.map_or(Ok(()), Err)
    })
}

/// Decodes `count` streams (`data[i]` of `sizes[i]` bytes) in one call. On return
/// `statuses[i]` is stream i's status and, where it is `NLC_OK`, `outs[i]` its image
/// (release each with `nlc_image_free`); failed entries get NULL. Returns `NLC_OK` when
/// every stream was decoded, else the first failing status. When the call fails as a
/// whole (NULL arrays, an absent device) nothing is written.
///
/// # Safety
/// `data` and `sizes` must be NULL (an error) or valid for reads of `count` elements, each
/// `data[i]` valid for reads of `sizes[i]` bytes; `options` NULL or a live handle; `outs`
/// and `statuses` NULL (an error) or valid for writes of `count` elements.
#[no_mangle]
pub unsafe extern "C" fn nlc_decode_batch(
    data: *const *const u8,
    sizes: *const usize,
    count: usize,
    options: *const nlc_decoder_options,
    outs: *mut *mut nlc_image,
    statuses: *mut nlc_status,
) -> nlc_status {
    guard(|| {
        for (p, what) in [
            (data.cast::<u8>(), "data"),
            (sizes.cast::<u8>(), "sizes"),
            (outs.cast_const().cast::<u8>(), "outs"),
            (statuses.cast_const().cast::<u8>(), "statuses"),
        ] {
            if p.is_null() && count > 0 {
                return Err(Failure::null(what));
            }
        }
        if count == 0 {
            return Ok(());
        }
        // SAFETY: `data` and `sizes` are valid for `count` reads by contract.
        let (ptrs, lens) = unsafe {
            (
                std::slice::from_raw_parts(data, count),
                std::slice::from_raw_parts(sizes, count),
            )
        };
        let mut streams = Vec::with_capacity(count);
        for (i, (&p, &n)) in ptrs.iter().zip(lens).enumerate() {
            if p.is_null() {
                return Err(Failure::null(&format!("data[{i}]")));
            }
            // SAFETY: each `data[i]` is valid for `sizes[i]` reads by contract.
            streams.push(unsafe { bytes(p, n, "data") }?);
        }
        // SAFETY: see the function's contract.
        let opts = decoder_or_default(unsafe { optional(options) });
        let results = nelloc::decode_batch(&streams, &opts)?;
        let mut first: Option<Failure> = None;
        for (i, r) in results.into_iter().enumerate() {
            let (image, status) = match r {
                Ok(image) => (new_handle(nlc_image { inner: image }), nlc_status::NLC_OK),
                Err(e) => {
                    let f = Failure::from(e);
                    let status = f.status;
                    first.get_or_insert(Failure::new(status, format!("stream {i}: {}", f.message)));
                    (std::ptr::null_mut(), status)
                }
            };
            // SAFETY: the arrays are valid for `count` writes by contract.
            unsafe {
                outs.add(i).write(image);
                statuses.add(i).write(status);
            }
        }
        first.map_or(Ok(()), Err)
    })
}
