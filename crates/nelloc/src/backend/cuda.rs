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
use super::Backend;
use crate::error::{DeviceError, Result};
use crate::kernels::BatchScratch;
use crate::model::Model;

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
    models: Mutex<HashMap<[u8; 32], Arc<Vec<DevLayer>>>>,
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
            models: Mutex::new(HashMap::new()),
            busy: Mutex::new(()),
        }))
    }

    fn upload(&self, model: &Model) -> Result<Vec<DevLayer>> {
        let s = &self.stream;
        let e = |e| failed(self.index, e);
        model
            .layers
            .iter()
            .map(|l| {
                Ok(DevLayer {
                    n_in: l.n_in as i32,
                    n_out: l.n_out as i32,
                    w: s.clone_htod(&l.weight).map_err(e)?,
                    bias: s.clone_htod(&l.bias).map_err(e)?,
                    mult: s.clone_htod(&l.mult).map_err(e)?,
                    shift: s.clone_htod(&l.shift).map_err(e)?,
                })
            })
            .collect()
    }

    fn run(
        &self,
        layers: &[DevLayer],
        model: &Model,
        s: &mut BatchScratch,
        n: usize,
        out: &mut [i32],
    ) -> Result<()> {
        let arch = model.arch();
        let (l, o, w) = (arch.input_len(), arch.output_len(), arch.width as usize);
        let (rows, rs) = s.input_rows(model, n);
        let mut x = Vec::with_capacity(n * l);
        for p in 0..n {
            x.extend_from_slice(&rows[p * rs..p * rs + l]);
        }
        let e = |e| failed(self.index, e);
        let _busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let st = &self.stream;
        let xd = st.clone_htod(&x).map_err(e)?;
        let mut a = st.alloc_zeros::<u8>(n * w).map_err(e)?;
        let mut t1 = st.alloc_zeros::<u8>(n * w).map_err(e)?;
        let mut t2 = st.alloc_zeros::<u8>(n * w).map_err(e)?;
        let mut head = st.alloc_zeros::<i32>(n * o).map_err(e)?;
        let (ni, wi) = (n as i32, w as i32);
        let cfg = |layer: &DevLayer| LaunchConfig::for_num_elems((n * layer.n_out as usize) as u32);
        let nl = layers.len();
        // SAFETY (every launch below): the arguments match the kernel's parameter list in
        // kernels.cu in number, order and type, and every buffer holds n rows of the
        // stride passed with it (x: input_len, activations: width, head: output_len).
        unsafe {
            let f = &layers[0];
            st.launch_builder(&self.funcs[0])
                .arg(&ni)
                .arg(&f.n_out)
                .arg(&xd)
                .arg(&f.n_in)
                .arg(&f.w)
                .arg(&f.bias)
                .arg(&f.mult)
                .arg(&f.shift)
                .arg(&mut a)
                .arg(&wi)
                .launch(cfg(f))
                .map_err(e)?;
            for block in layers[1..nl - 2].chunks_exact(3) {
                let (b0, b1, b2) = (&block[0], &block[1], &block[2]);
                st.launch_builder(&self.funcs[1])
                    .arg(&ni)
                    .arg(&b0.n_out)
                    .arg(&a)
                    .arg(&b0.n_in)
                    .arg(&wi)
                    .arg(&b0.w)
                    .arg(&b0.bias)
                    .arg(&b0.mult)
                    .arg(&b0.shift)
                    .arg(&mut t1)
                    .arg(&wi)
                    .launch(cfg(b0))
                    .map_err(e)?;
                st.launch_builder(&self.funcs[1])
                    .arg(&ni)
                    .arg(&b1.n_out)
                    .arg(&t1)
                    .arg(&b1.n_in)
                    .arg(&wi)
                    .arg(&b1.w)
                    .arg(&b1.bias)
                    .arg(&b1.mult)
                    .arg(&b1.shift)
                    .arg(&mut t2)
                    .arg(&wi)
                    .launch(cfg(b1))
                    .map_err(e)?;
                st.launch_builder(&self.funcs[2])
                    .arg(&ni)
                    .arg(&b2.n_out)
                    .arg(&t2)
                    .arg(&b2.n_in)
                    .arg(&wi)
                    .arg(&b2.w)
                    .arg(&b2.bias)
                    .arg(&b2.mult)
                    .arg(&b2.shift)
                    .arg(&mut a)
                    .arg(&wi)
                    .launch(cfg(b2))
                    .map_err(e)?;
            }
            let h = &layers[nl - 2];
            st.launch_builder(&self.funcs[1])
                .arg(&ni)
                .arg(&h.n_out)
                .arg(&a)
                .arg(&h.n_in)
                .arg(&wi)
                .arg(&h.w)
                .arg(&h.bias)
                .arg(&h.mult)
                .arg(&h.shift)
                .arg(&mut t1)
                .arg(&wi)
                .launch(cfg(h))
                .map_err(e)?;
            let last = &layers[nl - 1];
            st.launch_builder(&self.funcs[3])
                .arg(&ni)
                .arg(&last.n_out)
                .arg(&t1)
                .arg(&last.n_in)
                .arg(&wi)
                .arg(&last.w)
                .arg(&last.bias)
                .arg(&last.mult)
                .arg(&last.shift)
                .arg(&mut head)
                .launch(cfg(last))
                .map_err(e)?;
        }
        let back = st.clone_dtoh(&head).map_err(e)?;
        out[..n * o].copy_from_slice(&back);
        Ok(())
    }

    fn layers(&self, model: &Model) -> Result<Arc<Vec<DevLayer>>> {
        self.models
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model.hash())
            .cloned()
            .ok_or_else(|| failed(self.index, "the model was not prepared"))
    }
}

impl Backend for Cuda {
    fn prepare(&self, model: &Model) -> Result<()> {
        if self.layers(model).is_ok() {
            return Ok(());
        }
        let layers = self.upload(model)?;
        super::self_check(model, &format!("cuda:{}", self.index), |s, n, out| {
            self.run(&layers, model, s, n, out)
        })?;
        self.models
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(*model.hash(), Arc::new(layers));
        Ok(())
    }

    fn preferred_batch(&self) -> usize {
        // A launch costs microseconds and a layer of a few thousand pixels does not fill
        // a large GPU: whole tiles per call, many tiles per decoding step.
        1 << 16
    }

    fn forward(
        &self,
        model: &Model,
        s: &mut BatchScratch,
        n: usize,
        out: &mut [i32],
    ) -> Result<()> {
        let layers = self.layers(model)?;
        self.run(&layers, model, s, n, out)
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
