//! Images (`nlc_image_*`): made from C pixels, or returned by `nlc_decode`; their pixels
//! (`nlc_pixels`) and metadata blocks.

use nelloc::Image;

use crate::conversions::{color_code, color_from_code, MetadataField};
use crate::ffi::{
    bytes, first_size, free_handle, handle, handle_mut, new_handle, out_ptr, put, put_sized,
    sized_out, SizedStruct,
};
use crate::status::{guard, guard_value, nlc_status, Failure};

/// An image with its metadata (opaque): made by `nlc_image_new` (to encode) or returned by
/// `nlc_decode`; release with `nlc_image_free`.
pub struct nlc_image {
    pub(crate) inner: Image,
}

/// A view of an image's pixels, filled by `nlc_image_get`. `data` belongs to the image and
/// stays valid until `nlc_image_free`. Set `struct_size` to `sizeof(nlc_pixels)` first.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct nlc_pixels {
    /// `sizeof(nlc_pixels)` as the caller compiled it: set it before the call. The library
    /// fills only the fields within it and sets it to the bytes it wrote (see the ABI
    /// policy in ffi/README.md).
    pub struct_size: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// An `nlc_color_type` value.
    pub color_type: u32,
    /// Samples (bytes) per pixel.
    pub channels: u32,
    /// Bytes per row (`width * channels`: rows are not padded).
    pub stride: usize,
    /// Bytes in `data` (`stride * height`).
    pub size: usize,
    /// Interleaved samples, row-major.
    pub data: *const u8,
}

impl Default for nlc_pixels {
    /// Empty, with `struct_size` set (for Rust callers).
    fn default() -> Self {
        nlc_pixels {
            struct_size: std::mem::size_of::<nlc_pixels>(),
            width: 0,
            height: 0,
            color_type: 0,
            channels: 0,
            stride: 0,
            size: 0,
            data: std::ptr::null(),
        }
    }
}

impl SizedStruct for nlc_pixels {
    // The first release ended at `data`; its fields were `size_t`, `uint32_t` and a pointer.
    const FIRST_SIZE: usize = first_size(
        std::mem::offset_of!(nlc_pixels, data) + std::mem::size_of::<*const u8>(),
        std::mem::align_of::<usize>(),
    );
    fn set_struct_size(&mut self, size: usize) {
        self.struct_size = size;
    }
}

/// Creates an image by copying `height` rows of `width * channels` bytes from `pixels`,
/// rows `stride` bytes apart (0: `width * channels`, no padding). `color_type` is an
/// `nlc_color_type`. On success `*out` receives the handle.
///
/// # Safety
/// `pixels` must be NULL (an error) or valid for reads of `(height - 1) * stride +
/// width * channels` bytes; `out` must be NULL (an error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_image_new(
    width: u32,
    height: u32,
    color_type: u32,
    pixels: *const u8,
    stride: usize,
    out: *mut *mut nlc_image,
) -> nlc_status {
    guard(|| {
        out_ptr(out, "out")?;
        if pixels.is_null() {
            return Err(Failure::null("pixels"));
        }
        let color = color_from_code(color_type)?;
        if width == 0 || height == 0 {
            return Err(Failure::invalid(format!(
                "image dimensions must be at least 1x1, got {width}x{height}"
            )));
        }
        let too_large = || Failure::invalid(format!("a {width}x{height} image is too large"));
        let row = (width as usize)
            .checked_mul(color.channels())
            .ok_or_else(too_large)?;
        let stride = if stride == 0 { row } else { stride };
        if stride < row {
            return Err(Failure::invalid(format!(
                "stride {stride} is less than a row ({row} bytes)"
            )));
        }
        let span = (height as usize - 1)
            .checked_mul(stride)
            .and_then(|s| s.checked_add(row))
            .ok_or_else(too_large)?;
        // SAFETY: `pixels` is non-null and readable for `span` bytes by contract.
        let src = unsafe { bytes(pixels, span, "pixels") }?;
        let mut packed = Vec::new();
        packed
            .try_reserve_exact(row * height as usize)
            .map_err(|_| too_large())?;
        for y in 0..height as usize {
            packed.extend_from_slice(&src[y * stride..y * stride + row]);
        }
        let image = Image::new(width, height, color, packed)?;
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, new_handle(nlc_image { inner: image })) };
        Ok(())
    })
}

/// Releases an image. NULL is accepted and ignored.
///
/// # Safety
/// `image` must be NULL or a handle from `nlc_image_new` / `nlc_decode` not yet freed, and
/// no other call may be using it; pointers obtained from it become invalid.
#[no_mangle]
pub unsafe extern "C" fn nlc_image_free(image: *mut nlc_image) {
    // SAFETY: this function's contract is `free_handle`'s.
    guard_value((), || unsafe { free_handle(image) })
}

/// Fills `*out` with the image's dimensions, colour type and a pointer to its pixels
/// (valid until `nlc_image_free`).
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `out` NULL (an error) or the caller's struct
/// with `struct_size` set (read first; at most that many bytes are written).
#[no_mangle]
pub unsafe extern "C" fn nlc_image_get(
    image: *const nlc_image,
    out: *mut nlc_pixels,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        let channels = img.color().channels();
        let view = nlc_pixels {
            struct_size: 0,
            width: img.width(),
            height: img.height(),
            color_type: color_code(img.color())?,
            channels: channels as u32,
            stride: img.width() as usize * channels,
            size: img.pixels().len(),
            data: img.pixels().as_ptr(),
        };
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, view, size) };
        Ok(())
    })
}

/// Attaches (copies) a metadata block of `kind` (an `nlc_metadata_kind`) to the image,
/// replacing any previous one; `(NULL, 0)` removes it.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle not used by another thread; `data` must
/// be NULL or valid for reads of `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn nlc_image_set_metadata(
    image: *mut nlc_image,
    kind: u32,
    data: *const u8,
    size: usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &mut unsafe { handle_mut(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let block = unsafe { bytes(data, size, "data") }?;
        let slot = MetadataField::from_code(kind)?.get_mut(img.metadata_mut());
        *slot = (!data.is_null()).then(|| block.to_vec());
        Ok(())
    })
}

/// Gets the metadata block of `kind` (an `nlc_metadata_kind`): `*data` points into the image
/// (valid until `nlc_image_free`) and `*size` is its length; when the image has none,
/// `*data` is NULL and `*size` is 0.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `data` and `size` must be NULL (an
/// error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_image_get_metadata(
    image: *const nlc_image,
    kind: u32,
    data: *mut *const u8,
    size: *mut usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        out_ptr(data, "data")?;
        out_ptr(size, "size")?;
        let block = MetadataField::from_code(kind)?.get(img.metadata());
        let (p, n) = match block {
            Some(b) => (b.as_ptr(), b.len()),
            _ => (std::ptr::null(), 0),
        };
        // SAFETY: both are non-null and writable by contract.
        unsafe {
            put(data, p);
            put(size, n);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::tests::OldCaller;

    #[test]
    fn nlc_pixels_first_size_is_pinned() {
        // 8 + 4 * 4 + 8 + 8 + 8 on 64-bit targets.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(nlc_pixels::FIRST_SIZE, 48);
        #[cfg(target_pointer_width = "32")]
        assert_eq!(nlc_pixels::FIRST_SIZE, 32);
    }

    #[test]
    fn a_first_release_caller_of_nlc_image_get_gets_its_prefix() {
        let px = [1u8, 2, 3, 4, 5, 6];
        let mut img = std::ptr::null_mut();
        let mut old = OldCaller::<{ nlc_pixels::FIRST_SIZE }>::new();
        // SAFETY: `px` holds one row of two RGB pixels; `old` is writable and aligned.
        unsafe {
            let rgb = crate::nlc_color_type::NLC_COLOR_RGB8 as u32;
            assert_eq!(
                nlc_image_new(2, 1, rgb, px.as_ptr(), 0, &mut img),
                nlc_status::NLC_OK
            );
            assert_eq!(nlc_image_get(img, old.as_mut_ptr()), nlc_status::NLC_OK);
            nlc_image_free(img);
        }
        old.assert_prefix_only();
        let at = std::mem::offset_of!(nlc_pixels, width);
        assert_eq!(old.u32_at(at), 2);
    }
}
