//! Header probing for format sniffing (image viewers, thumbnailers, loader plugins): reads
//! only the fixed fields at the start of the stream (docs/FORMAT.md section 1), so it
//! needs [`crate::NLC_PROBE_BYTES`] bytes, not the whole file. Nothing is checksummed here:
//! `nlc_info` validates the complete header.

use crate::conversions::color_code;
use crate::ffi::{bytes, first_size, put_sized, sized_out, SizedStruct};
use crate::status::{guard, nlc_status, Failure};
use crate::NLC_PROBE_BYTES;

/// What [`crate::nlc_probe`] reads from the first `NLC_PROBE_BYTES` bytes of a stream.
/// The values are not yet verified by the header checksum.
/// Set `struct_size` to `sizeof(nlc_header)` first.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct nlc_header {
    /// `sizeof(nlc_header)` as the caller compiled it: set it before the call (see
    /// `nlc_pixels.struct_size`).
    pub struct_size: usize,
    /// Container version (1 to `NLC_FORMAT_VERSION`).
    pub version: u32,
    /// An `nlc_color_type` value.
    pub color_type: u32,
    /// Samples per pixel (1 to 4).
    pub channels: u32,
    /// Width in pixels (at least 1).
    pub width: u32,
    /// Height in pixels (at least 1).
    pub height: u32,
}

// The C constant is a literal for cbindgen; keep it equal to the core's.
const _: () = assert!(NLC_PROBE_BYTES as usize == nelloc::PROBE_BYTES);

impl Default for nlc_header {
    /// All zero, with `struct_size` set (for Rust callers).
    fn default() -> Self {
        nlc_header {
            struct_size: std::mem::size_of::<nlc_header>(),
            version: 0,
            color_type: 0,
            channels: 0,
            width: 0,
            height: 0,
        }
    }
}

impl SizedStruct for nlc_header {
    // The first release ended at `height`; its widest field was `size_t`.
    const FIRST_SIZE: usize = first_size(
        std::mem::offset_of!(nlc_header, height) + std::mem::size_of::<u32>(),
        std::mem::align_of::<usize>(),
    );
    fn set_struct_size(&mut self, size: usize) {
        self.struct_size = size;
    }
}

/// `nelloc::probe` (the one probe, shared with `nelloc::info` and `nelloc::decode`) in C
/// terms: the same bytes give the same status as `nlc_info`.
pub(crate) fn probe(data: &[u8]) -> Result<nlc_header, Failure> {
    let p = nelloc::probe(data)?;
    Ok(nlc_header {
        struct_size: 0,
        version: u32::from(p.version),
        color_type: color_code(p.color)?,
        channels: p.color.channels() as u32,
        width: p.width,
        height: p.height,
    })
}

/// Sniffs the start of a stream (for format detection in loaders and thumbnailers): with
/// at least `NLC_PROBE_BYTES` bytes it fills `*out` from the fixed header fields
/// (unverified: `nlc_info` checks the whole header). Returns `NLC_ERROR_NOT_NLC` if the
/// signature does not match, `NLC_ERROR_TRUNCATED`
/// if the bytes given match so far but are too few, `NLC_ERROR_CORRUPT` for a damaged
/// signature or invalid fields, and `NLC_ERROR_UNSUPPORTED` for a newer container version.
///
/// # Safety
/// `data` must be NULL (an error unless `size` is 0) or valid for reads of `size` bytes;
/// `out` NULL (an error) or the caller's struct
/// with `struct_size` set (read first; at most that many bytes are written).
#[no_mangle]
pub unsafe extern "C" fn nlc_probe(
    data: *const u8,
    size: usize,
    out: *mut nlc_header,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let data = unsafe { bytes(data, size, "data") }?;
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        let header = probe(data)?;
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, header, size) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::tests::OldCaller;
    use nelloc::MAGIC;

    fn header(version: u8, color: u8, w: u32, h: u32) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[version, color, 0, 0]);
        v.extend_from_slice(&w.to_le_bytes());
        v.extend_from_slice(&h.to_le_bytes());
        v
    }

    #[test]
    fn reads_the_fixed_fields() {
        let h = probe(&header(1, 3, 77, 53)).expect("valid");
        assert_eq!((h.version, h.color_type, h.channels), (1, 3, 3));
        assert_eq!((h.width, h.height), (77, 53));
    }

    #[test]
    fn classifies_failures() {
        use nlc_status::*;
        let st = |d: &[u8]| probe(d).map(|_| ()).map_err(|f| f.status);
        assert_eq!(st(&[]), Err(NLC_ERROR_TRUNCATED));
        assert_eq!(st(&MAGIC[..5]), Err(NLC_ERROR_TRUNCATED));
        assert_eq!(st(&header(1, 3, 1, 1)[..19]), Err(NLC_ERROR_TRUNCATED));
        assert_eq!(st(b"\x89PNG\r\n\x1a\n"), Err(NLC_ERROR_NOT_NLC));
        assert_eq!(st(b"G"), Err(NLC_ERROR_NOT_NLC));
        let mut mangled = header(1, 3, 1, 1);
        mangled[4] = b'\n';
        assert_eq!(st(&mangled), Err(NLC_ERROR_CORRUPT));
        assert_eq!(st(&header(8, 3, 1, 1)), Err(NLC_ERROR_UNSUPPORTED));
        // Version 5 is the compact container: flags, then varint sizes (a 1x1 RGB image).
        let mut compact = MAGIC.to_vec();
        compact.extend([5, 3, 0, 0]);
        let h = probe(&compact).expect("compact");
        assert_eq!((h.version, h.color_type, h.width, h.height), (5, 3, 1, 1));
        assert!(st(&header(4, 3, 1, 1)).is_ok()); // version 4: adapted heads
        assert!(st(&header(2, 3, 1, 1)).is_ok()); // version 2: tile modes
        assert!(st(&header(3, 3, 1, 1)).is_ok()); // version 3: the context mode
        assert_eq!(st(&header(0, 3, 1, 1)), Err(NLC_ERROR_CORRUPT));
        assert_eq!(st(&header(1, 5, 1, 1)), Err(NLC_ERROR_CORRUPT));
        assert_eq!(st(&header(1, 1, 0, 1)), Err(NLC_ERROR_CORRUPT));
    }

    #[test]
    fn nlc_header_first_size_is_pinned() {
        // 8 + 5 * 4 = 28, padded to `size_t`.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(nlc_header::FIRST_SIZE, 32);
        #[cfg(target_pointer_width = "32")]
        assert_eq!(nlc_header::FIRST_SIZE, 24);
    }

    #[test]
    fn a_first_release_caller_of_nlc_probe_gets_its_prefix() {
        let data = header(3, 3, 77, 53);
        let mut old = OldCaller::<{ nlc_header::FIRST_SIZE }>::new();
        // SAFETY: `data` is readable; `old` is writable and aligned.
        let st = unsafe { nlc_probe(data.as_ptr(), data.len(), old.as_mut_ptr()) };
        assert_eq!(st, nlc_status::NLC_OK);
        old.assert_prefix_only();
        assert_eq!(old.u32_at(std::mem::offset_of!(nlc_header, version)), 3);
        assert_eq!(old.u32_at(std::mem::offset_of!(nlc_header, height)), 53);
    }
}
