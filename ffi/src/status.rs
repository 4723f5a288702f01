//! Status codes, the per-thread error message, the panic boundary, and the exported
//! version and error-message functions.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use nelloc::{Error, ErrorKind, ModelError};

/// Result of every fallible function. `NLC_OK` is 0; the numeric values never change once
/// released, and new codes may be added (treat unknown non-zero values as errors).
/// In C it is a `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum nlc_status {
    /// Success.
    NLC_OK = 0,
    /// A required pointer argument was NULL.
    NLC_ERROR_NULL_POINTER = 1,
    /// An argument is out of range or inconsistent (e.g. a pixel buffer of the wrong size,
    /// an unknown colour type).
    NLC_ERROR_INVALID_ARGUMENT = 2,
    /// Reading or writing a file failed.
    NLC_ERROR_IO = 3,
    /// The data is not an `.nlc` stream (wrong signature).
    NLC_ERROR_NOT_NLC = 4,
    /// The data ends before the structure it announces (give more bytes, or the file was
    /// cut short).
    NLC_ERROR_TRUNCATED = 5,
    /// The data is an `.nlc` stream but damaged (checksum, invalid field, corrupt tile).
    NLC_ERROR_CORRUPT = 6,
    /// Valid input or a request this version does not support (a newer container version,
    /// a device this build or machine lacks: CUDA, ONNX Runtime).
    NLC_ERROR_UNSUPPORTED = 7,
    /// The input exceeds a configured limit (see `nlc_decoder_options_set_limits`).
    NLC_ERROR_LIMIT = 8,
    /// The stream needs a model the decoder has neither built in nor been given.
    NLC_ERROR_MODEL_NOT_FOUND = 9,
    /// A model file is invalid or does not fit the image (channel count).
    NLC_ERROR_MODEL_INVALID = 10,
    /// An internal error (a bug) was caught at the library boundary.
    NLC_ERROR_PANIC = 11,
    /// Any other error.
    NLC_ERROR_INTERNAL = 12,
    /// The system refused a resource the call needs (worker threads).
    NLC_ERROR_RESOURCE = 13,
    /// The selected device (GPU, ONNX Runtime) failed while working, or its results are
    /// not bit-exact and it was refused.
    NLC_ERROR_DEVICE = 14,
}

impl nlc_status {
    /// A short static description.
    pub(crate) fn message(self) -> &'static CStr {
        use nlc_status::*;
        match self {
            NLC_OK => c"success",
            NLC_ERROR_NULL_POINTER => c"a required pointer argument was NULL",
            NLC_ERROR_INVALID_ARGUMENT => c"invalid argument",
            NLC_ERROR_IO => c"I/O error",
            NLC_ERROR_NOT_NLC => c"not an .nlc stream (wrong signature)",
            NLC_ERROR_TRUNCATED => c"truncated .nlc stream",
            NLC_ERROR_CORRUPT => c"corrupt .nlc stream",
            NLC_ERROR_UNSUPPORTED => c"unsupported",
            NLC_ERROR_LIMIT => c"a configured limit was exceeded",
            NLC_ERROR_MODEL_NOT_FOUND => c"the model the stream was coded with is not available",
            NLC_ERROR_MODEL_INVALID => c"invalid model",
            NLC_ERROR_PANIC => c"internal error (panic caught at the library boundary)",
            NLC_ERROR_INTERNAL => c"internal error",
            NLC_ERROR_RESOURCE => c"the system refused a resource (worker threads)",
            NLC_ERROR_DEVICE => c"the device failed or is not bit-exact",
        }
    }

    /// The status with this numeric value, if any.
    pub(crate) fn from_u32(v: u32) -> Option<Self> {
        use nlc_status::*;
        Some(match v {
            0 => NLC_OK,
            1 => NLC_ERROR_NULL_POINTER,
            2 => NLC_ERROR_INVALID_ARGUMENT,
            3 => NLC_ERROR_IO,
            4 => NLC_ERROR_NOT_NLC,
            5 => NLC_ERROR_TRUNCATED,
            6 => NLC_ERROR_CORRUPT,
            7 => NLC_ERROR_UNSUPPORTED,
            8 => NLC_ERROR_LIMIT,
            9 => NLC_ERROR_MODEL_NOT_FOUND,
            10 => NLC_ERROR_MODEL_INVALID,
            11 => NLC_ERROR_PANIC,
            12 => NLC_ERROR_INTERNAL,
            13 => NLC_ERROR_RESOURCE,
            14 => NLC_ERROR_DEVICE,
            _ => return None,
        })
    }
}

/// A failed call: the status returned to C and the detailed message kept for
/// `nlc_last_error_message`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: nlc_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: nlc_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(what: &str) -> Self {
        Failure::new(
            nlc_status::NLC_ERROR_NULL_POINTER,
            format!("{what} must not be NULL"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(nlc_status::NLC_ERROR_INVALID_ARGUMENT, message)
    }
}

impl nlc_status {
    /// The status of a library error: its [`ErrorKind`], as the Python and WASM bindings
    /// map it too (see `ErrorKind`).
    pub(crate) fn of(kind: ErrorKind) -> Self {
        use nlc_status::*;
        match kind {
            ErrorKind::Io => NLC_ERROR_IO,
            ErrorKind::NotNlc => NLC_ERROR_NOT_NLC,
            ErrorKind::Truncated => NLC_ERROR_TRUNCATED,
            ErrorKind::Corrupt => NLC_ERROR_CORRUPT,
            ErrorKind::UnsupportedVersion
            | ErrorKind::Unsupported
            | ErrorKind::DeviceUnavailable => NLC_ERROR_UNSUPPORTED,
            ErrorKind::LimitExceeded => NLC_ERROR_LIMIT,
            ErrorKind::ModelNotFound => NLC_ERROR_MODEL_NOT_FOUND,
            ErrorKind::ModelInvalid => NLC_ERROR_MODEL_INVALID,
            ErrorKind::InvalidArgument => NLC_ERROR_INVALID_ARGUMENT,
            ErrorKind::Resource => NLC_ERROR_RESOURCE,
            ErrorKind::Device => NLC_ERROR_DEVICE,
            // No C call can be cancelled yet; kinds added later are "any other error"
            // until they get a status.
            ErrorKind::Cancelled => NLC_ERROR_INTERNAL,
            _ => NLC_ERROR_INTERNAL,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::new(nlc_status::of(e.kind()), e.to_string())
    }
}

impl From<ModelError> for Failure {
    fn from(e: ModelError) -> Self {
        Error::from(e).into()
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Error::from(e).into()
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(message: String) {
    // `try_with`: during thread teardown the slot may be gone; losing the message is fine.
    let _ = LAST_ERROR.try_with(|m| *m.borrow_mut() = message);
}

/// Copies the calling thread's last error message into `out` (NUL-terminated, truncated
/// to fit) and returns its full length in bytes without the NUL.
pub(crate) fn last_error_into(out: Option<&mut [u8]>) -> usize {
    LAST_ERROR
        .try_with(|m| {
            let m = m.borrow();
            let bytes = m.as_bytes();
            if let Some(out) = out {
                if let Some(room) = out.len().checked_sub(1) {
                    let n = bytes.len().min(room);
                    out[..n].copy_from_slice(&bytes[..n]);
                    out[n] = 0;
                }
            }
            bytes.len()
        })
        .unwrap_or(0)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into());
    format!("internal error (panic): {detail}")
}

/// The panic boundary of every exported function that returns a status: runs `f`,
/// records the message of a failure and turns a panic into `NLC_ERROR_PANIC`.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Failure>) -> nlc_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => nlc_status::NLC_OK,
        Ok(Err(failure)) => {
            set_last_error(failure.message);
            failure.status
        }
        Err(payload) => {
            set_last_error(panic_message(payload.as_ref()));
            nlc_status::NLC_ERROR_PANIC
        }
    }
}

/// The panic boundary of exported functions that return a value: a panic yields `fallback`.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(panic_message(payload.as_ref()));
            fallback
        }
    }
}

// ---------------------------------------------------------------------------------------
// Exported: version and errors
// ---------------------------------------------------------------------------------------

/// The library's version as `MAJOR * 10000 + MINOR * 100 + PATCH`. Compare with
/// `NLC_VERSION_NUMBER` to check that the header matches the library loaded at run time.
#[no_mangle]
pub extern "C" fn nlc_version() -> u32 {
    guard_value(0, || crate::NLC_VERSION_NUMBER)
}

/// The library's version as a static NUL-terminated string, e.g. `"0.1.0"`.
#[no_mangle]
pub extern "C" fn nlc_version_string() -> *const c_char {
    const V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    guard_value(c"".as_ptr(), || V.as_ptr().cast())
}

/// A static, NUL-terminated English description of a status code (never NULL; unknown
/// codes get a generic text).
#[no_mangle]
pub extern "C" fn nlc_status_message(status: u32) -> *const c_char {
    guard_value(c"unknown status".as_ptr(), || {
        nlc_status::from_u32(status)
            .map_or(c"unknown status code", nlc_status::message)
            .as_ptr()
    })
}

/// Copies the detailed message of the last failed call on the calling thread into
/// `buffer` (NUL-terminated, truncated to `capacity` bytes including the NUL) and returns
/// the message's full length without the NUL, like `snprintf`. `buffer` may be NULL
/// (with any `capacity`) to query the length. Calls that succeed do not clear it, so read it
/// right after the call that returned an error.
///
/// # Safety
/// If `buffer` is not NULL it must be valid for writes of `capacity` bytes.
#[no_mangle]
pub unsafe extern "C" fn nlc_last_error_message(buffer: *mut c_char, capacity: usize) -> usize {
    guard_value(0, || {
        if buffer.is_null() || capacity == 0 || capacity > isize::MAX as usize {
            return last_error_into(None);
        }
        // SAFETY: non-null, and the caller guarantees `capacity` writable bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), capacity) };
        last_error_into(Some(out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_and_has_a_message() {
        // Codes are contiguous from 0: count them, then check nothing follows the gap.
        let count = (0..)
            .take_while(|&v| nlc_status::from_u32(v).is_some())
            .count() as u32;
        assert!(
            count >= 15,
            "NLC_OK ..= NLC_ERROR_DEVICE at least, got {count}"
        );
        for v in 0..count {
            let s = nlc_status::from_u32(v).expect("contiguous codes");
            assert_eq!(s as u32, v);
            assert!(!s.message().to_bytes().is_empty());
        }
        assert!((count..count + 64).all(|v| nlc_status::from_u32(v).is_none()));
    }

    #[test]
    fn library_errors_keep_their_statuses() {
        use nelloc::{DeviceError, FormatError};
        use nlc_status::*;
        let st = |e: Error| Failure::from(e).status;
        assert_eq!(st(FormatError::BadMagic.into()), NLC_ERROR_NOT_NLC);
        assert_eq!(st(FormatError::MangledMagic.into()), NLC_ERROR_CORRUPT);
        assert_eq!(
            st(FormatError::UnsupportedVersion(9).into()),
            NLC_ERROR_UNSUPPORTED
        );
        assert_eq!(st(Error::Unsupported("x".into())), NLC_ERROR_UNSUPPORTED);
        let (device, missing) = ("cuda".to_string(), "x".to_string());
        assert_eq!(
            st(DeviceError::Unavailable { device, missing }.into()),
            NLC_ERROR_UNSUPPORTED
        );
        let (device, detail) = ("cuda".to_string(), "x".to_string());
        assert_eq!(
            st(DeviceError::Inexact { device, detail }.into()),
            NLC_ERROR_DEVICE
        );
        let e = nelloc::ReferenceError::Parse("x".into());
        assert_eq!(st(e.into()), NLC_ERROR_INVALID_ARGUMENT);
        let detail = "x".to_string();
        assert_eq!(
            st(Error::ThreadPool { threads: 2, detail }),
            NLC_ERROR_RESOURCE
        );
        assert_eq!(st(Error::Cancelled), NLC_ERROR_INTERNAL);
    }

    #[test]
    fn panics_become_a_status_and_a_message() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, nlc_status::NLC_ERROR_PANIC);
        let mut buf = [0u8; 64];
        let n = last_error_into(Some(&mut buf));
        let msg = std::str::from_utf8(&buf[..n.min(63)]).expect("utf-8");
        assert!(msg.contains("boom"), "{msg}");
    }

    #[test]
    fn last_error_truncates_and_terminates() {
        guard(|| Err(Failure::invalid("0123456789")));
        let mut buf = [0xFFu8; 5];
        assert_eq!(last_error_into(Some(&mut buf)), 10);
        assert_eq!(&buf, b"0123\0");
        assert_eq!(last_error_into(Some(&mut [])), 10);
        assert_eq!(last_error_into(None), 10);
    }
}
