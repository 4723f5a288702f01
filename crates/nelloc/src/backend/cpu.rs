//! The CPU backend: the scalar / AVX2 / VNNI kernels of `crate::kernels`.

use super::Backend;
use crate::error::Result;
use crate::kernels::{forward_batch, BatchScratch, Level};
use crate::model::Model;

/// The kernels at one SIMD level.
pub(crate) struct Cpu(pub(crate) Level);

impl Backend for Cpu {
    fn prepare(&self, _model: &Model) -> Result<()> {
        Ok(())
    }

    fn preferred_batch(&self) -> usize {
        // One tile row per call keeps activations in cache and rows parallel.
        1
    }

    fn forward(
        &self,
        model: &Model,
        s: &mut BatchScratch,
        n: usize,
        out: &mut [i32],
    ) -> Result<()> {
        forward_batch(model, self.0, n, out, s);
        Ok(())
    }
}
