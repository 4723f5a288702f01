//! The pointer machinery every exported function is built from: checked reads of C
//! pointers (slices, paths, handles), output parameters, the versioned structs that start
//! with `struct_size`, handle allocation and library-owned byte buffers. The domains
//! (options, images, coding, scores, ...) use only these to touch C memory; the panic
//! boundary is `status::guard`.

use std::ffi::{c_char, CStr};
use std::path::PathBuf;

use crate::status::Failure;

// ---------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------

/// A byte slice from C. `(NULL, 0)` is the empty slice.
///
/// # Safety
/// If `ptr` is not NULL it must be valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(what))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "{what}: length {len} is too large"
        )));
    }
    // SAFETY: `ptr` is non-null and the caller guarantees `len` readable bytes that stay
    // valid and unmodified for the call; `len <= isize::MAX` was checked.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A complete `.nlc` stream the caller must supply (NULL is an error even with size 0).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn stream<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::null("data"));
    }
    // SAFETY: the caller's contract is `bytes`'.
    unsafe { bytes(ptr, len, "data") }
}

/// A path from a NUL-terminated C string (bytes on Unix, UTF-8 elsewhere).
///
/// # Safety
/// If `ptr` is not NULL it must point to a NUL-terminated string.
pub(crate) unsafe fn path(ptr: *const c_char, what: &str) -> Result<PathBuf, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-null, NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(ptr) };
    if c.is_empty() {
        return Err(Failure::invalid(format!("{what} is empty")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        c.to_str()
            .map(PathBuf::from)
            .map_err(|_| Failure::invalid(format!("{what} is not UTF-8")))
    }
}

// ---------------------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------------------

/// A shared reference to a handle; NULL is an error.
///
/// # Safety
/// If `ptr` is not NULL it must point to a live handle made by this library.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees a live, properly aligned handle if non-null.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// A shared reference to an optional handle: NULL means "the defaults".
///
/// # Safety
/// If `ptr` is not NULL it must point to a live handle made by this library.
pub(crate) unsafe fn optional<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: as for `handle`.
    unsafe { ptr.as_ref() }
}

/// A mutable reference to a handle; NULL is an error.
///
/// # Safety
/// If `ptr` is not NULL it must point to a live handle made by this library that no other
/// thread uses during the call.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: as above, plus exclusive access by the caller's contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(what))
}

/// Moves `value` to the heap as a handle for C; `free_handle` releases it.
pub(crate) fn new_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Releases a handle from `new_handle`; NULL is ignored.
///
/// # Safety
/// `ptr` must be NULL or a handle of type `T` from `new_handle`, not yet freed and not in
/// use by another call.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: made by `Box::into_raw` in `new_handle`, freed only once by contract.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

// ---------------------------------------------------------------------------------------
// Output parameters
// ---------------------------------------------------------------------------------------

/// Checks that an output pointer is not NULL (before any work is done).
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(())
    }
}

/// Writes an output parameter.
///
/// # Safety
/// `ptr` must be non-null (checked by `out_ptr`), aligned and valid for a write of `T`.
pub(crate) unsafe fn put<T>(ptr: *mut T, value: T) {
    // SAFETY: guaranteed by the caller; `write` does not drop the (uninitialised) old value.
    unsafe { ptr.write(value) }
}

// ---------------------------------------------------------------------------------------
// Versioned structs (`struct_size` first)
// ---------------------------------------------------------------------------------------

/// Structs the library fills that start with `struct_size` (the ABI policy of ffi/README.md:
/// fields are only ever appended, and the library writes the prefix the caller knows).
pub(crate) trait SizedStruct: Sized {
    /// `sizeof` the struct in the first release that had `struct_size`: callers never pass
    /// less. It is pinned with `first_size` from the first release's last field, so that
    /// appending a field does not raise it (older callers still pass the old size).
    const FIRST_SIZE: usize;
    fn set_struct_size(&mut self, size: usize);
}

/// `sizeof` a `#[repr(C)]` struct as a caller compiled it when `end` (the offset just past
/// its last field, from `offset_of!`) was its end and `align` its alignment: C pads the
/// size to a multiple of the alignment.
pub(crate) const fn first_size(end: usize, align: usize) -> usize {
    end.div_ceil(align) * align
}

/// The larger of two alignments (`Ord::max` is not `const`).
pub(crate) const fn max_align(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Checks an output struct's `struct_size` (before any work): non-NULL, and at least the
/// struct's first released size. Returns the caller's size.
///
/// # Safety
/// If `ptr` is not NULL it must be aligned and valid for reads of its first `size_t`.
pub(crate) unsafe fn sized_out<T: SizedStruct>(ptr: *mut T, what: &str) -> Result<usize, Failure> {
    out_ptr(ptr, what)?;
    // SAFETY: non-null; every `SizedStruct` starts with its `size_t struct_size`.
    let size = unsafe { ptr.cast::<usize>().read() };
    if size < T::FIRST_SIZE {
        return Err(Failure::invalid(format!(
            "{what}->struct_size is {size}, expected sizeof the struct ({} in this library): \
             set it before the call",
            std::mem::size_of::<T>()
        )));
    }
    Ok(size)
}

/// Writes `value` into a caller's struct of `caller_size` bytes (from `sized_out`): the
/// fields it has room for, never more, and `struct_size` set to the bytes written.
///
/// # Safety
/// `ptr` must be valid for writes of `caller_size` bytes (the caller's `sizeof`).
pub(crate) unsafe fn put_sized<T: SizedStruct>(ptr: *mut T, mut value: T, caller_size: usize) {
    let n = caller_size.min(std::mem::size_of::<T>());
    value.set_struct_size(n);
    // SAFETY: `n` is at most the caller's struct and at most `T`; the regions are distinct.
    unsafe { std::ptr::copy_nonoverlapping((&raw const value).cast::<u8>(), ptr.cast::<u8>(), n) };
}

// ---------------------------------------------------------------------------------------
// Library-owned byte buffers
// ---------------------------------------------------------------------------------------

/// Room before the data of a buffer from `into_c_buffer`: the allocation's total length.
const BUFFER_HEADER: usize = 16;

/// Copies `data` into a library-owned buffer that `free_c_buffer` (`nlc_free`) releases.
pub(crate) fn into_c_buffer(data: &[u8]) -> *mut u8 {
    let total = BUFFER_HEADER + data.len();
    let mut v = Vec::with_capacity(total);
    v.extend_from_slice(&(total as u64).to_le_bytes());
    v.resize(BUFFER_HEADER, 0);
    v.extend_from_slice(data);
    let raw = Box::into_raw(v.into_boxed_slice()) as *mut u8;
    // SAFETY: the allocation is `total >= BUFFER_HEADER` bytes long.
    unsafe { raw.add(BUFFER_HEADER) }
}

/// Releases a buffer from `into_c_buffer`; NULL is ignored.
///
/// # Safety
/// `buffer` must be NULL or a pointer returned by `into_c_buffer`, not yet freed.
pub(crate) unsafe fn free_c_buffer(buffer: *mut u8) {
    if buffer.is_null() {
        return;
    }
    // SAFETY: `buffer` was returned by `into_c_buffer`, so the allocation starts
    // BUFFER_HEADER bytes before it and begins with its total length.
    unsafe {
        let base = buffer.sub(BUFFER_HEADER);
        let total = base.cast::<u64>().read_unaligned() as usize;
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            base, total,
        )));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A caller's versioned struct of `N` bytes with `struct_size` = `N` (as a program
    /// compiled against the header of that size passes it), then memory the caller owns
    /// that the library must not touch.
    #[repr(C, align(16))]
    pub(crate) struct OldCaller<const N: usize> {
        prefix: [u8; N],
        canary: [u8; 64],
    }

    impl<const N: usize> OldCaller<N> {
        pub(crate) fn new() -> Self {
            let mut prefix = [0; N];
            prefix[..size_of::<usize>()].copy_from_slice(&N.to_ne_bytes());
            OldCaller {
                prefix,
                canary: [0xA5; 64],
            }
        }

        pub(crate) fn as_mut_ptr<T>(&mut self) -> *mut T {
            (&raw mut *self).cast()
        }

        /// Nothing was written past the `N` bytes, and `struct_size` says `N` were.
        pub(crate) fn assert_prefix_only(&self) {
            assert!(
                self.canary.iter().all(|&b| b == 0xA5),
                "wrote past the caller's {N}-byte struct"
            );
            assert_eq!(self.usize_at(0), N, "struct_size says how much was written");
        }

        pub(crate) fn usize_at(&self, at: usize) -> usize {
            let mut b = [0; size_of::<usize>()];
            b.copy_from_slice(&self.prefix[at..at + size_of::<usize>()]);
            usize::from_ne_bytes(b)
        }

        pub(crate) fn u32_at(&self, at: usize) -> u32 {
            let mut b = [0; 4];
            b.copy_from_slice(&self.prefix[at..at + 4]);
            u32::from_ne_bytes(b)
        }

        pub(crate) fn u64_at(&self, at: usize) -> u64 {
            let mut b = [0; 8];
            b.copy_from_slice(&self.prefix[at..at + 8]);
            u64::from_ne_bytes(b)
        }

        pub(crate) fn f64_at(&self, at: usize) -> f64 {
            f64::from_bits(self.u64_at(at))
        }
    }

    #[test]
    fn first_size_pads_like_c() {
        assert_eq!(first_size(28, 8), 32);
        assert_eq!(first_size(32, 8), 32);
        assert_eq!(first_size(210, 8), 216);
        assert_eq!(first_size(210, 4), 212);
        assert_eq!(max_align(4, 8), 8);
    }

    #[test]
    fn c_buffers_round_trip() {
        let b = into_c_buffer(b"abc");
        // SAFETY: `b` holds the 3 bytes just copied.
        assert_eq!(unsafe { std::slice::from_raw_parts(b, 3) }, b"abc");
        // SAFETY: from `into_c_buffer`, freed once; NULL is accepted.
        unsafe {
            free_c_buffer(b);
            free_c_buffer(std::ptr::null_mut());
        }
    }
}
