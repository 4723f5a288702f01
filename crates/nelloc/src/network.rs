//! Integer network inference: the scalar reference (docs/FORMAT.md, "Network").
//!
//! Every fast path must produce exactly these outputs.

use crate::model::Model;
use crate::net::{Layer, Op};

/// Per-thread buffers for [`forward`]: the three activation vectors and the accumulators.
pub(crate) struct Scratch {
    bufs: [Vec<u8>; 3],
    acc: Vec<i32>,
}

impl Scratch {
    pub(crate) fn new(model: &Model) -> Self {
        let w = model.arch().width as usize;
        Scratch {
            bufs: [vec![0; w], vec![0; w], vec![0; w]],
            acc: vec![0; w.max(model.arch().output_len())],
        }
    }
}

/// Accumulators `W x` (without bias) of one layer (exact in i32: |acc| <= n_in*255*64).
#[inline]
fn matvec<T: Copy + Into<i32>>(layer: &Layer, x: &[T], acc: &mut [i32]) {
    for (o, a) in acc[..layer.n_out].iter_mut().enumerate() {
        let row = &layer.weight[o * layer.n_in..(o + 1) * layer.n_in];
        *a = row
            .iter()
            .zip(x)
            .map(|(&w, &v)| i32::from(w) * v.into())
            .sum();
    }
}

/// Runs the network on one context vector (`input[p*C + c]` = 2x-255, or 0 outside the
/// tile) and writes the head outputs (Q8) to `out`.
pub(crate) fn forward(model: &Model, input: &[i16], out: &mut [i32], s: &mut Scratch) {
    forward_traced(model, input, out, s, |_, _| {});
}

/// [`forward`], reporting each hidden activation vector (layer index, values) to `trace`
/// (for the conformance vectors).
pub(crate) fn forward_traced(
    model: &Model,
    input: &[i16],
    out: &mut [i32],
    s: &mut Scratch,
    mut trace: impl FnMut(usize, &[u8]),
) {
    for step in model.net().steps() {
        let l = step.layer;
        match step.op.src() {
            None => matvec(l, input, &mut s.acc),
            Some(src) => matvec(l, &s.bufs[src.index()], &mut s.acc),
        }
        let dst = match step.op {
            Op::Input { dst } | Op::Relu { dst, .. } => {
                let y = &mut s.bufs[dst.index()];
                (0..l.n_out).for_each(|o| y[o] = l.relu(o, s.acc[o]));
                dst
            }
            Op::Residual { dst, .. } => {
                let y = &mut s.bufs[dst.index()];
                (0..l.n_out).for_each(|o| y[o] = l.residual(o, s.acc[o], y[o]));
                dst
            }
            Op::Head { .. } => {
                (0..l.n_out).for_each(|o| out[o] = l.head(o, s.acc[o]));
                continue;
            }
        };
        trace(step.index, &s.bufs[dst.index()][..l.n_out]);
    }
}
