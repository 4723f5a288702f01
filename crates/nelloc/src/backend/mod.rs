//! The backend layer: what evaluates the integer network for a batch of contexts.
//!
//! The codec's tile and wavefront scheduling (`codec/engine.rs`) fills a [`Batch`] with
//! contexts, in the row layout the backend asked for, and calls [`Backend::forward`]; it
//! never sees how or where the network runs. Backends: the CPU kernels (`cpu`, always present), ONNX Runtime (`ort`, feature
//! `ort`) and CUDA (`cuda`, feature `cuda`). The accelerators load their libraries at run
//! time and check themselves against the CPU reference before their first use, so a
//! backend that would code a different stream is refused, never used.

mod buffer;
mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
mod cuda_src;
pub mod onnx;
#[cfg(feature = "ort")]
mod ort;
#[cfg_attr(not(any(feature = "ort", feature = "cuda")), allow(dead_code))]
mod prepared;

pub(crate) use buffer::{Batch, RowLayout};

use std::sync::Arc;

use crate::error::{DeviceError, Result};
use crate::kernels::{self, Level};
use crate::model::Model;
use crate::options::Device;

/// Evaluates the network: the contexts of a [`Batch`] in, its head vectors of
/// `arch.output_len()` out, identical to `network::forward` per pixel.
pub(crate) trait Backend: Send + Sync {
    /// Compiles, uploads and checks whatever `model` needs; called once per coding call
    /// before any [`Backend::forward`] with it.
    fn prepare(&self, model: &Model) -> Result<()>;
    /// Pixels per call this backend wants at least (the CPU: a tile row; accelerators:
    /// whole tiles, since a launch costs microseconds).
    fn preferred_batch(&self) -> usize;
    /// The row layout of the batches this backend reads for `model`.
    fn layout(&self, model: &Model) -> RowLayout;
    /// Runs the network on a batch filled in [`Backend::layout`].
    fn forward(&self, model: &Model, batch: &mut Batch) -> Result<()>;
}

/// Environment variable naming the ONNX Runtime library (`libonnxruntime.so`).
pub const ORT_LIB_ENV: &str = "NELLOC_ORT_LIB";

/// Sets the ONNX Runtime library used by [`Device::Ort`] (otherwise `NELLOC_ORT_LIB`, then
/// `libonnxruntime.so` on the library path). Call it before the first use of the ORT
/// backend: the runtime is loaded once per process. Returns false when a library was
/// already chosen (the call then changes nothing).
pub fn set_ort_library(path: impl Into<String>) -> bool {
    ORT_LIBRARY.set(path.into()).is_ok()
}

static ORT_LIBRARY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Images with fewer pixels than this stay on the CPU under [`Device::Auto`]: below it a
/// GPU's start-up and transfers cost more than the network saves.
pub const AUTO_MIN_PIXELS: u64 = 4 << 20;

/// What [`Device::Auto`] means for a call coding `pixels` pixels: the first GPU when one
/// is present and the work is large enough, else the CPU.
pub(crate) fn auto_device(pixels: u64) -> Device {
    if pixels >= AUTO_MIN_PIXELS && probe(Device::Cuda(0)).is_ok() {
        Device::Cuda(0)
    } else {
        Device::Cpu
    }
}

/// The backend for `device`, for a call coding `pixels` pixels with `models`. `Auto`
/// ([`auto_device`]) falls back to the CPU when the GPU fails its check on a model.
pub(crate) fn select(device: Device, pixels: u64, models: &[&Model]) -> Result<Arc<dyn Backend>> {
    let backend: Arc<dyn Backend> = match device {
        Device::Cpu => return Ok(cpu()),
        Device::Auto => {
            let Device::Cuda(index) = auto_device(pixels) else {
                return Ok(cpu());
            };
            match cuda_backend(index) {
                Ok(b) if models.iter().all(|m| b.prepare(m).is_ok()) => return Ok(b),
                _ => return Ok(cpu()),
            }
        }
        Device::Cuda(index) => cuda_backend(index)?,
        Device::Ort(provider) => ort_backend(provider)?,
    };
    for m in models {
        backend.prepare(m)?;
    }
    Ok(backend)
}

fn cpu() -> Arc<dyn Backend> {
    Arc::new(cpu::Cpu(Level::detect()))
}

/// Whether `device` can run here (its libraries load and, for a GPU, the device exists),
/// without checking a model. `Ok` for the CPU and `Auto`.
pub fn probe(device: Device) -> Result<()> {
    match device {
        Device::Cpu | Device::Auto => Ok(()),
        Device::Cuda(index) => cuda_backend(index).map(drop),
        Device::Ort(provider) => ort_backend(provider).map(drop),
    }
}

#[cfg(feature = "cuda")]
fn cuda_backend(index: u32) -> Result<Arc<dyn Backend>> {
    cuda::Cuda::get(index).map(|b| b as Arc<dyn Backend>)
}

#[cfg(not(feature = "cuda"))]
fn cuda_backend(index: u32) -> Result<Arc<dyn Backend>> {
    Err(DeviceError::NotBuilt {
        device: format!("cuda:{index}"),
        feature: "cuda",
    }
    .into())
}

#[cfg(feature = "ort")]
fn ort_backend(provider: crate::options::OrtProvider) -> Result<Arc<dyn Backend>> {
    ort::Ort::get(provider).map(|b| b as Arc<dyn Backend>)
}

#[cfg(not(feature = "ort"))]
fn ort_backend(provider: crate::options::OrtProvider) -> Result<Arc<dyn Backend>> {
    Err(DeviceError::NotBuilt {
        device: format!("ort:{provider}"),
        feature: "ort",
    }
    .into())
}

/// Contexts of the self-check every accelerator runs per model before coding with it:
/// pseudo-random contexts (inside and outside the tile), then the extremes (all pixels 0,
/// all 255, alternating, everything outside). Also what the tests compare backends on.
// Used by the accelerator backends (and tests) only.
#[cfg_attr(not(any(feature = "ort", feature = "cuda")), allow(dead_code))]
pub(crate) fn check_contexts(model: &Model) -> (Vec<i16>, usize) {
    let l = model.arch().input_len();
    let mut st = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(model.hash()[0]);
    let mut rnd = move || {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        st
    };
    let random = 123;
    let mut v = Vec::with_capacity((random + 4) * l);
    for p in 0..random {
        for _ in 0..l {
            let outside = p % 3 == 0 && rnd() % 4 == 0;
            v.push(if outside {
                0
            } else {
                2 * (rnd() % 256) as i16 - 255
            });
        }
    }
    for fill in [-255i16, 255, 0] {
        v.extend(std::iter::repeat_n(fill, l));
    }
    v.extend((0..l).map(|i| if i % 2 == 0 { 255 } else { -255 }));
    let n = v.len() / l;
    (v, n)
}

/// Runs [`check_contexts`] through `forward` (rows in `layout`) and compares with the
/// CPU reference kernels; `device` names the backend in the error.
// Used by the accelerator backends (and tests) only.
#[cfg_attr(not(any(feature = "ort", feature = "cuda")), allow(dead_code))]
pub(crate) fn self_check(
    model: &Model,
    device: &str,
    layout: RowLayout,
    forward: impl FnOnce(&mut Batch) -> Result<()>,
) -> Result<()> {
    let (ctx, n) = check_contexts(model);
    let (l, o) = (model.arch().input_len(), model.arch().output_len());
    let mut expected = vec![0i32; n * o];
    let rows = kernels::pack_rows(model, &ctx, n);
    let mut scratch = kernels::Scratch::default();
    kernels::forward_batch(model, Level::Scalar, &rows, n, &mut expected, &mut scratch);
    let mut batch = Batch::default();
    batch.reset(model, layout, n);
    for p in 0..n {
        batch.row_mut(p).copy_from_slice(&ctx[p * l..][..l]);
    }
    forward(&mut batch)?;
    let got = batch.heads();
    if let Some(i) = (0..n * o).find(|&i| got[i] != expected[i]) {
        return Err(DeviceError::Inexact {
            device: device.to_string(),
            detail: format!(
                "model {}: check context {} output {}: got {}, the CPU reference gives {}",
                model.name(),
                i / o,
                i % o,
                got[i],
                expected[i]
            ),
        }
        .into());
    }
    Ok(())
}
