//! Batched network evaluation: many pixels per call, with runtime-dispatched SIMD
//! kernels. Every kernel is bit-identical to the scalar reference in `network.rs`
//! (tests below run each level the machine supports against it).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use std::sync::OnceLock;

use crate::model::Model;
use crate::net::{Layer, Op, PackedLayer};

/// Instruction-set levels with an exact kernel, lowest first. The SIMD variants carry a
/// token that only run-time feature detection creates (`avx2::Avx2`, `avx512::Avx512Bw`,
/// `avx2::AvxVnni`, `avx2::Vnni`, `avx512::VnniZmm`): holding a `Level` is proof that its
/// kernels may run here.
///
/// [`Level::detect`] picks the highest level the CPU has; `NELLOC_SIMD=<name>` caps it at
/// the named level (the highest available level at or below it in this order):
///
/// | `NELLOC_SIMD` | level | GEMM instructions | needs |
/// |---|---|---|---|
/// | `scalar` | `Scalar` | none (the reference loops) | nothing |
/// | `avx2` | `Avx2` | `vpmaddubsw` + `vpmaddwd` on ymm | AVX2 |
/// | `avx512bw` | `Avx512Bw` | `vpmaddubsw` + `vpmaddwd` on zmm | AVX-512 F, BW, VL |
/// | `avxvnni` | `AvxVnni` | VEX `vpdpbusd` / `vpdpwssd` on ymm | AVX-VNNI |
/// | `avx512vnni-ymm` | `Avx512VnniYmm` | EVEX `vpdpbusd` / `vpdpwssd` on ymm | AVX-512 F, VL, VNNI |
/// | `avx512vnni-zmm` (or `avx512vnni`) | `Avx512VnniZmm` | `vpdpbusd` / `vpdpwssd` on zmm | AVX-512 F, BW, VL, VNNI |
/// | `best`, unset or anything else | the highest available | | |
///
/// Every level gives the same bits; the cap is for comparisons and for working around a
/// suspected kernel bug. On WebAssembly the only SIMD level is `Simd128` (a build-time
/// choice); there only `scalar` caps anything.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Avx2),
    /// AVX-512 BW without VNNI (Skylake-SP class): the AVX2 instruction mix on zmm.
    #[cfg(target_arch = "x86_64")]
    Avx512Bw(avx512::Avx512Bw),
    /// AVX-VNNI: VEX-encoded 256-bit VNNI (Intel client cores without AVX-512).
    #[cfg(target_arch = "x86_64")]
    AvxVnni(avx2::AvxVnni),
    /// AVX2 plus AVX-512 VNNI on 256-bit vectors (vpdpbusd / vpdpwssd); kept for CPUs
    /// with 256-bit datapaths (Zen 4), where zmm brings no more multiplies per cycle.
    #[cfg(target_arch = "x86_64")]
    Avx512VnniYmm(avx2::Vnni),
    /// AVX-512 VNNI on 512-bit vectors.
    #[cfg(target_arch = "x86_64")]
    Avx512VnniZmm(avx512::VnniZmm),
    /// WebAssembly SIMD128 (a build-time choice: wasm has no run-time detection).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128(simd128::Simd128),
}

impl std::fmt::Debug for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Level::Scalar => "Scalar",
            #[cfg(target_arch = "x86_64")]
            Level::Avx2(_) => "Avx2",
            #[cfg(target_arch = "x86_64")]
            Level::Avx512Bw(_) => "Avx512Bw",
            #[cfg(target_arch = "x86_64")]
            Level::AvxVnni(_) => "AvxVnni",
            #[cfg(target_arch = "x86_64")]
            Level::Avx512VnniYmm(_) => "Avx512VnniYmm",
            #[cfg(target_arch = "x86_64")]
            Level::Avx512VnniZmm(_) => "Avx512VnniZmm",
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Level::Simd128(_) => "Simd128",
        })
    }
}

/// The `NELLOC_SIMD` names of the levels, lowest first (the order of [`Level::rank`]).
pub(crate) const NAMES: [&str; 6] = [
    "scalar",
    "avx2",
    "avx512bw",
    "avxvnni",
    "avx512vnni-ymm",
    "avx512vnni-zmm",
];

impl Level {
    /// The best level this CPU supports, capped by `NELLOC_SIMD` (see [`Level`]).
    pub(crate) fn detect() -> Level {
        static LEVEL: OnceLock<Level> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            let cap = std::env::var("NELLOC_SIMD").unwrap_or_default();
            Level::capped(&cap)
        })
    }

    /// The highest available level at or below the one named `cap` (any name that is not
    /// a level's: no cap).
    fn capped(cap: &str) -> Level {
        let cap = match cap {
            "avx512vnni" => NAMES.len() - 1,
            _ => NAMES.iter().position(|&n| n == cap).unwrap_or(usize::MAX),
        };
        Level::all()
            .into_iter()
            .rfind(|l| l.rank() <= cap)
            .unwrap_or(Level::Scalar)
    }

    /// Position in the order of `NAMES` (the SIMD128 level ranks above scalar only).
    fn rank(self) -> usize {
        match self {
            Level::Scalar => 0,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2(_) => 1,
            #[cfg(target_arch = "x86_64")]
            Level::Avx512Bw(_) => 2,
            #[cfg(target_arch = "x86_64")]
            Level::AvxVnni(_) => 3,
            #[cfg(target_arch = "x86_64")]
            Level::Avx512VnniYmm(_) => 4,
            #[cfg(target_arch = "x86_64")]
            Level::Avx512VnniZmm(_) => 5,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Level::Simd128(_) => 1,
        }
    }

    /// Every level usable here, reference first, in ascending order.
    fn all() -> Vec<Level> {
        #[allow(unused_mut)] // targets without SIMD levels add nothing
        let mut v = vec![Level::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            v.extend(avx2::Avx2::detect().map(Level::Avx2));
            v.extend(avx512::Avx512Bw::detect().map(Level::Avx512Bw));
            v.extend(avx2::AvxVnni::detect().map(Level::AvxVnni));
            v.extend(avx2::Vnni::detect().map(Level::Avx512VnniYmm));
            v.extend(avx512::VnniZmm::detect().map(Level::Avx512VnniZmm));
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        v.extend(simd128::Simd128::detect().map(Level::Simd128));
        v
    }

    /// Every level usable here, reference first (for tests and benchmarks).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Level> {
        Level::all()
    }

    /// Whether the level runs zmm code (so the mixture's zmm kernels may too; a
    /// `NELLOC_SIMD` cap below zmm keeps them off).
    pub(crate) fn zmm(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return self.avx512bw().is_some();
        #[cfg(not(target_arch = "x86_64"))]
        return false;
    }

    /// The AVX-512 BW token of a zmm level (their requantisation kernels are zmm too).
    #[cfg(target_arch = "x86_64")]
    fn avx512bw(self) -> Option<avx512::Avx512Bw> {
        match self {
            Level::Avx512Bw(t) => Some(t),
            Level::Avx512VnniZmm(t) => Some(t.avx512bw()),
            _ => None,
        }
    }

    /// The AVX2 token of an x86-64 SIMD level (every one implies AVX2; the requantisation
    /// kernels are AVX2).
    #[cfg(target_arch = "x86_64")]
    fn avx2(self) -> Option<avx2::Avx2> {
        match self {
            Level::Scalar => None,
            Level::Avx2(t) => Some(t),
            Level::Avx512Bw(t) => Some(t.avx2()),
            Level::AvxVnni(t) => Some(t.avx2()),
            Level::Avx512VnniYmm(t) => Some(t.avx2()),
            Level::Avx512VnniZmm(t) => Some(t.avx512bw().avx2()),
        }
    }
}

/// Pixels per kernel block (batches are padded to a multiple of it).
pub(crate) const PIXEL_BLOCK: usize = 4;

/// What the SIMD ReLU requantisations of the first `outputs` outputs of `n` pixels load and
/// store: `acc` rows of `out_pad`, `y` rows of `y_stride`, and the packed tables. Panics
/// when a bound fails (the unsafe loops rely on every one).
#[cfg(target_arch = "x86_64")]
fn assert_relu_bounds(
    p: &PackedLayer,
    acc: &[i32],
    n: usize,
    outputs: usize,
    y: &[u8],
    y_stride: usize,
) {
    assert!(outputs <= p.out_pad && acc.len() >= n * p.out_pad);
    assert!(n == 0 || y.len() >= (n - 1) * y_stride + outputs);
    assert_rq_tables(p, outputs, false);
}

/// What the SIMD head requantisations of the first `outputs` outputs of one pixel load and
/// store; `with_off`: the kernel also reads `rq_off`.
#[cfg(target_arch = "x86_64")]
fn assert_head_bounds(p: &PackedLayer, acc: &[i32], outputs: usize, out: &[i32], with_off: bool) {
    assert!(acc.len() >= outputs && out.len() >= outputs);
    assert_rq_tables(p, outputs, with_off);
}

/// The requantisation tables hold the first `outputs` outputs.
#[cfg(target_arch = "x86_64")]
fn assert_rq_tables(p: &PackedLayer, outputs: usize, with_off: bool) {
    assert!(p.rq_bias.len() >= outputs && p.rq_mult.len() >= outputs);
    assert!(p.rq_shift.len() >= outputs && p.rq_round.len() >= outputs);
    assert!(!with_off || p.rq_off.len() >= outputs);
}

fn round_up(v: usize, m: usize) -> usize {
    v.div_ceil(m) * m
}

/// Activation and accumulator buffers of [`forward_batch`], reused across calls.
#[derive(Default)]
pub(crate) struct Scratch {
    bufs: [Vec<u8>; 3],
    acc: Vec<i32>,
    /// The u8 contexts of the VNNI input layer, and the rows it cannot take (any even
    /// value) with their i16 contexts and activations.
    #[cfg(target_arch = "x86_64")]
    x8: Vec<u8>,
    #[cfg(target_arch = "x86_64")]
    odd_out: Vec<usize>,
    #[cfg(target_arch = "x86_64")]
    x16: Vec<i16>,
    #[cfg(target_arch = "x86_64")]
    y16: Vec<u8>,
}

/// How the kernels want their input: rows of `.0` values (the context, then zeros), the
/// row count a multiple of `.1`.
pub(crate) fn input_layout(model: &Model) -> (usize, usize) {
    (model.packed().layers[0].groups * 2, PIXEL_BLOCK)
}

/// `n` dense contexts (`input_len` values each) in the kernels' input layout.
#[cfg_attr(not(any(test, feature = "ort", feature = "cuda")), allow(dead_code))]
pub(crate) fn pack_rows(model: &Model, dense: &[i16], n: usize) -> Vec<i16> {
    let l = model.arch().input_len();
    let (stride, multiple) = input_layout(model);
    let mut rows = vec![0i16; round_up(n.max(1), multiple) * stride];
    for p in 0..n {
        rows[p * stride..][..l].copy_from_slice(&dense[p * l..][..l]);
    }
    rows
}

/// Accumulators `W x` (without bias) of `n` (a multiple of PIXEL_BLOCK) pixels.
fn gemm<T: Copy + Into<i32> + Simd>(
    level: Level,
    layer: &Layer,
    p: &PackedLayer,
    x: &[T],
    x_stride: usize,
    n: usize,
    acc: &mut [i32],
) {
    match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx2(t) => (T::X86.avx2)(t, p, x, x_stride, n, acc),
        #[cfg(target_arch = "x86_64")]
        Level::Avx512Bw(t) => (T::X86.avx512bw)(t, p, x, x_stride, n, acc),
        #[cfg(target_arch = "x86_64")]
        Level::AvxVnni(t) => (T::X86.avxvnni)(t, p, x, x_stride, n, acc),
        #[cfg(target_arch = "x86_64")]
        Level::Avx512VnniYmm(t) => (T::X86.vnni_ymm)(t, p, x, x_stride, n, acc),
        #[cfg(target_arch = "x86_64")]
        Level::Avx512VnniZmm(t) => (T::X86.vnni_zmm)(t, p, x, x_stride, n, acc),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Level::Simd128(t) => T::simd128(t, p, x, x_stride, n, acc),
        Level::Scalar => {
            // Row-major dot products over the original layout (autovectorises well).
            for px in 0..n {
                let xs = &x[px * x_stride..px * x_stride + layer.n_in];
                for o in 0..layer.n_out {
                    let row = &layer.weight[o * layer.n_in..(o + 1) * layer.n_in];
                    acc[px * p.out_pad + o] = row
                        .iter()
                        .zip(xs)
                        .map(|(&w, &v)| i32::from(w) * v.into())
                        .sum();
                }
            }
        }
    }
}

/// A GEMM kernel of one level for inputs of type `X`.
#[cfg(target_arch = "x86_64")]
type Kernel<Token, X> = fn(Token, &PackedLayer, &[X], usize, usize, &mut [i32]);

/// The x86-64 kernels for inputs of type `X`, one per level.
#[cfg(target_arch = "x86_64")]
struct X86<X> {
    avx2: Kernel<avx2::Avx2, X>,
    avx512bw: Kernel<avx512::Avx512Bw, X>,
    avxvnni: Kernel<avx2::AvxVnni, X>,
    vnni_ymm: Kernel<avx2::Vnni, X>,
    vnni_zmm: Kernel<avx512::VnniZmm, X>,
    avx512bw_relu: ReluKernel<avx512::Avx512Bw, X>,
    vnni_zmm_relu: ReluKernel<avx512::VnniZmm, X>,
}

/// A GEMM kernel fused with the ReLU requantisation into u8 rows of a stride.
#[cfg(target_arch = "x86_64")]
type ReluKernel<Token, X> = fn(Token, &PackedLayer, &[X], usize, usize, &mut [u8], usize);

/// `gemm` then `relu_rows` in one pass where the level has a fused kernel and the layer
/// has no padding outputs (they would be written into `y`); returns whether it ran.
#[allow(clippy::too_many_arguments)]
fn gemm_relu<T: Copy + Into<i32> + Simd>(
    level: Level,
    layer: &Layer,
    p: &PackedLayer,
    x: &[T],
    x_stride: usize,
    n: usize,
    y: &mut [u8],
    y_stride: usize,
) -> bool {
    if layer.n_out != p.out_pad || y_stride < p.out_pad {
        return false;
    }
    match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512Bw(t) => {
            (T::X86.avx512bw_relu)(t, p, x, x_stride, n, y, y_stride);
            true
        }
        #[cfg(target_arch = "x86_64")]
        Level::Avx512VnniZmm(t) => {
            (T::X86.vnni_zmm_relu)(t, p, x, x_stride, n, y, y_stride);
            true
        }
        _ => {
            let _ = (x, x_stride, n, y);
            false
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Simd128 = simd128::Simd128;

/// Input element types with SIMD kernels.
trait Simd: Sized {
    #[cfg(target_arch = "x86_64")]
    const X86: X86<Self>;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128(t: Simd128, p: &PackedLayer, x: &[Self], x_stride: usize, n: usize, acc: &mut [i32]);
}

impl Simd for u8 {
    #[cfg(target_arch = "x86_64")]
    const X86: X86<u8> = X86 {
        avx2: avx2::gemm_u8,
        avx512bw: avx512::gemm_u8_bw,
        avxvnni: avx2::gemm_u8_avxvnni,
        vnni_ymm: avx2::gemm_u8_vnni,
        vnni_zmm: avx512::gemm_u8_vnni_zmm,
        avx512bw_relu: avx512::gemm_u8_bw_relu,
        vnni_zmm_relu: avx512::gemm_u8_vnni_zmm_relu,
    };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128(t: Simd128, p: &PackedLayer, x: &[u8], x_stride: usize, n: usize, acc: &mut [i32]) {
        simd128::gemm_u8(t, p, x, x_stride, n, acc)
    }
}

impl Simd for i16 {
    #[cfg(target_arch = "x86_64")]
    const X86: X86<i16> = X86 {
        avx2: avx2::gemm_i16,
        avx512bw: avx512::gemm_i16_bw,
        avxvnni: avx2::gemm_i16_avxvnni,
        vnni_ymm: avx2::gemm_i16_vnni,
        vnni_zmm: avx512::gemm_i16_vnni_zmm,
        avx512bw_relu: avx512::gemm_i16_bw_relu,
        vnni_zmm_relu: avx512::gemm_i16_vnni_zmm_relu,
    };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128(t: Simd128, p: &PackedLayer, x: &[i16], x_stride: usize, n: usize, acc: &mut [i32]) {
        simd128::gemm_i16(t, p, x, x_stride, n, acc)
    }
}

/// Requantises `acc + bias` of `n` pixels into u8 activations with ReLU.
#[allow(clippy::too_many_arguments)]
fn relu_rows(
    level: Level,
    layer: &Layer,
    p: &PackedLayer,
    acc: &[i32],
    n: usize,
    y: &mut [u8],
    y_stride: usize,
) {
    #[cfg(target_arch = "x86_64")]
    let blocks = match (level.avx512bw(), level.avx2()) {
        (Some(t), _) => {
            let full = layer.n_out / 16;
            avx512::requant_relu(t, p, acc, n, full, y, y_stride);
            full * 16
        }
        (None, Some(t)) => {
            let full = layer.n_out / 8;
            avx2::requant_relu(t, p, acc, n, full, y, y_stride);
            full * 8
        }
        (None, None) => 0,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let blocks = {
        let _ = level; // only x86-64 has SIMD requantisation
        0
    };
    for px in 0..n {
        let a = &acc[px * p.out_pad..(px + 1) * p.out_pad];
        let row = &mut y[px * y_stride..px * y_stride + layer.n_out];
        for o in blocks..layer.n_out {
            row[o] = layer.relu(o, a[o]);
        }
    }
}

/// Evaluates the network for `n` pixels whose contexts are the rows of `x` (in the
/// [`input_layout`]); `out` receives `n` head vectors of `arch.output_len()`. Identical to
/// calling `network::forward` on each pixel.
pub(crate) fn forward_batch(
    model: &Model,
    level: Level,
    x: &[i16],
    n: usize,
    out: &mut [i32],
    s: &mut Scratch,
) {
    let packed = model.packed();
    let n_pad = round_up(n.max(1), PIXEL_BLOCK);
    let x_stride = input_layout(model).0;
    assert!(
        x.len() >= n_pad * x_stride,
        "forward_batch: {} input values for {n} rows of {x_stride}",
        x.len()
    );
    let width_pad = round_up(model.arch().width as usize, 4);
    let max_out = packed.layers.iter().map(|p| p.out_pad).max().unwrap_or(0);
    if s.acc.len() < n_pad * max_out {
        s.acc.resize(n_pad * max_out, 0);
    }
    // Activation buffers only grow; their padding columns are never written, so stay 0.
    for buf in &mut s.bufs {
        if buf.len() < n_pad * width_pad {
            buf.resize(n_pad * width_pad, 0);
        }
    }
    for step in model.net().steps() {
        let (l, p) = (step.layer, &packed.layers[step.index]);
        if let Op::Input { dst } = step.op {
            if input_u8(level, model, x, n_pad, dst.index(), width_pad, s) {
                continue;
            }
        }
        if let Op::Input { dst } | Op::Relu { dst, .. } = step.op {
            // The source and destination buffers differ (checked by `net`'s walk), so the
            // fused kernel can read one while writing the other.
            let fused = match step.op.src() {
                None => gemm_relu(
                    level,
                    l,
                    p,
                    x,
                    x_stride,
                    n_pad,
                    &mut s.bufs[dst.index()],
                    width_pad,
                ),
                Some(src) => {
                    let (xs, y) = two_bufs(&mut s.bufs, src.index(), dst.index());
                    gemm_relu(level, l, p, xs, width_pad, n_pad, y, width_pad)
                }
            };
            if fused {
                continue;
            }
        }
        match step.op.src() {
            None => gemm(level, l, p, x, x_stride, n_pad, &mut s.acc),
            Some(src) => gemm(
                level,
                l,
                p,
                &s.bufs[src.index()],
                width_pad,
                n_pad,
                &mut s.acc,
            ),
        }
        match step.op {
            Op::Input { dst } | Op::Relu { dst, .. } => {
                let y = &mut s.bufs[dst.index()];
                relu_rows(level, l, p, &s.acc, n_pad, y, width_pad);
            }
            Op::Residual { dst, .. } => {
                let y = &mut s.bufs[dst.index()];
                for px in 0..n_pad {
                    for o in 0..l.n_out {
                        let a = &mut y[px * width_pad + o];
                        *a = l.residual(o, s.acc[px * p.out_pad + o], *a);
                    }
                }
            }
            Op::Head { .. } => head_rows(level, l, p, &s.acc, n, out),
        }
    }
}

/// The input layer on the VNNI zmm level through its u8 form (`Packed::input_u8`) into
/// activation buffer `dst`: the contexts become `p = (v + 255) >> 1`; rows with an even
/// value (a neighbour outside the tile) are recomputed with the i16 layer. Returns
/// whether it ran (the level has no such kernel, or the layer's outputs are padded).
#[allow(unused_variables)]
fn input_u8(
    level: Level,
    model: &Model,
    x: &[i16],
    n: usize,
    dst: usize,
    width_pad: usize,
    s: &mut Scratch,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Level::Avx512VnniZmm(t) = level {
        let packed = model.packed();
        let (l16, p16, p8) = (&model.net().input, &packed.layers[0], &packed.input_u8);
        if l16.n_out != p16.out_pad || width_pad < p16.out_pad {
            return false;
        }
        let (x_stride, x8_stride) = (input_layout(model).0, p8.groups * 4);
        s.x8.clear();
        s.x8.resize(n * x8_stride, 0);
        s.odd_out.clear();
        for px in 0..n {
            let row = &x[px * x_stride..][..l16.n_in];
            let mut even = false;
            for (d, &v) in s.x8[px * x8_stride..][..l16.n_in].iter_mut().zip(row) {
                // v in [-255, 255]: p in [0, 255], and v == 2p - 255 exactly when v is odd.
                *d = ((v + 255) >> 1) as u8;
                even |= v & 1 == 0;
            }
            if even {
                s.odd_out.push(px);
            }
        }
        let y = &mut s.bufs[dst];
        avx512::gemm_u8_vnni_zmm_relu(t, p8, &s.x8, x8_stride, n, y, width_pad);
        if !s.odd_out.is_empty() {
            // The rows the identity does not hold for, through the i16 layer.
            let m = round_up(s.odd_out.len(), PIXEL_BLOCK);
            s.x16.clear();
            s.x16.resize(m * x_stride, 0);
            for (r, &px) in s.odd_out.iter().enumerate() {
                s.x16[r * x_stride..][..x_stride].copy_from_slice(&x[px * x_stride..][..x_stride]);
            }
            s.y16.clear();
            s.y16.resize(m * width_pad, 0);
            avx512::gemm_i16_vnni_zmm_relu(t, p16, &s.x16, x_stride, m, &mut s.y16, width_pad);
            for (r, &px) in s.odd_out.iter().enumerate() {
                y[px * width_pad..][..l16.n_out]
                    .copy_from_slice(&s.y16[r * width_pad..][..l16.n_out]);
            }
        }
        return true;
    }
    false
}

/// Buffer `a` to read and buffer `b` to write, `a != b`.
fn two_bufs(bufs: &mut [Vec<u8>; 3], a: usize, b: usize) -> (&[u8], &mut [u8]) {
    assert_ne!(a, b, "a layer reads and writes the same activation buffer");
    if a < b {
        let (lo, hi) = bufs.split_at_mut(b);
        (&lo[a], &mut hi[0])
    } else {
        let (lo, hi) = bufs.split_at_mut(a);
        (&hi[0], &mut lo[b])
    }
}

/// Requantises `acc + bias` of `n` pixels into the signed head outputs.
fn head_rows(level: Level, last: &Layer, lp: &PackedLayer, acc: &[i32], n: usize, out: &mut [i32]) {
    let n_out = last.n_out;
    #[cfg(target_arch = "x86_64")]
    let blocks = match (level.avx512bw(), level.avx2()) {
        (Some(t), _) => {
            let full = n_out / 16;
            for px in 0..n {
                avx512::requant_head(
                    t,
                    lp,
                    &acc[px * lp.out_pad..(px + 1) * lp.out_pad],
                    full,
                    &mut out[px * n_out..],
                );
            }
            full * 16
        }
        (None, Some(t)) => {
            let full = n_out / 8;
            for px in 0..n {
                avx2::requant_head(
                    t,
                    lp,
                    &acc[px * lp.out_pad..(px + 1) * lp.out_pad],
                    full,
                    &mut out[px * n_out..],
                );
            }
            full * 8
        }
        (None, None) => 0,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let blocks = {
        let _ = level; // only x86-64 has SIMD requantisation
        0
    };
    for px in 0..n {
        for o in blocks..n_out {
            out[px * n_out + o] = last.head(o, acc[px * lp.out_pad + o]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{synthetic, Arch};
    use crate::net::Layer;
    use crate::network::forward;

    fn run_batch(
        model: &Model,
        level: Level,
        inputs: &[i16],
        n: usize,
        out: &mut [i32],
        s: &mut Scratch,
    ) {
        forward_batch(model, level, &pack_rows(model, inputs, n), n, out, s);
    }

    fn check(arch: Arch, seed: u64) {
        let model = Model::from_bytes(&synthetic(arch, seed, "k")).unwrap();
        let (l, o) = (arch.input_len(), arch.output_len());
        let mut st = seed | 1;
        let mut rnd = move || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            st
        };
        for n in [1usize, 3, 4, 9, 33] {
            let inputs: Vec<i16> = (0..n * l)
                // n = 9 and 33: every position inside the tile (no zeros); others mixed.
                .map(|_| match rnd() % 5 {
                    0 if n != 9 && n != 33 => 0,
                    _ => 2 * (rnd() % 256) as i16 - 255,
                })
                .collect();
            let mut expected = vec![0i32; n * o];
            let mut s = crate::network::Scratch::new(&model);
            for px in 0..n {
                forward(
                    &model,
                    &inputs[px * l..(px + 1) * l],
                    &mut expected[px * o..(px + 1) * o],
                    &mut s,
                );
            }
            for level in levels() {
                let mut got = vec![0i32; n * o];
                let mut s = Scratch::default();
                // Dirty the scratch with a bigger batch first: reuse must not leak state.
                let dirty = vec![255i16; 40 * input_layout(&model).0];
                forward_batch(&model, level, &dirty, 40, &mut vec![0; 40 * o], &mut s);
                run_batch(&model, level, &inputs, n, &mut got, &mut s);
                assert_eq!(got, expected, "{level:?} n={n} arch={arch:?}");
            }
        }
    }

    /// The levels this machine runs, printed so a CI log shows what was compared (a CPU
    /// without AVX2 or VNNI tests fewer levels; it never fails for that).
    fn levels() -> Vec<Level> {
        static PRINT: std::sync::Once = std::sync::Once::new();
        let v = Level::available();
        PRINT.call_once(|| eprintln!("SIMD levels compared with the scalar reference: {v:?}"));
        v
    }

    fn arch(horizon: u32, channels: u32, width: u32, res_blocks: u32, mixtures: u32) -> Arch {
        Arch::new(horizon, channels, width, res_blocks, mixtures)
    }

    #[test]
    fn every_level_matches_on_contexts_of_synthetic_images() {
        // Real contexts (borders, interior, every horizon the format allows, 1 to 32
        // components) gathered from a synthetic image, as the codec gathers them.
        use crate::context::gather_context;
        use crate::schedule::TileBuf;
        let levels = levels();
        let (w, h) = (19usize, 11usize);
        for (hz, c, width, res, k) in [
            (1, 3, 24, 0, 1),
            (2, 1, 16, 1, 32),
            (3, 3, 40, 1, 10),
            (4, 1, 9, 0, 3),
            (5, 3, 17, 2, 7),
            (7, 1, 33, 0, 32),
            (7, 3, 8, 1, 2),
        ] {
            let a = arch(hz, c, width, res, k);
            let model = Model::from_bytes(&synthetic(a, u64::from(hz * 100 + k), "ctx")).unwrap();
            let stride = c as usize + 1; // an extra channel, as with alpha
            let data: Vec<u8> = (0..w * h * stride)
                .map(|i| ((i * 37 + (i / (w * stride)) * 11) % 256) as u8)
                .collect();
            let tile = TileBuf {
                data: &data,
                w,
                h,
                stride,
            };
            let (l, o) = (a.input_len(), a.output_len());
            let n = w * h;
            let mut inputs = vec![0i16; n * l];
            for i in 0..h {
                for j in 0..w {
                    let p = i * w + j;
                    gather_context(
                        &tile,
                        i,
                        j,
                        hz as usize,
                        1,
                        c as usize,
                        &mut inputs[p * l..(p + 1) * l],
                    );
                }
            }
            let mut expected = vec![0i32; n * o];
            let mut s = crate::network::Scratch::new(&model);
            for p in 0..n {
                forward(
                    &model,
                    &inputs[p * l..(p + 1) * l],
                    &mut expected[p * o..(p + 1) * o],
                    &mut s,
                );
            }
            for &level in &levels {
                let mut got = vec![0i32; n * o];
                run_batch(&model, level, &inputs, n, &mut got, &mut Scratch::default());
                assert_eq!(got, expected, "{level:?} arch={a:?}");
            }
        }
    }

    #[test]
    fn every_level_matches_on_widths_and_batches_that_split_the_tiles() {
        // Widths around and above every tile size (16, 32 and 64 outputs), heads whose
        // n_out is not a multiple of 32, and every batch size from 1 to 37 pixels.
        let levels = levels();
        let mut heads_off_32 = 0;
        for (width, res, k) in [
            (7, 1, 3),
            (20, 1, 5),
            (33, 0, 10),
            // Residual blocks whose layers take the fused kernels (n_out a multiple of 16),
            // with the 32- and 16-output tails.
            (48, 1, 4),
            (64, 2, 10),
            (256, 0, 7),
            (1024, 0, 2),
        ] {
            let a = arch(3, 3, width, res, k);
            heads_off_32 += usize::from(!a.output_len().is_multiple_of(32));
            let model = Model::from_bytes(&synthetic(a, u64::from(width), "w")).unwrap();
            let (l, o) = (a.input_len(), a.output_len());
            let mut st = u64::from(width) | 1;
            let inputs: Vec<i16> = (0..37 * l)
                .map(|_| {
                    st ^= st << 13;
                    st ^= st >> 7;
                    st ^= st << 17;
                    2 * (st % 256) as i16 - 255
                })
                .collect();
            let mut expected = vec![0i32; 37 * o];
            let mut s = crate::network::Scratch::new(&model);
            for px in 0..37 {
                forward(
                    &model,
                    &inputs[px * l..(px + 1) * l],
                    &mut expected[px * o..(px + 1) * o],
                    &mut s,
                );
            }
            for &level in &levels {
                let mut s = Scratch::default();
                for n in 1..=37 {
                    let mut got = vec![0i32; n * o];
                    run_batch(&model, level, &inputs[..n * l], n, &mut got, &mut s);
                    assert_eq!(got, expected[..n * o], "{level:?} n={n} width={width}");
                }
            }
        }
        assert!(heads_off_32 >= 3, "too few heads off the 32-output tiles");
    }

    #[test]
    fn every_gemm_matches_on_layer_shapes_that_split_the_tiles() {
        // One layer at a time, u8 and i16 inputs: n_out on both sides of 16, 32, 48 and
        // 64 (the zmm tiles and their tails), n_in not a multiple of the group.
        let mut st = 0x0dd5_1ce5_u64;
        let mut rnd = move || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            st
        };
        for n_out in [
            1, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 80, 100, 112, 129,
        ] {
            for n_in in [1, 3, 6, 33, 72] {
                let layer = Layer {
                    n_in,
                    n_out,
                    weight: (0..n_in * n_out)
                        .map(|_| (rnd() % 128) as i8 - 64)
                        .collect(),
                    bias: vec![0; n_out],
                    mult: vec![1; n_out],
                    shift: vec![1; n_out],
                };
                for n in [4, 8, 12, 36] {
                    let p8 = PackedLayer::new(&layer, 4);
                    let p16 = PackedLayer::new(&layer, 2);
                    let s8 = p8.groups * 4;
                    let s16 = p16.groups * 2;
                    // Padding inputs are zero (as the kernels' buffers keep them).
                    let x8: Vec<u8> = (0..n * s8)
                        .map(|i| if i % s8 < n_in { rnd() as u8 } else { 0 })
                        .collect();
                    let x16: Vec<i16> = (0..n * s16)
                        .map(|i| {
                            if i % s16 < n_in {
                                2 * (rnd() % 256) as i16 - 255
                            } else {
                                0
                            }
                        })
                        .collect();
                    let mut want8 = vec![0; n * p8.out_pad];
                    gemm(Level::Scalar, &layer, &p8, &x8, s8, n, &mut want8);
                    let mut want16 = vec![0; n * p16.out_pad];
                    gemm(Level::Scalar, &layer, &p16, &x16, s16, n, &mut want16);
                    for level in levels() {
                        let mut got = vec![0; n * p8.out_pad];
                        gemm(level, &layer, &p8, &x8, s8, n, &mut got);
                        for px in 0..n {
                            let r = px * p8.out_pad..px * p8.out_pad + n_out;
                            assert_eq!(
                                got[r.clone()],
                                want8[r],
                                "u8 {level:?} {n_in}x{n_out} n={n}"
                            );
                        }
                        let mut got = vec![0; n * p16.out_pad];
                        gemm(level, &layer, &p16, &x16, s16, n, &mut got);
                        for px in 0..n {
                            let r = px * p16.out_pad..px * p16.out_pad + n_out;
                            assert_eq!(
                                got[r.clone()],
                                want16[r],
                                "i16 {level:?} {n_in}x{n_out} n={n}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn nelloc_simd_caps_the_level_by_name() {
        let all = Level::available();
        let best = *all.last().unwrap();
        assert_eq!(Level::capped(""), best);
        assert_eq!(Level::capped("best"), best);
        assert_eq!(Level::capped("scalar"), Level::Scalar);
        for (i, name) in NAMES.iter().enumerate() {
            let l = Level::capped(name);
            assert!(l.rank() <= i, "{name} gave {l:?}");
            // The highest available level at or below the cap.
            assert!(all.iter().all(|a| a.rank() > i || a.rank() <= l.rank()));
            if let Some(&exact) = all.iter().find(|a| a.rank() == i) {
                assert_eq!(l, exact, "{name}");
            }
        }
        assert_eq!(Level::capped("avx512vnni"), Level::capped("avx512vnni-zmm"));
        // Every level this CPU has is reachable by its name, each once.
        for (i, l) in all.iter().enumerate() {
            assert_eq!(l.rank(), all[..=i].iter().map(|a| a.rank()).max().unwrap());
            assert_eq!(Level::capped(NAMES[l.rank()]), *l);
        }
    }

    #[test]
    fn simd_requantisation_asserts_every_table_it_loads() {
        #[cfg(target_arch = "x86_64")]
        {
            let Some(t) = avx2::Avx2::detect() else {
                eprintln!("no AVX2 on this CPU: the AVX2 bounds checks cannot run here");
                return;
            };
            let layer = Layer {
                n_in: 1,
                n_out: 16,
                weight: vec![1; 16],
                bias: vec![0; 16],
                mult: vec![1; 16],
                shift: vec![1; 16],
            };
            let acc = vec![0i32; 4 * 16];
            type Cut = fn(&mut PackedLayer);
            let cuts: [(&str, Cut); 5] = [
                ("rq_bias", |p| p.rq_bias.truncate(8)),
                ("rq_mult", |p| p.rq_mult.truncate(8)),
                ("rq_shift", |p| p.rq_shift.truncate(8)),
                ("rq_round", |p| p.rq_round.truncate(8)),
                ("rq_off", |p| p.rq_off.truncate(8)),
            ];
            for (name, cut) in cuts {
                let mut p = PackedLayer::new(&layer, 4);
                cut(&mut p);
                // Two blocks of 8 need 16 entries of every table: a short one must panic
                // (an out-of-bounds SIMD load otherwise).
                let relu = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    avx2::requant_relu(t, &p, &acc, 4, 2, &mut [0u8; 64], 16)
                }));
                let head = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    avx2::requant_head(t, &p, &acc, 2, &mut [0i32; 16])
                }));
                if name != "rq_off" {
                    assert!(relu.is_err(), "requant_relu with a short {name}");
                }
                assert!(head.is_err(), "requant_head with a short {name}");
                // The zmm kernels: one block of 16 (they do not read rq_off).
                let Some(z) = avx512::Avx512Bw::detect() else {
                    continue;
                };
                let relu = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    avx512::requant_relu(z, &p, &acc, 4, 1, &mut [0u8; 64], 16)
                }));
                let head = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    avx512::requant_head(z, &p, &acc, 1, &mut [0i32; 16])
                }));
                assert_eq!(relu.is_err(), name != "rq_off", "zmm requant_relu, {name}");
                assert_eq!(head.is_err(), name != "rq_off", "zmm requant_head, {name}");
            }
        }
    }

    #[test]
    fn simd_gemm_asserts_every_bound_it_uses() {
        // A 4-pixel batch of a 16x16 layer; each cut makes one buffer too short for the
        // loads or stores of every SIMD level's kernel, which must panic instead.
        let layer = Layer {
            n_in: 16,
            n_out: 16,
            weight: vec![1; 256],
            bias: vec![0; 16],
            mult: vec![1; 16],
            shift: vec![1; 16],
        };
        for level in levels().into_iter().filter(|&l| l != Level::Scalar) {
            for (cut_w, x_len, acc_len) in [(true, 64, 64), (false, 63, 64), (false, 64, 63)] {
                let mut p = PackedLayer::new(&layer, 4);
                if cut_w {
                    p.w8.pop();
                    #[cfg(target_arch = "x86_64")]
                    p.w8_zmm.pop();
                }
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut acc = vec![0; acc_len];
                    gemm(level, &layer, &p, &vec![1u8; x_len], 16, 4, &mut acc)
                }));
                assert!(r.is_err(), "{level:?}: w {cut_w} x {x_len} acc {acc_len}");
                // The fused kernels (where the level has them) check the same, and `y`.
                let y_len = if cut_w || x_len < 64 { 64 } else { 63 };
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut y = vec![0u8; y_len];
                    gemm_relu(level, &layer, &p, &vec![1u8; x_len], 16, 4, &mut y, 16)
                }));
                assert!(
                    r.is_err() || r.is_ok_and(|fused| !fused),
                    "{level:?} fused: w {cut_w} x {x_len} y {y_len}"
                );
            }
        }
    }

    #[test]
    fn every_level_matches_the_scalar_reference() {
        for (channels, width, res_blocks) in
            [(3, 256, 0), (1, 128, 0), (3, 20, 2), (1, 7, 1), (3, 64, 0)]
        {
            let arch = Arch::new(3, channels, width, res_blocks, 10);
            check(arch, u64::from(width) * 7 + u64::from(res_blocks));
        }
    }

    #[test]
    fn requantisation_matches_the_reference_over_the_whole_range() {
        let mut st = 0x1234_5678_9abc_def0u64;
        let mut rnd = move || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            st
        };
        for n_out in [8usize, 13, 16, 24, 31, 48, 100, 256] {
            let layer = Layer {
                n_in: 1,
                n_out,
                weight: vec![0; n_out],
                bias: (0..n_out)
                    .map(|_| (rnd() % (1 << 25)) as i32 - (1 << 24))
                    .collect(),
                mult: (0..n_out).map(|_| (rnd() % (1 << 31)) as i32).collect(),
                shift: (0..n_out).map(|_| 1 + (rnd() % 62) as i32).collect(),
            };
            let p = PackedLayer::new(&layer, 4);
            let n = 8;
            let acc: Vec<i32> = (0..n * p.out_pad)
                .map(|i| match i % 5 {
                    0 => (1 << 24) - 1,
                    1 => -(1 << 24),
                    _ => (rnd() % (1 << 25)) as i32 - (1 << 24),
                })
                .collect();
            let mut expected = vec![0u8; n * n_out];
            relu_rows(Level::Scalar, &layer, &p, &acc, n, &mut expected, n_out);
            let mut expected_head = vec![0i32; n * n_out];
            head_rows(Level::Scalar, &layer, &p, &acc, n, &mut expected_head);
            for level in Level::available() {
                let mut got = vec![0u8; n * n_out];
                relu_rows(level, &layer, &p, &acc, n, &mut got, n_out);
                assert_eq!(got, expected, "{level:?} n_out={n_out}");
                let mut got = vec![0i32; n * n_out];
                head_rows(level, &layer, &p, &acc, n, &mut got);
                assert_eq!(got, expected_head, "head {level:?} n_out={n_out}");
            }
            assert!(expected.contains(&0) && expected.contains(&255));
            for edge in [-(1 << 23), 1 << 23] {
                assert!(
                    expected_head.contains(&edge),
                    "clamp at {edge} not exercised"
                );
            }
            assert!(expected_head.iter().any(|&v| v < 0 && v > -(1 << 23)));
        }
    }

    #[test]
    fn extreme_weights_and_inputs_stay_exact() {
        // All weights at -64 or 63 and activations at 255: the int16 pair sums of
        // vpmaddubsw reach +-32640 and must not saturate.
        let arch = Arch::new(3, 3, 32, 1, 10);
        let mut model = Model::from_bytes(&synthetic(arch, 5, "x")).unwrap();
        for (i, layer) in model.net.layers_mut().enumerate() {
            for (j, w) in layer.weight.iter_mut().enumerate() {
                *w = if (i + j) % 3 == 0 { -64 } else { 63 };
            }
            for m in layer.shift.iter_mut() {
                *m = 40; // keep activations saturated but in range
            }
        }
        model.reset_packed();
        let l = arch.input_len();
        let inputs: Vec<i16> = (0..8 * l)
            .map(|i| if i % 2 == 0 { 255 } else { -255 })
            .collect();
        let o = arch.output_len();
        let mut expected = vec![0; 8 * o];
        let mut s = crate::network::Scratch::new(&model);
        for px in 0..8 {
            forward(
                &model,
                &inputs[px * l..(px + 1) * l],
                &mut expected[px * o..(px + 1) * o],
                &mut s,
            );
        }
        for level in Level::available() {
            let mut got = vec![0; 8 * o];
            run_batch(&model, level, &inputs, 8, &mut got, &mut Scratch::default());
            assert_eq!(got, expected, "{level:?}");
        }
    }
}
