//! The integer network as data: its layers, their bounds, the one rounding rule, and the
//! typed topology every evaluator walks (docs/FORMAT.md, "Network").
//!
//! Nothing here evaluates anything: the scalar reference (`network.rs`), the batched
//! kernels (`kernels`), the accelerator backends and the ONNX export all follow
//! [`Topology::steps`], so the structure of the network is written down once.

mod packed;

pub(crate) use packed::{Packed, PackedLayer};

/// One integer layer: `y = rq(bias + W x)` with per-output multiplier and shift.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) n_in: usize,
    pub(crate) n_out: usize,
    /// Row-major `[n_out][n_in]`, values in [`WEIGHT_MIN`, `WEIGHT_MAX`].
    pub(crate) weight: Vec<i8>,
    pub(crate) bias: Vec<i32>,
    pub(crate) mult: Vec<i32>,
    pub(crate) shift: Vec<i32>,
}

// Bounds that make every accumulator provably fit in i32 and every product in i64.
/// Smallest weight a model file may hold.
pub(crate) const WEIGHT_MIN: i8 = -64;
/// Largest weight a model file may hold.
pub(crate) const WEIGHT_MAX: i8 = 63;
/// Largest bias magnitude a model file may hold.
pub(crate) const BIAS_LIMIT: i32 = 1 << 24;
/// Head outputs are clamped to +-2^23 (Q8).
pub(crate) const HEAD_LIMIT: i64 = 1 << 23;

/// `(acc * m + 2^(s-1)) >> s` in i64 with floor shift: the only rounding in the network.
#[inline(always)]
pub(crate) fn requant(acc: i32, mult: i32, shift: i32) -> i64 {
    (i64::from(acc) * i64::from(mult) + (1i64 << (shift - 1))) >> shift
}

impl Layer {
    /// Output `o` of a ReLU layer from its accumulator `W x` (without bias).
    #[inline(always)]
    pub(crate) fn relu(&self, o: usize, wx: i32) -> u8 {
        requant(wx + self.bias[o], self.mult[o], self.shift[o]).clamp(0, 255) as u8
    }

    /// Output `o` of a residual layer added to the skip activation `skip`.
    #[inline(always)]
    pub(crate) fn residual(&self, o: usize, wx: i32, skip: u8) -> u8 {
        let r = requant(wx + self.bias[o], self.mult[o], self.shift[o]).clamp(-255, 255);
        (i64::from(skip) + r).clamp(0, 255) as u8
    }

    /// Head output `o` (Q8).
    #[inline(always)]
    pub(crate) fn head(&self, o: usize, wx: i32) -> i32 {
        requant(wx + self.bias[o], self.mult[o], self.shift[o]).clamp(-HEAD_LIMIT, HEAD_LIMIT)
            as i32
    }
}

/// The layers of a network in their roles: the masked-conv input layer (the causal
/// context in), residual blocks of three layers, the hidden layer and the mixture head.
/// `L` is whatever an evaluator keeps per layer (the weights, their packed or uploaded
/// copies, a name and shape).
#[derive(Debug, Clone)]
pub(crate) struct Topology<L> {
    pub(crate) input: L,
    pub(crate) blocks: Vec<[L; 3]>,
    pub(crate) hidden: L,
    pub(crate) head: L,
}

/// One of the three activation buffers an evaluation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Buf {
    /// The trunk (input layer output, block outputs).
    A,
    /// First inner buffer (a block's first layer, the hidden layer).
    T1,
    /// Second inner buffer (a block's second layer).
    T2,
}

impl Buf {
    /// Position of the buffer in an evaluator's array of three.
    pub(crate) fn index(self) -> usize {
        match self {
            Buf::A => 0,
            Buf::T1 => 1,
            Buf::T2 => 2,
        }
    }
}

/// What a step does with its layer's accumulators `acc = bias + W x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `dst = clamp(rq(acc), 0, 255)` with `x` the signed context (i16).
    Input { dst: Buf },
    /// `dst = clamp(rq(acc), 0, 255)` with `x = src`.
    Relu { src: Buf, dst: Buf },
    /// `dst = clamp(dst + clamp(rq(acc), -255, 255), 0, 255)` with `x = src`.
    Residual { src: Buf, dst: Buf },
    /// The head outputs `clamp(rq(acc), -2^23, 2^23)` with `x = src`.
    Head { src: Buf },
}

impl Op {
    /// The activation buffer the layer reads (`None`: the context input).
    pub(crate) fn src(self) -> Option<Buf> {
        match self {
            Op::Input { .. } => None,
            Op::Relu { src, .. } | Op::Residual { src, .. } | Op::Head { src } => Some(src),
        }
    }
}

/// One layer evaluation of [`Topology::steps`]. `index` is the layer's position in
/// evaluation order (the index of [`Topology::layers`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step<'a, L> {
    pub(crate) index: usize,
    pub(crate) layer: &'a L,
    pub(crate) op: Op,
}

impl<L> Topology<L> {
    /// Number of layers.
    #[cfg_attr(not(any(test, feature = "unstable-internals")), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        3 * self.blocks.len() + 3
    }

    /// The layers in evaluation order.
    pub(crate) fn layers(&self) -> impl Iterator<Item = &L> {
        std::iter::once(&self.input)
            .chain(self.blocks.iter().flatten())
            .chain([&self.hidden, &self.head])
    }

    /// The layers in evaluation order, mutably.
    #[cfg(test)]
    pub(crate) fn layers_mut(&mut self) -> impl Iterator<Item = &mut L> {
        std::iter::once(&mut self.input)
            .chain(self.blocks.iter_mut().flatten())
            .chain([&mut self.hidden, &mut self.head])
    }

    /// The same topology with `f` applied to every layer (in evaluation order); the first
    /// error stops it.
    pub(crate) fn try_map<M, E>(
        &self,
        mut f: impl FnMut(&L) -> Result<M, E>,
    ) -> Result<Topology<M>, E> {
        let input = f(&self.input)?;
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for [a, b, c] in &self.blocks {
            blocks.push([f(a)?, f(b)?, f(c)?]);
        }
        Ok(Topology {
            input,
            blocks,
            hidden: f(&self.hidden)?,
            head: f(&self.head)?,
        })
    }

    /// The same topology with `f` applied to every layer.
    #[cfg(test)]
    pub(crate) fn map<M>(&self, mut f: impl FnMut(&L) -> M) -> Topology<M> {
        self.try_map(|l| Ok::<M, std::convert::Infallible>(f(l)))
            .unwrap_or_else(|never| match never {})
    }

    /// The evaluation: the input layer into `A`; per block `A -> T1 -> T2`, added back
    /// into `A`; the hidden layer `A -> T1`; the head from `T1`.
    pub(crate) fn steps(&self) -> impl Iterator<Item = Step<'_, L>> {
        let ops = std::iter::once(Op::Input { dst: Buf::A })
            .chain(self.blocks.iter().flat_map(|_| {
                [
                    Op::Relu {
                        src: Buf::A,
                        dst: Buf::T1,
                    },
                    Op::Relu {
                        src: Buf::T1,
                        dst: Buf::T2,
                    },
                    Op::Residual {
                        src: Buf::T2,
                        dst: Buf::A,
                    },
                ]
            }))
            .chain([
                Op::Relu {
                    src: Buf::A,
                    dst: Buf::T1,
                },
                Op::Head { src: Buf::T1 },
            ]);
        self.layers()
            .zip(ops)
            .enumerate()
            .map(|(index, (layer, op))| Step { index, layer, op })
    }
}

/// A layer's name in model files and its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LayerSpec {
    pub(crate) name: String,
    pub(crate) n_in: usize,
    pub(crate) n_out: usize,
}

impl Topology<LayerSpec> {
    /// Names and shapes of a network with `input_len` inputs, hidden width `width`,
    /// `res_blocks` residual blocks and `output_len` head outputs.
    pub(crate) fn spec(
        input_len: usize,
        width: usize,
        res_blocks: usize,
        output_len: usize,
    ) -> Self {
        let spec = |name: String, n_in, n_out| LayerSpec { name, n_in, n_out };
        Topology {
            input: spec("conv_in".into(), input_len, width),
            blocks: (0..res_blocks)
                .map(|b| [0, 1, 2].map(|i| spec(format!("res{b}_{i}"), width, width)))
                .collect(),
            hidden: spec("hidden".into(), width, width),
            head: spec("out".into(), width, output_len),
        }
    }
}

impl Topology<Layer> {
    /// Number of parameters (weights and biases).
    pub(crate) fn parameters(&self) -> usize {
        self.layers().map(|l| l.weight.len() + l.n_out).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_visits_every_layer_once_in_order() {
        let t = Topology::spec(72, 8, 2, 100);
        let names: Vec<&str> = t.steps().map(|s| s.layer.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "conv_in", "res0_0", "res0_1", "res0_2", "res1_0", "res1_1", "res1_2", "hidden",
                "out"
            ]
        );
        assert_eq!(t.len(), names.len());
        assert!(t.steps().enumerate().all(|(i, s)| s.index == i));
        let ops: Vec<Op> = t.steps().map(|s| s.op).collect();
        assert_eq!(ops[0], Op::Input { dst: Buf::A });
        assert_eq!(
            ops[3],
            Op::Residual {
                src: Buf::T2,
                dst: Buf::A
            }
        );
        assert_eq!(ops[8], Op::Head { src: Buf::T1 });
        // Every step reads what an earlier step wrote.
        let mut written = vec![];
        for op in ops {
            match op {
                Op::Input { dst } => written.push(dst),
                Op::Relu { src, dst } | Op::Residual { src, dst } => {
                    assert!(written.contains(&src));
                    written.push(dst);
                }
                Op::Head { src } => assert!(written.contains(&src)),
            }
        }
    }

    #[test]
    fn map_keeps_the_roles() {
        let t = Topology::spec(10, 4, 1, 7);
        let shapes = t.map(|l| (l.n_in, l.n_out));
        assert_eq!(shapes.input, (10, 4));
        assert_eq!(shapes.blocks, vec![[(4, 4); 3]]);
        assert_eq!(shapes.head, (4, 7));
        let err: Result<Topology<()>, &str> = t.try_map(|l| {
            if l.name == "hidden" {
                Err("stop")
            } else {
                Ok(())
            }
        });
        assert_eq!(err.err(), Some("stop"));
    }
}
