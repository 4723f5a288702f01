//! The CPU backend: the scalar / AVX2 / VNNI kernels of `crate::kernels`.

use std::cell::RefCell;

use super::{Backend, Batch, RowLayout};
use crate::error::Result;
use crate::kernels::{forward_batch, input_layout, Level, Scratch};
use crate::model::Model;

/// The kernels at one SIMD level.
pub(crate) struct Cpu(pub(crate) Level);

thread_local! {
    // Activations of the calls on this thread: worker threads live as long as their pool,
    // so a batch allocates nothing once the buffers have grown.
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl Backend for Cpu {
    fn prepare(&self, _model: &Model) -> Result<()> {
        Ok(())
    }

    fn preferred_batch(&self) -> usize {
        // One tile row per call keeps activations in cache and rows parallel.
        1
    }

    fn layout(&self, model: &Model) -> RowLayout {
        let (stride, rows_multiple) = input_layout(model);
        RowLayout {
            stride,
            rows_multiple,
        }
    }

    fn forward(&self, model: &Model, batch: &mut Batch) -> Result<()> {
        let n = batch.len();
        let (rows, heads) = batch.io();
        SCRATCH.with_borrow_mut(|s| forward_batch(model, self.0, rows, n, heads, s));
        Ok(())
    }
}
