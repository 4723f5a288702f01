//! The backend-neutral input and output of one network evaluation.

use crate::model::Model;

/// How a backend wants its input rows laid out: `stride` values per row (the context's
/// `input_len` values, then zeros) and the row count rounded up to `rows_multiple`.
/// Only the backend reads it; the engine passes it from [`super::Backend::layout`] to
/// [`Batch::reset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowLayout {
    pub(crate) stride: usize,
    pub(crate) rows_multiple: usize,
}

/// Contexts of a batch of pixels in, head vectors out.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    inputs: Vec<i16>,
    heads: Vec<i32>,
    n: usize,
    input_len: usize,
    output_len: usize,
    layout: Option<RowLayout>,
}

impl Batch {
    /// Prepares `n` rows for `model` in `layout`: fill them with [`Batch::row_mut`], then
    /// call the backend. Values past a row's context stay zero.
    pub(crate) fn reset(&mut self, model: &Model, layout: RowLayout, n: usize) {
        let (l, o) = (model.arch().input_len(), model.arch().output_len());
        assert!(layout.stride >= l && layout.rows_multiple >= 1);
        if self.layout != Some(layout) || self.input_len != l {
            // Another shape: the old rows' padding would not be zero.
            self.inputs.clear();
        }
        let len = n.max(1).div_ceil(layout.rows_multiple) * layout.rows_multiple * layout.stride;
        if self.inputs.len() < len {
            self.inputs.resize(len, 0);
        }
        self.heads.resize(n * o, 0);
        (self.n, self.input_len, self.output_len) = (n, l, o);
        self.layout = Some(layout);
    }

    /// Number of pixels.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// The context of pixel `p` (`input_len` values) to fill.
    pub(crate) fn row_mut(&mut self, p: usize) -> &mut [i16] {
        let stride = self.stride();
        &mut self.inputs[p * stride..][..self.input_len]
    }

    /// Values per row.
    pub(crate) fn stride(&self) -> usize {
        self.layout.map_or(0, |l| l.stride)
    }

    /// Every row (padding rows included), `stride` values each.
    #[cfg_attr(not(any(feature = "ort", feature = "cuda")), allow(dead_code))]
    pub(crate) fn rows(&self) -> &[i16] {
        &self.inputs
    }

    /// The head vector of pixel `p`, once a backend has run.
    pub(crate) fn head(&self, p: usize) -> &[i32] {
        &self.heads[p * self.output_len..][..self.output_len]
    }

    /// Every head vector (`n * output_len` values).
    #[cfg_attr(not(any(feature = "ort", feature = "cuda")), allow(dead_code))]
    pub(crate) fn heads(&self) -> &[i32] {
        &self.heads
    }

    /// The rows to read and the heads to write, for a backend.
    pub(crate) fn io(&mut self) -> (&[i16], &mut [i32]) {
        (&self.inputs, &mut self.heads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{synthetic, Arch};

    #[test]
    fn rows_keep_zero_padding_across_shapes() {
        let m = Model::from_bytes(&synthetic(Arch::new(1, 1, 4, 0, 1), 1, "b")).unwrap();
        let l = m.arch().input_len();
        let mut b = Batch::default();
        let wide = RowLayout {
            stride: l + 3,
            rows_multiple: 4,
        };
        b.reset(&m, wide, 3);
        for p in 0..3 {
            b.row_mut(p).fill(7);
        }
        assert_eq!(b.rows().len(), 4 * (l + 3));
        assert!(b.rows()[l..l + 3].iter().all(|&v| v == 0));
        let dense = RowLayout {
            stride: l,
            rows_multiple: 1,
        };
        b.reset(&m, dense, 2);
        assert!(
            b.rows().iter().all(|&v| v == 0),
            "a new layout starts clean"
        );
        assert_eq!(b.heads().len(), 2 * m.arch().output_len());
    }
}
