//! Integer network inference: the scalar reference (docs/FORMAT.md, "Network").
//!
//! Every fast path must produce exactly these outputs.

use crate::model::{Layer, Model};

/// `(acc * m + 2^(s-1)) >> s` in i64 with floor shift: the only rounding in the network.
#[inline(always)]
pub(crate) fn requant(acc: i32, mult: i32, shift: i32) -> i64 {
    (i64::from(acc) * i64::from(mult) + (1i64 << (shift - 1))) >> shift
}

/// Per-thread buffers for [`forward`].
pub(crate) struct Scratch {
    a: Vec<u8>,
    t1: Vec<u8>,
    t2: Vec<u8>,
    acc: Vec<i32>,
}

impl Scratch {
    pub(crate) fn new(model: &Model) -> Self {
        let w = model.arch().width as usize;
        Scratch {
            a: vec![0; w],
            t1: vec![0; w],
            t2: vec![0; w],
            acc: vec![0; w.max(model.arch().output_len())],
        }
    }
}

/// Accumulators `bias + W x` for one layer (exact in i32: |acc| <= n_in*255*64 + 2^24).
#[inline]
fn matvec<T: Copy + Into<i32>>(layer: &Layer, x: &[T], acc: &mut [i32]) {
    for (o, a) in acc[..layer.n_out].iter_mut().enumerate() {
        let row = &layer.weight[o * layer.n_in..(o + 1) * layer.n_in];
        let dot: i32 = row
            .iter()
            .zip(x)
            .map(|(&w, &v)| i32::from(w) * v.into())
            .sum();
        *a = layer.bias[o] + dot;
    }
}

#[inline]
fn relu_u8(layer: &Layer, acc: &[i32], out: &mut [u8]) {
    for (o, v) in out[..layer.n_out].iter_mut().enumerate() {
        *v = requant(acc[o], layer.mult[o], layer.shift[o]).clamp(0, 255) as u8;
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
    let layers = &model.layers;
    let n = layers.len();
    matvec(&layers[0], input, &mut s.acc);
    relu_u8(&layers[0], &s.acc, &mut s.a);
    trace(0, &s.a);
    for (b, block) in layers[1..n - 2].chunks_exact(3).enumerate() {
        matvec(&block[0], &s.a, &mut s.acc);
        relu_u8(&block[0], &s.acc, &mut s.t1);
        trace(1 + 3 * b, &s.t1);
        matvec(&block[1], &s.t1, &mut s.acc);
        relu_u8(&block[1], &s.acc, &mut s.t2);
        trace(2 + 3 * b, &s.t2);
        matvec(&block[2], &s.t2, &mut s.acc);
        let l = &block[2];
        for o in 0..l.n_out {
            let r = requant(s.acc[o], l.mult[o], l.shift[o]).clamp(-255, 255);
            s.a[o] = (i64::from(s.a[o]) + r).clamp(0, 255) as u8;
        }
        trace(3 + 3 * b, &s.a);
    }
    let hidden = &layers[n - 2];
    matvec(hidden, &s.a, &mut s.acc);
    relu_u8(hidden, &s.acc, &mut s.t1);
    trace(n - 2, &s.t1);
    let last = &layers[n - 1];
    matvec(last, &s.t1, &mut s.acc);
    for (o, v) in out[..last.n_out].iter_mut().enumerate() {
        *v = requant(s.acc[o], last.mult[o], last.shift[o]).clamp(-(1 << 23), 1 << 23) as i32;
    }
}
