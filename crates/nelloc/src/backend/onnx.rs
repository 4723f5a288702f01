//! The integer network as an ONNX graph (`nlc export-onnx`), using only operators whose
//! results are exact: `MatMulInteger` (u8 activations x i8 weights, i32 sums; exact
//! because weights are in [-64, 63]), int64 `Add`/`Mul`/`Sub`, `Div` of non-negative
//! operands (truncation = floor), `Clip` and `Cast`.
//!
//! The first layer's signed input `x = 2p - 255` (0 outside the tile) is split exactly:
//! `W x = 2 W p - 255 W m` with `p` the u8 pixels (0 outside) and `m` the inside-the-tile
//! mask, both graph inputs ([`INPUT_PIXELS`], [`INPUT_INSIDE`], u8 `[N, input_len]`). The
//! output [`OUTPUT_HEAD`] is i32 `[N, output_len]`, equal to the reference network.
//!
//! Requantisation `floor((acc * m + 2^(s-1)) / 2^s)` becomes
//! `(acc * m + 2^(s-1) + 2^62) / 2^s - 2^(62-s)`: the offset keeps the dividend
//! non-negative (|acc * m| < 2^56 by the model bounds), so integer division truncates
//! to the floor.
//!
//! The protobuf is written here by hand: only the handful of ONNX messages a graph needs.

use crate::model::Model;
use crate::net::{Layer, Op, HEAD_LIMIT};

/// Graph input: u8 pixel values of the context (0 outside the tile).
pub const INPUT_PIXELS: &str = "pixels";
/// Graph input: u8 1 inside the tile, 0 outside.
pub const INPUT_INSIDE: &str = "inside";
/// Graph output: i32 head values (Q8), as `network::forward`.
pub const OUTPUT_HEAD: &str = "head";
/// ONNX opset of the default domain the graph uses.
pub const OPSET: i64 = 13;

// ONNX TensorProto.DataType values.
const UINT8: i64 = 2;
const INT8: i64 = 3;
const INT32: i64 = 6;
const INT64: i64 = 7;

/// Protobuf wire-format writer (varints and length-delimited fields only).
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn int(&mut self, field: u32, v: i64) {
        self.varint(u64::from(field) << 3);
        self.varint(v as u64);
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.varint((u64::from(field) << 3) | 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    fn msg(&mut self, field: u32, m: Pb) {
        self.bytes(field, &m.0);
    }
}

/// A tensor constant (TensorProto: dims 1, data_type 2, name 8, raw_data 9).
fn tensor(name: &str, dtype: i64, dims: &[i64], raw: &[u8]) -> Pb {
    let mut t = Pb::default();
    for &d in dims {
        t.int(1, d);
    }
    t.int(2, dtype);
    t.str(8, name);
    t.bytes(9, raw);
    t
}

/// ValueInfoProto of a tensor with shape `[N, cols]` (N symbolic).
fn value_info(name: &str, dtype: i64, cols: i64) -> Pb {
    let mut dims = Pb::default();
    let mut n = Pb::default();
    n.str(2, "N");
    dims.msg(1, n);
    let mut c = Pb::default();
    c.int(1, cols);
    dims.msg(1, c);
    let mut tt = Pb::default();
    tt.int(1, dtype);
    tt.msg(2, dims);
    let mut ty = Pb::default();
    ty.msg(1, tt);
    let mut v = Pb::default();
    v.str(1, name);
    v.msg(2, ty);
    v
}

/// Builds the graph: nodes and initializers, with unique names.
struct Graph {
    nodes: Vec<Pb>,
    inits: Vec<Pb>,
    next: usize,
}

impl Graph {
    fn name(&mut self, what: &str) -> String {
        self.next += 1;
        format!("{what}_{}", self.next)
    }

    /// Adds a node (NodeProto: input 1, output 2, name 3, op_type 4, attribute 5) and
    /// returns its output's name.
    fn node(&mut self, op: &str, inputs: &[&str], attr_to: Option<i64>) -> String {
        let out = self.name(op);
        let mut n = Pb::default();
        for i in inputs {
            n.str(1, i);
        }
        n.str(2, &out);
        n.str(3, &out);
        n.str(4, op);
        if let Some(to) = attr_to {
            // AttributeProto: name 1, i 3, type 20 (INT = 2).
            let mut a = Pb::default();
            a.str(1, "to");
            a.int(3, to);
            a.int(20, 2);
            n.msg(5, a);
        }
        self.nodes.push(n);
        out
    }

    fn init_i64(&mut self, what: &str, v: &[i64], dims: &[i64]) -> String {
        let name = self.name(what);
        let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.inits.push(tensor(&name, INT64, dims, &raw));
        name
    }

    fn scalar(&mut self, what: &str, v: i64) -> String {
        self.init_i64(what, &[v], &[])
    }

    /// The layer's weights transposed to `[n_in, n_out]` i8 for `MatMulInteger`.
    fn weights(&mut self, layer: &Layer) -> String {
        let name = self.name("weight");
        let mut raw = Vec::with_capacity(layer.n_in * layer.n_out);
        for i in 0..layer.n_in {
            for o in 0..layer.n_out {
                raw.push(layer.weight[o * layer.n_in + i] as u8);
            }
        }
        self.inits.push(tensor(
            &name,
            INT8,
            &[layer.n_in as i64, layer.n_out as i64],
            &raw,
        ));
        name
    }

    /// `MatMulInteger(x, W^T)` as int64.
    fn matmul(&mut self, x: &str, w: &str) -> String {
        let mm = self.node("MatMulInteger", &[x, w], None);
        self.node("Cast", &[&mm], Some(INT64))
    }

    /// `floor(((acc + bias) * mult + 2^(s-1)) / 2^s)` per output, int64.
    fn requant(&mut self, acc: &str, layer: &Layer) -> String {
        let n = layer.n_out as i64;
        let bias: Vec<i64> = layer.bias.iter().map(|&b| i64::from(b)).collect();
        let mult: Vec<i64> = layer.mult.iter().map(|&m| i64::from(m)).collect();
        let add: Vec<i64> = layer
            .shift
            .iter()
            .map(|&s| (1i64 << (s - 1)) + (1i64 << 62))
            .collect();
        let div: Vec<i64> = layer.shift.iter().map(|&s| 1i64 << s).collect();
        let sub: Vec<i64> = layer.shift.iter().map(|&s| 1i64 << (62 - s)).collect();
        let (b, m, a, d, s) = (
            self.init_i64("bias", &bias, &[n]),
            self.init_i64("mult", &mult, &[n]),
            self.init_i64("round", &add, &[n]),
            self.init_i64("div", &div, &[n]),
            self.init_i64("offset", &sub, &[n]),
        );
        let v = self.node("Add", &[acc, &b], None);
        let v = self.node("Mul", &[&v, &m], None);
        let v = self.node("Add", &[&v, &a], None);
        let v = self.node("Div", &[&v, &d], None);
        self.node("Sub", &[&v, &s], None)
    }

    fn clip(&mut self, v: &str, lo: i64, hi: i64) -> String {
        let (l, h) = (self.scalar("lo", lo), self.scalar("hi", hi));
        self.node("Clip", &[v, &l, &h], None)
    }

    /// ReLU layer with u8 output.
    fn relu_u8(&mut self, acc: &str, layer: &Layer) -> String {
        let r = self.requant(acc, layer);
        let c = self.clip(&r, 0, 255);
        self.node("Cast", &[&c], Some(UINT8))
    }
}

/// The model as a serialized ONNX `ModelProto` (see the module documentation).
pub fn export(model: &Model) -> Vec<u8> {
    let arch = model.arch();
    let mut g = Graph {
        nodes: Vec::new(),
        inits: Vec::new(),
        next: 0,
    };
    // Node names of the three activation buffers, and of the head's last two values.
    let mut bufs: [String; 3] = Default::default();
    let (mut r, mut head) = (String::new(), String::new());
    for step in model.net().steps() {
        let l = step.layer;
        let w = g.weights(l);
        match step.op {
            Op::Input { dst } => {
                // 2 W p - 255 W m.
                let wp = g.matmul(INPUT_PIXELS, &w);
                let wm = g.matmul(INPUT_INSIDE, &w);
                let two = g.scalar("two", 2);
                let k255 = g.scalar("k255", 255);
                let wp2 = g.node("Mul", &[&wp, &two], None);
                let wm255 = g.node("Mul", &[&wm, &k255], None);
                let acc = g.node("Sub", &[&wp2, &wm255], None);
                bufs[dst.index()] = g.relu_u8(&acc, l);
            }
            Op::Relu { src, dst } => {
                let acc = g.matmul(&bufs[src.index()], &w);
                bufs[dst.index()] = g.relu_u8(&acc, l);
            }
            Op::Residual { src, dst } => {
                let acc = g.matmul(&bufs[src.index()], &w);
                let r = g.requant(&acc, l);
                let r = g.clip(&r, -255, 255);
                let a64 = g.node("Cast", &[&bufs[dst.index()]], Some(INT64));
                let sum = g.node("Add", &[&a64, &r], None);
                let sum = g.clip(&sum, 0, 255);
                bufs[dst.index()] = g.node("Cast", &[&sum], Some(UINT8));
            }
            Op::Head { src } => {
                let acc = g.matmul(&bufs[src.index()], &w);
                let q = g.requant(&acc, l);
                r = g.clip(&q, -HEAD_LIMIT, HEAD_LIMIT);
                head = g.node("Cast", &[&r], Some(INT32));
            }
        }
    }
    // The last node's output gets the public name.
    let last = g.nodes.len() - 1;
    let mut renamed = Pb::default();
    renamed.str(1, &r);
    renamed.str(2, OUTPUT_HEAD);
    renamed.str(3, &head);
    renamed.str(4, "Cast");
    let mut to = Pb::default();
    to.str(1, "to");
    to.int(3, INT32);
    to.int(20, 2);
    renamed.msg(5, to);
    g.nodes[last] = renamed;

    // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
    let mut graph = Pb::default();
    for n in g.nodes {
        graph.msg(1, n);
    }
    graph.str(2, &format!("nelloc {}", model.name()));
    for t in g.inits {
        graph.msg(5, t);
    }
    let l = arch.input_len() as i64;
    graph.msg(11, value_info(INPUT_PIXELS, UINT8, l));
    graph.msg(11, value_info(INPUT_INSIDE, UINT8, l));
    graph.msg(12, value_info(OUTPUT_HEAD, INT32, arch.output_len() as i64));
    // ModelProto: ir_version 1, producer_name 2, producer_version 3, doc_string 6,
    // graph 7, opset_import 8 (domain 1, version 2).
    let mut m = Pb::default();
    m.int(1, 7);
    m.str(2, "nelloc");
    m.str(3, env!("CARGO_PKG_VERSION"));
    m.str(
        6,
        &format!(
            "integer network of nelloc model {} (sha256 {}); exact: see docs/FORMAT.md",
            model.name(),
            model.hash_hex()
        ),
    );
    m.msg(7, graph);
    let mut opset = Pb::default();
    opset.str(1, "");
    opset.int(2, OPSET);
    m.msg(8, opset);
    m.0
}

/// Splits signed contexts (`2p - 255`, or 0 outside the tile) of `n` rows of `l` values
/// (row stride `stride`) into the graph's u8 pixel and mask inputs.
#[cfg_attr(not(feature = "ort"), allow(dead_code))]
pub(crate) fn split_inputs(rows: &[i16], stride: usize, n: usize, l: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = Vec::with_capacity(n * l);
    let mut inside = Vec::with_capacity(n * l);
    for p in 0..n {
        for &x in &rows[p * stride..p * stride + l] {
            // 2p - 255 is odd, so 0 only ever means outside the tile.
            let inn = x != 0;
            inside.push(u8::from(inn));
            pixels.push(if inn { ((x + 255) / 2) as u8 } else { 0 });
        }
    }
    (pixels, inside)
}

/// The graph's arithmetic evaluated here in Rust, operation by operation, with the same
/// input split, to check the graph's construction against the reference network without
/// ONNX Runtime.
#[cfg(test)]
pub(crate) fn evaluate_like_graph(model: &Model, pixels: &[u8], inside: &[u8]) -> Vec<i32> {
    let rq = |acc: i64, l: &Layer, o: usize| -> i64 {
        let s = l.shift[o];
        ((acc + i64::from(l.bias[o])) * i64::from(l.mult[o]) + (1i64 << (s - 1)) + (1i64 << 62))
            / (1i64 << s)
            - (1i64 << (62 - s))
    };
    let mm = |x: &[u8], l: &Layer, o: usize| -> i64 {
        x.iter()
            .zip(&l.weight[o * l.n_in..(o + 1) * l.n_in])
            .map(|(&v, &w)| i64::from(v) * i64::from(w))
            .sum()
    };
    let relu = |x: &[u8], l: &Layer| -> Vec<u8> {
        (0..l.n_out)
            .map(|o| rq(mm(x, l, o), l, o).clamp(0, 255) as u8)
            .collect()
    };
    let mut bufs: [Vec<u8>; 3] = Default::default();
    let mut head = Vec::new();
    for step in model.net().steps() {
        let l = step.layer;
        match step.op {
            Op::Input { dst } => {
                bufs[dst.index()] = (0..l.n_out)
                    .map(|o| rq(2 * mm(pixels, l, o) - 255 * mm(inside, l, o), l, o))
                    .map(|v| v.clamp(0, 255) as u8)
                    .collect();
            }
            Op::Relu { src, dst } => bufs[dst.index()] = relu(&bufs[src.index()], l),
            Op::Residual { src, dst } => {
                bufs[dst.index()] = (0..l.n_out)
                    .map(|o| {
                        let r = rq(mm(&bufs[src.index()], l, o), l, o).clamp(-255, 255);
                        (i64::from(bufs[dst.index()][o]) + r).clamp(0, 255) as u8
                    })
                    .collect();
            }
            Op::Head { src } => {
                head = (0..l.n_out)
                    .map(|o| rq(mm(&bufs[src.index()], l, o), l, o))
                    .map(|v| v.clamp(-HEAD_LIMIT, HEAD_LIMIT) as i32)
                    .collect();
            }
        }
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{synthetic, Arch};
    use crate::network::{forward, Scratch};

    #[test]
    fn the_graphs_arithmetic_matches_the_reference_network() {
        for (i, arch) in [
            Arch::new(3, 3, 24, 1, 10),
            Arch::new(2, 1, 16, 0, 4),
            Arch::new(1, 3, 9, 2, 3),
        ]
        .into_iter()
        .enumerate()
        {
            let model = Model::from_bytes(&synthetic(arch, 40 + i as u64, "onnx")).unwrap();
            let (ctx, n) = crate::backend::check_contexts(&model);
            let (l, o) = (arch.input_len(), arch.output_len());
            let (p, m) = split_inputs(&ctx, l, n, l);
            let mut s = Scratch::new(&model);
            for px in 0..n {
                let mut expected = vec![0; o];
                forward(&model, &ctx[px * l..(px + 1) * l], &mut expected, &mut s);
                let got = evaluate_like_graph(&model, &p[px * l..][..l], &m[px * l..][..l]);
                assert_eq!(got, expected, "arch {arch:?} context {px}");
            }
        }
    }

    #[test]
    fn the_protobuf_has_the_expected_structure() {
        let model = Model::from_bytes(&synthetic(Arch::new(2, 1, 8, 1, 2), 3, "pb")).unwrap();
        let bytes = export(&model);
        // ModelProto starts with ir_version = 7 (field 1, varint).
        assert_eq!(&bytes[..2], &[0x08, 7]);
        let count = |needle: &[u8]| bytes.windows(needle.len()).filter(|w| *w == needle).count();
        // Each MatMulInteger node: its op_type, its output and node name, and the Cast
        // that reads it; one per layer (six here) plus one for the mask.
        assert_eq!(count(b"MatMulInteger"), 4 * (6 + 1));
        // The output: the last node's output and the graph output.
        assert_eq!(count(OUTPUT_HEAD.as_bytes()), 2);
        assert!(count(INPUT_PIXELS.as_bytes()) >= 2);
    }
}
