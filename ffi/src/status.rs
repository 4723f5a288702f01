//! Status codes, the per-thread error message, and the panic boundary.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use nelloc::{Error, FormatError, ModelError};

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
    /// the CUDA device).
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

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        use nlc_status::*;
        let status = match &e {
            Error::Io(_) => NLC_ERROR_IO,
            Error::Format(FormatError::BadMagic) => NLC_ERROR_NOT_NLC,
            Error::Format(FormatError::Truncated { .. }) => NLC_ERROR_TRUNCATED,
            Error::Format(FormatError::UnsupportedVersion(_)) => NLC_ERROR_UNSUPPORTED,
            Error::Format(_) => NLC_ERROR_CORRUPT,
            Error::Unsupported(_) => NLC_ERROR_UNSUPPORTED,
            Error::Limits(_) => NLC_ERROR_LIMIT,
            Error::Model(ModelError::UnknownModel { .. }) => NLC_ERROR_MODEL_NOT_FOUND,
            Error::Model(_) => NLC_ERROR_MODEL_INVALID,
            Error::InvalidArgument(_) => NLC_ERROR_INVALID_ARGUMENT,
            Error::ThreadPool { .. } => NLC_ERROR_RESOURCE,
            Error::Device(
                nelloc::DeviceError::Unavailable { .. } | nelloc::DeviceError::NotBuilt { .. },
            ) => NLC_ERROR_UNSUPPORTED,
            Error::Device(_) => NLC_ERROR_DEVICE,
            Error::Reference(_) => NLC_ERROR_INVALID_ARGUMENT,
            _ => NLC_ERROR_INTERNAL,
        };
        Failure::new(status, e.to_string())
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
