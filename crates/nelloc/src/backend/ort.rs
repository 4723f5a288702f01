//! The ONNX Runtime backend: the graph of [`super::onnx::export`] run by `ort`, with ONNX
//! Runtime loaded at run time (`NELLOC_ORT_LIB`, [`super::set_ort_library`], or
//! `libonnxruntime.so` on the library path). Each session is checked against the CPU
//! reference when it is created; a provider that differs is refused.
// The library is opened once here before `ort` touches it: `ort` panics on a missing or
// too old library, which must be a clear error instead (the FFI of that check is unsafe).
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{c_char, CStr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use ort::execution_providers::{CPUExecutionProvider, CUDAExecutionProvider};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;

use super::prepared::Prepared;
use super::{onnx, Backend, Batch, RowLayout};
use crate::error::{DeviceError, Result};
use crate::model::Model;
use crate::options::OrtProvider;

/// One ORT backend per provider, with a checked session per model (by hash).
pub(crate) struct Ort {
    provider: OrtProvider,
    sessions: Prepared<Mutex<Session>>,
}

/// Outcome of loading ONNX Runtime (once per process: the runtime cannot be swapped).
static LOADED: OnceLock<std::result::Result<String, String>> = OnceLock::new();

#[repr(C)]
struct OrtApiBase {
    get_api: unsafe extern "C" fn(u32) -> *const std::ffi::c_void,
    get_version_string: unsafe extern "C" fn() -> *const c_char,
}

/// Opens the library, reads its version and hands it to `ort`: the version string, or
/// what is missing.
fn load() -> std::result::Result<String, String> {
    // The path chosen by `set_ort_library`, else `NELLOC_ORT_LIB`, else the plain name.
    let path = super::ORT_LIBRARY
        .get_or_init(|| {
            std::env::var(super::ORT_LIB_ENV).unwrap_or_else(|_| "libonnxruntime.so".into())
        })
        .clone();
    // SAFETY: loading a library runs its initialisers; the caller asked for this library
    // by name (ONNX Runtime's initialisers have no preconditions).
    let lib = unsafe { libloading::Library::new(&path) }.map_err(|e| {
        format!(
            "the ONNX Runtime library {path} could not be loaded ({e}); install ONNX Runtime \
             (e.g. the onnxruntime Python wheel) and point {} at libonnxruntime.so",
            super::ORT_LIB_ENV
        )
    })?;
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release (C API).
    let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const OrtApiBase> =
        unsafe { lib.get(b"OrtGetApiBase\0") }
            .map_err(|_| format!("{path} is not ONNX Runtime (no OrtGetApiBase)"))?;
    // SAFETY: the function takes no arguments and returns a static table or null.
    let base = unsafe { get_base() };
    if base.is_null() {
        return Err(format!("{path}: OrtGetApiBase returned null"));
    }
    // SAFETY: `base` is a valid, static OrtApiBase; the version is a static C string.
    let version = unsafe { CStr::from_ptr(((*base).get_version_string)()) }
        .to_string_lossy()
        .into_owned();
    let minor: u32 = version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if minor < ort::MINOR_VERSION {
        return Err(format!(
            "ONNX Runtime {version} at {path} is too old (1.{} or later is needed)",
            ort::MINOR_VERSION
        ));
    }
    // `ort` opens its own handle by path; resolve it so that it finds the same file.
    let absolute = std::fs::canonicalize(&path)
        .map(|p| p.display().to_string())
        .unwrap_or(path);
    let committed = std::panic::catch_unwind(|| ort::init_from(absolute).commit());
    match committed {
        Ok(Ok(_)) => Ok(version),
        Ok(Err(e)) => Err(format!("ONNX Runtime {version} failed to start: {e}")),
        Err(_) => Err(format!("ONNX Runtime {version} failed to start")),
    }
}

fn failed(provider: OrtProvider, e: impl std::fmt::Display) -> crate::Error {
    DeviceError::Failed {
        device: format!("ort:{provider}"),
        detail: e.to_string(),
    }
    .into()
}

impl Ort {
    /// The backend of `provider`, once ONNX Runtime is loaded.
    pub(crate) fn get(provider: OrtProvider) -> Result<Arc<Ort>> {
        static BACKENDS: OnceLock<Mutex<HashMap<OrtProvider, Arc<Ort>>>> = OnceLock::new();
        if let Err(missing) = LOADED.get_or_init(load) {
            return Err(DeviceError::Unavailable {
                device: format!("ort:{provider}"),
                missing: missing.clone(),
            }
            .into());
        }
        let mut map = BACKENDS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(map
            .entry(provider)
            .or_insert_with(|| {
                Arc::new(Ort {
                    provider,
                    sessions: Prepared::default(),
                })
            })
            .clone())
    }

    fn create(&self, model: &Model) -> Result<Session> {
        let p = self.provider;
        let ep = match p {
            OrtProvider::Cpu => CPUExecutionProvider::default().build().error_on_failure(),
            OrtProvider::Cuda(i) => CUDAExecutionProvider::default()
                .with_device_id(i as i32)
                .build()
                .error_on_failure(),
        };
        let graph = onnx::export(model);
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            Session::builder()?
                // Basic rewrites only (constant folding, redundant nodes): nothing that
                // could swap an integer operator for a float one.
                .with_optimization_level(GraphOptimizationLevel::Level1)?
                .with_execution_providers([ep])?
                .commit_from_memory(&graph)
        }));
        match built {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(DeviceError::Unavailable {
                device: format!("ort:{p}"),
                missing: format!("ONNX Runtime could not create a session: {e}"),
            }
            .into()),
            Err(_) => Err(failed(p, "ONNX Runtime panicked creating a session")),
        }
    }

    fn run(&self, session: &Mutex<Session>, model: &Model, batch: &mut Batch) -> Result<()> {
        let p = self.provider;
        let (n, l, o) = (
            batch.len(),
            model.arch().input_len(),
            model.arch().output_len(),
        );
        let (pixels, inside) = onnx::split_inputs(batch.rows(), batch.stride(), n, l);
        let shape = [n, l];
        let pixels = Tensor::from_array((shape, pixels)).map_err(|e| failed(p, e))?;
        let inside = Tensor::from_array((shape, inside)).map_err(|e| failed(p, e))?;
        let mut session = session.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs![onnx::INPUT_PIXELS => pixels, onnx::INPUT_INSIDE => inside])
            .map_err(|e| failed(p, e))?;
        let (got_shape, data) = outputs[onnx::OUTPUT_HEAD]
            .try_extract_tensor::<i32>()
            .map_err(|e| failed(p, e))?;
        if data.len() != n * o || got_shape.len() != 2 {
            return Err(failed(p, format!("head output of shape {got_shape:?}")));
        }
        batch.io().1[..n * o].copy_from_slice(data);
        Ok(())
    }
}

impl Backend for Ort {
    fn prepare(&self, model: &Model) -> Result<()> {
        self.sessions
            .get_or_prepare(model, || {
                let session = Mutex::new(self.create(model)?);
                // The conformance check: a provider that is not exact never codes anything.
                super::self_check(
                    model,
                    &format!("ort:{}", self.provider),
                    self.layout(model),
                    |batch| self.run(&session, model, batch),
                )?;
                Ok(session)
            })
            .map(drop)
    }

    fn preferred_batch(&self) -> usize {
        // A session call costs tens of microseconds: thousands of pixels per call.
        4096
    }

    fn layout(&self, model: &Model) -> RowLayout {
        RowLayout {
            stride: model.arch().input_len(),
            rows_multiple: 1,
        }
    }

    fn forward(&self, model: &Model, batch: &mut Batch) -> Result<()> {
        let session = self.sessions.get(model).ok_or_else(|| {
            failed(
                self.provider,
                "no session for the model (prepare was not called)",
            )
        })?;
        self.run(&session, model, batch)
    }
}
