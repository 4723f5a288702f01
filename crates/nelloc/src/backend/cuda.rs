//! The CUDA backend: `kernels.cu` compiled by NVRTC once per device, weights uploaded once
//! per model, one launch per layer for a whole batch. The driver (`libcuda`) and NVRTC are
//! loaded at run time by `cudarc`; their presence is checked first, since `cudarc`
//! panics on a missing library. Every model is checked against the CPU reference before
//! the GPU codes anything with it.
// Kernel launches are unsafe in cudarc (argument types are not checked against the kernel).
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};

use super::cuda_src::{KERNELS, KERNEL_NAMES};
use super::prepared::Prepared;
use super::{Backend, Batch, RowLayout};
use crate::error::{DeviceError, Result};
use crate::model::Model;
use crate::net::{Op, Topology};

struct DevLayer {
    n_in: i32,
    n_out: i32,
    w: CudaSlice<i8>,
    bias: CudaSlice<i32>,
    mult: CudaSlice<i32>,
    shift: CudaSlice<i32>,
}

/// One GPU: its stream, the compiled kernels and the models uploaded to it.
pub(crate) struct Cuda {
    index: u32,
    stream: Arc<CudaStream>,
    funcs: Vec<CudaFunction>,
    models: Prepared<Topology<DevLayer>>,
    /// Launches of one batch are issued from one thread at a time.
    busy: Mutex<()>,
}

fn unavailable(index: u32, missing: impl Into<String>) -> crate::Error {
    DeviceError::Unavailable {
        device: format!("cuda:{index}"),
        missing: missing.into(),
    }
    .into()
}

fn failed(index: u32, e: impl std::fmt::Display) -> crate::Error {
    DeviceError::Failed {
        device: format!("cuda:{index}"),
        detail: e.to_string(),
    }
    .into()
}

/// Compiles the kernels to PTX with NVRTC (`libnvrtc` must be loadable).
pub(crate) fn compile() -> std::result::Result<String, String> {
    let opts = CompileOptions {
        name: Some("nelloc_kernels.cu".into()),
        ..Default::default()
    };
    compile_ptx_with_opts(KERNELS, opts)
        .map(|ptx| ptx.to_src())
        .map_err(|e| format!("NVRTC could not compile the kernels: {e}"))
}

/// Whether NVRTC can be loaded (checked before any cudarc call that would panic).
pub(crate) fn nvrtc_present() -> bool {
    // SAFETY: only tries to open the library by its candidate names.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

impl Cuda {
    /// The backend of GPU `index`, created (and its kernels compiled) on first use.
    pub(crate) fn get(index: u32) -> Result<Arc<Cuda>> {
        // Per GPU: the backend, or what is missing (not retried: it will not appear).
        type Started = std::result::Result<Arc<Cuda>, String>;
        static DEVICES: OnceLock<Mutex<HashMap<u32, Started>>> = OnceLock::new();
        let mut map = DEVICES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(index)
            .or_insert_with(|| {
                std::panic::catch_unwind(|| Cuda::create(index))
                    .unwrap_or_else(|_| Err("the CUDA runtime panicked while starting".into()))
            })
            .clone()
            .map_err(|missing| unavailable(index, missing))
    }

    fn create(index: u32) -> std::result::Result<Arc<Cuda>, String> {
        // SAFETY: only tries to open the library by its candidate names.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err("the NVIDIA driver library (libcuda.so) was not found".into());
        }
        if !nvrtc_present() {
            return Err(
                "NVRTC (libnvrtc.so.12) was not found: install the CUDA toolkit or the \
                 nvidia-cuda-nvrtc-cu12 wheel and add its lib folder to LD_LIBRARY_PATH"
                    .into(),
            );
        }
        let count = CudaContext::device_count().map_err(|e| format!("no CUDA device ({e})"))?;
        if i64::from(index) >= i64::from(count) {
            return Err(format!("no CUDA GPU number {index} ({count} found)"));
        }
        let ctx = CudaContext::new(index as usize).map_err(|e| format!("CUDA context: {e}"))?;
        let ptx = compile()?;
        let module = ctx
            .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
            .map_err(|e| format!("loading the kernels: {e}"))?;
        let funcs = KERNEL_NAMES
            .iter()
            .map(|n| {
                module
                    .load_function(n)
                    .map_err(|e| format!("kernel {n}: {e}"))
            })
            .collect::<std::result::Result<_, _>>()?;
        Ok(Arc::new(Cuda {
            index,
            stream: ctx.default_stream(),
            funcs,
            models: Prepared::default(),
            busy: Mutex::new(()),
        }))
    }

    fn upload(&self, model: &Model) -> Result<Topology<DevLayer>> {
        let s = &self.stream;
        let e = |e| failed(self.index, e);
        model.net().try_map(|l| {
            Ok(DevLayer {
                n_in: l.n_in as i32,
                n_out: l.n_out as i32,
                w: s.clone_htod(&l.weight).map_err(e)?,
                bias: s.clone_htod(&l.bias).map_err(e)?,
                mult: s.clone_htod(&l.mult).map_err(e)?,
                shift: s.clone_htod(&l.shift).map_err(e)?,
            })
        })
    }

    fn run(&self, net: &Topology<DevLayer>, model: &Model, batch: &mut Batch) -> Result<()> {
        let arch = model.arch();
        let (n, l, o, w) = (
            batch.len(),
            arch.input_len(),
            arch.output_len(),
            arch.width as usize,
        );
        let e = |e| failed(self.index, e);
        let _busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let st = &self.stream;
        // Dense rows (`layout`): the first n rows are the input as it is.
        let xd = st.clone_htod(&batch.rows()[..n * l]).map_err(e)?;
        let mut bufs = [
            st.alloc_zeros::<u8>(n * w).map_err(e)?,
            st.alloc_zeros::<u8>(n * w).map_err(e)?,
            st.alloc_zeros::<u8>(n * w).map_err(e)?,
        ];
        let mut head = st.alloc_zeros::<i32>(n * o).map_err(e)?;
        let (ni, wi) = (n as i32, w as i32);
        for step in net.steps() {
            let f = step.layer;
            let cfg = LaunchConfig::for_num_elems((n * f.n_out as usize) as u32);
            // Kernels: 0 input layer (i16 contexts in), 1 ReLU layer, 2 residual layer
            // (adds into its output), 3 head (i32 out).
            let (func, x, y) = match step.op {
                Op::Input { dst } => (0, None, Some(&mut bufs[dst.index()])),
                Op::Relu { src, dst } | Op::Residual { src, dst } => {
                    let func = if matches!(step.op, Op::Relu { .. }) {
                        1
                    } else {
                        2
                    };
                    let (x, y) = src_dst(&mut bufs, src.index(), dst.index());
                    (func, Some(x), Some(y))
                }
                Op::Head { src } => (3, Some(&bufs[src.index()]), None),
            };
            let mut launch = st.launch_builder(&self.funcs[func]);
            launch.arg(&ni).arg(&f.n_out);
            match x {
                None => launch.arg(&xd).arg(&f.n_in),
                Some(x) => launch.arg(x).arg(&f.n_in).arg(&wi),
            };
            launch.arg(&f.w).arg(&f.bias).arg(&f.mult).arg(&f.shift);
            match y {
                Some(y) => launch.arg(y).arg(&wi),
                None => launch.arg(&mut head),
            };
            // SAFETY: the arguments match the kernel's parameter list in kernels.cu in
            // number, order and type, and every buffer holds n rows of the stride passed
            // with it (x: input_len, activations: width, head: output_len).
            unsafe { launch.launch(cfg) }.map_err(e)?;
        }
        let back = st.clone_dtoh(&head).map_err(e)?;
        batch.io().1[..n * o].copy_from_slice(&back);
        Ok(())
    }
}

/// Buffer `src` to read and buffer `dst` to write (`src != dst`: the walk never reads the
/// buffer a layer writes, except a residual's own trunk, which is `dst`).
fn src_dst<T>(bufs: &mut [T; 3], src: usize, dst: usize) -> (&T, &mut T) {
    assert_ne!(src, dst);
    let (lo, hi) = bufs.split_at_mut(src.max(dst));
    if src < dst {
        (&lo[src], &mut hi[0])
    } else {
        (&hi[0], &mut lo[dst])
    }
}

impl Backend for Cuda {
    fn prepare(&self, model: &Model) -> Result<()> {
        self.models
            .get_or_prepare(model, || {
                let net = self.upload(model)?;
                super::self_check(
                    model,
                    &format!("cuda:{}", self.index),
                    self.layout(model),
                    |batch| self.run(&net, model, batch),
                )?;
                Ok(net)
            })
            .map(drop)
    }

    fn preferred_batch(&self) -> usize {
        // A launch costs microseconds and a layer of a few thousand pixels does not fill
        // a large GPU: whole tiles per call, many tiles per decoding step.
        1 << 16
    }

    fn layout(&self, model: &Model) -> RowLayout {
        RowLayout {
            stride: model.arch().input_len(),
            rows_multiple: 1,
        }
    }

    fn forward(&self, model: &Model, batch: &mut Batch) -> Result<()> {
        let net = self
            .models
            .get(model)
            .ok_or_else(|| failed(self.index, "the model was not prepared"))?;
        self.run(&net, model, batch)
    }
}

#[cfg(test)]
mod tests {
    /// Every kernel compiles with NVRTC (no GPU needed). CI installs the
    /// nvidia-cuda-nvrtc-cu12 wheel and sets NELLOC_REQUIRE_NVRTC=1 so this cannot skip.
    #[test]
    fn every_kernel_compiles_with_nvrtc() {
        if !super::nvrtc_present() {
            assert!(
                std::env::var_os("NELLOC_REQUIRE_NVRTC").is_none(),
                "NELLOC_REQUIRE_NVRTC is set but libnvrtc is not on the library path"
            );
            eprintln!("SKIPPED: libnvrtc not found (add its folder to LD_LIBRARY_PATH)");
            return;
        }
        let ptx = super::compile().unwrap();
        for name in super::KERNEL_NAMES {
            assert!(
                ptx.contains(&format!(".entry {name}")),
                "{name} missing from the PTX"
            );
        }
        eprintln!(
            "NVRTC compiled {} kernels ({} bytes of PTX)",
            super::KERNEL_NAMES.len(),
            ptx.len()
        );
    }
}
