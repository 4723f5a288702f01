//! The backend layer: what evaluates the integer network for a batch of contexts.
//!
//! The codec's tile and wavefront scheduling (`codec/engine.rs`) fills a [`BatchScratch`]
//! with contexts and calls [`Backend::forward`]; it never sees how or where the network
//! runs. Backends: the CPU kernels (`cpu`, always present), ONNX Runtime (`ort`, feature
//! `ort`) and CUDA (`cuda`, feature `cuda`). The accelerators load their libraries at run
//! time and check themselves against the CPU reference before their first use, so a
//! backend that would code a different stream is refused, never used.

mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
mod cuda_src;
pub mod onnx;
#[cfg(feature = "ort")]
mod ort;

use std::sync::Arc;

use crate::error::{DeviceError, Result};
use crate::kernels::{forward_batch, BatchScratch, Level};
use crate::model::Model;
use crate::options::Device;

/// Evaluates the network: `n` contexts written through [`BatchScratch::input_rows`] in,
/// `n` head vectors of `arch.output_len()` out, identical to `network::forward` per pixel.
pub(crate) trait Backend: Send + Sync {
    /// Compiles, uploads and checks whatever `model` needs; called once per coding call
    /// before any [`Backend::forward`] with it.
    fn prepare(&self, model: &Model) -> Result<()>;
    /// Pixels per call this backend wants at least (the CPU: a tile row; accelerators:
    /// whole tiles, since a launch costs microseconds).
    fn preferred_batch(&self) -> usize;
    /// Runs the network.
    fn forward(&self, model: &Model, s: &mut BatchScratch, n: usize, out: &mut [i32])
        -> Result<()>;
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

/// The backend for `device`, for a call coding `pixels` pixels with `models`. `Auto` picks
/// the GPU only when one is present, the work is large enough and the GPU passes its check;
/// otherwise the CPU.
pub(crate) fn select(device: Device, pixels: u64, models: &[&Model]) -> Result<Arc<dyn Backend>> {
    let backend: Arc<dyn Backend> = match device {
        Device::Cpu => return Ok(cpu()),
        Device::Auto => {
            if pixels < AUTO_MIN_PIXELS {
                return Ok(cpu());
            }
            match cuda_backend(0) {
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

/// Runs [`check_contexts`] through `forward` and compares with the CPU reference
/// kernels; `device` names the backend in the error.
pub(crate) fn self_check(
    model: &Model,
    device: &str,
    forward: impl FnOnce(&mut BatchScratch, usize, &mut [i32]) -> Result<()>,
) -> Result<()> {
    let (ctx, n) = check_contexts(model);
    let (l, o) = (model.arch().input_len(), model.arch().output_len());
    let mut expected = vec![0i32; n * o];
    let mut got = vec![0i32; n * o];
    let mut s = BatchScratch::default();
    let fill = |s: &mut BatchScratch| {
        let (rows, rs) = s.input_rows(model, n);
        for p in 0..n {
            rows[p * rs..p * rs + l].copy_from_slice(&ctx[p * l..(p + 1) * l]);
        }
    };
    fill(&mut s);
    forward_batch(model, Level::Scalar, n, &mut expected, &mut s);
    fill(&mut s);
    forward(&mut s, n, &mut got)?;
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
