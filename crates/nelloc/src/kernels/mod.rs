//! Batched network evaluation: many pixels per call, with runtime-dispatched SIMD
//! kernels. Every kernel is bit-identical to the scalar reference in `network.rs`
//! (tests below run each level the machine supports against it).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use std::sync::OnceLock;

use crate::model::{Layer, Model};
use crate::network::requant;

/// Instruction-set levels with an exact kernel. The SIMD variants carry a token that
/// only run-time feature detection creates (`avx2::Avx2`, `avx2::Vnni`): holding a `Level`
/// is proof that its kernels may run here.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Avx2),
    /// AVX2 plus AVX-512 VNNI on 256-bit vectors (vpdpbusd / vpdpwssd).
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni(avx2::Vnni),
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
            Level::Avx512Vnni(_) => "Avx512Vnni",
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Level::Simd128(_) => "Simd128",
        })
    }
}

impl Level {
    /// The best level this CPU supports; NELLOC_SIMD=scalar or =avx2 caps it (for
    /// comparisons and for working around a suspected kernel bug).
    pub(crate) fn detect() -> Level {
        static LEVEL: OnceLock<Level> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            let cap = std::env::var("NELLOC_SIMD").unwrap_or_default();
            if cap == "scalar" {
                return Level::Scalar;
            }
            #[cfg(target_arch = "x86_64")]
            {
                if cap != "avx2" {
                    if let Some(t) = avx2::Vnni::detect() {
                        return Level::Avx512Vnni(t);
                    }
                }
                if let Some(t) = avx2::Avx2::detect() {
                    return Level::Avx2(t);
                }
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            if let Some(t) = simd128::Simd128::detect() {
                return Level::Simd128(t);
            }
            Level::Scalar
        })
    }

    /// Every level usable here, reference first (for tests and benchmarks).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Level> {
        let mut v = vec![Level::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            v.extend(avx2::Avx2::detect().map(Level::Avx2));
            v.extend(avx2::Vnni::detect().map(Level::Avx512Vnni));
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        v.extend(simd128::Simd128::detect().map(Level::Simd128));
        v
    }

    /// The AVX2 token of an AVX2 or VNNI level (their requantisation kernels are AVX2).
    #[cfg(target_arch = "x86_64")]
    fn avx2(self) -> Option<avx2::Avx2> {
        match self {
            Level::Scalar => None,
            Level::Avx2(t) => Some(t),
            Level::Avx512Vnni(t) => Some(t.avx2()),
        }
    }
}

/// Pixels per kernel block (batches are padded to a multiple of it).
pub(crate) const PIXEL_BLOCK: usize = 4;
/// Outputs per kernel block (layers are padded to a multiple of it).
const OUT_BLOCK: usize = 16;

fn round_up(v: usize, m: usize) -> usize {
    v.div_ceil(m) * m
}

// Other targets read only the weights they use (no SIMD requantisation outside x86-64).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
/// A layer's weights re-laid for the kernels: groups of `G` consecutive inputs for every
/// output, `[in/G][out_pad][G]`, zero-padded.
pub(crate) struct PackedLayer {
    pub(crate) groups: usize,
    pub(crate) out_pad: usize,
    /// u8-input layers: G = 4, i8 weights.
    pub(crate) w8: Vec<i8>,
    /// The first layer (signed i16 input): G = 2, weights widened to i16. SIMD128 builds
    /// also keep the u8-input layers' weights here, widened (wasm has no u8 x i8 dot product).
    pub(crate) w16: Vec<i16>,
    /// Requantisation constants for blocks of 8 outputs: bias and multiplier as i32 in
    /// output order; shift and rounding term 2^(S-1) as i64, even outputs of the block
    /// first, then odd ones (the lane order of `vpmuldq`).
    pub(crate) rq_bias: Vec<i32>,
    pub(crate) rq_mult: Vec<i32>,
    pub(crate) rq_shift: Vec<i64>,
    pub(crate) rq_round: Vec<i64>,
    /// 2^(62-S) in the same order: `(v + 2^62) >> S` minus it is `floor(v / 2^S)` for any
    /// |v| < 2^62 using only a logical shift.
    pub(crate) rq_off: Vec<i64>,
}

impl PackedLayer {
    fn new(layer: &Layer, group: usize) -> Self {
        let groups = layer.n_in.div_ceil(group);
        let out_pad = round_up(layer.n_out, OUT_BLOCK);
        let mut w8 = Vec::new();
        let mut w16 = Vec::new();
        let at = |o: usize, i: usize| {
            if o < layer.n_out && i < layer.n_in {
                layer.weight[o * layer.n_in + i]
            } else {
                0
            }
        };
        for k in 0..groups {
            for o in 0..out_pad {
                for q in 0..group {
                    if group == 4 {
                        w8.push(at(o, k * group + q));
                        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
                            w16.push(i16::from(at(o, k * group + q)));
                        }
                    } else {
                        w16.push(i16::from(at(o, k * group + q)));
                    }
                }
            }
        }
        let (mut rq_bias, mut rq_mult, mut rq_shift, mut rq_round, mut rq_off) =
            (vec![], vec![], vec![], vec![], vec![]);
        for o in 0..out_pad {
            let (b, m) = if o < layer.n_out {
                (layer.bias[o], layer.mult[o])
            } else {
                (0, 0)
            };
            rq_bias.push(b);
            rq_mult.push(m);
        }
        for blk in 0..out_pad / 8 {
            for o in (0..8).step_by(2).chain((1..8).step_by(2)) {
                let o = blk * 8 + o;
                let s = if o < layer.n_out { layer.shift[o] } else { 1 };
                rq_shift.push(i64::from(s));
                rq_round.push(1i64 << (s - 1));
                rq_off.push(1i64 << (62 - s));
            }
        }
        PackedLayer {
            groups,
            out_pad,
            w8,
            w16,
            rq_bias,
            rq_mult,
            rq_shift,
            rq_round,
            rq_off,
        }
    }
}

/// All layers of a model, packed.
pub(crate) struct Packed {
    pub(crate) layers: Vec<PackedLayer>,
}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Packed({} layers)", self.layers.len())
    }
}

impl Packed {
    pub(crate) fn new(model: &Model) -> Self {
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| PackedLayer::new(l, if i == 0 { 2 } else { 4 }))
            .collect();
        Packed { layers }
    }
}

/// Buffers for [`forward_batch`], reused across calls.
#[derive(Default)]
pub(crate) struct BatchScratch {
    a: Vec<u8>,
    t1: Vec<u8>,
    t2: Vec<u8>,
    acc: Vec<i32>,
    x16: Vec<i16>,
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
        Level::Avx2(t) => T::avx2(t, p, x, x_stride, n, acc),
        #[cfg(target_arch = "x86_64")]
        Level::Avx512Vnni(t) => T::vnni(t, p, x, x_stride, n, acc),
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

/// Input element types with an AVX2 kernel.
#[cfg(target_arch = "x86_64")]
type Avx2 = avx2::Avx2;
#[cfg(target_arch = "x86_64")]
type Vnni = avx2::Vnni;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Simd128 = simd128::Simd128;

trait Simd: Sized {
    #[cfg(target_arch = "x86_64")]
    fn avx2(t: Avx2, p: &PackedLayer, x: &[Self], x_stride: usize, n: usize, acc: &mut [i32]);
    #[cfg(target_arch = "x86_64")]
    fn vnni(t: Vnni, p: &PackedLayer, x: &[Self], x_stride: usize, n: usize, acc: &mut [i32]);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128(t: Simd128, p: &PackedLayer, x: &[Self], x_stride: usize, n: usize, acc: &mut [i32]);
}

impl Simd for u8 {
    #[cfg(target_arch = "x86_64")]
    fn avx2(t: Avx2, p: &PackedLayer, x: &[u8], x_stride: usize, n: usize, acc: &mut [i32]) {
        avx2::gemm_u8(t, p, x, x_stride, n, acc)
    }
    #[cfg(target_arch = "x86_64")]
    fn vnni(t: Vnni, p: &PackedLayer, x: &[u8], x_stride: usize, n: usize, acc: &mut [i32]) {
        avx2::gemm_u8_vnni(t, p, x, x_stride, n, acc)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128(t: Simd128, p: &PackedLayer, x: &[u8], x_stride: usize, n: usize, acc: &mut [i32]) {
        simd128::gemm_u8(t, p, x, x_stride, n, acc)
    }
}

impl Simd for i16 {
    #[cfg(target_arch = "x86_64")]
    fn avx2(t: Avx2, p: &PackedLayer, x: &[i16], x_stride: usize, n: usize, acc: &mut [i32]) {
        avx2::gemm_i16(t, p, x, x_stride, n, acc)
    }
    #[cfg(target_arch = "x86_64")]
    fn vnni(t: Vnni, p: &PackedLayer, x: &[i16], x_stride: usize, n: usize, acc: &mut [i32]) {
        avx2::gemm_i16_vnni(t, p, x, x_stride, n, acc)
    }
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
    let blocks = match level.avx2() {
        Some(t) => {
            let full = layer.n_out / 8;
            avx2::requant_relu(t, p, acc, n, full, y, y_stride);
            full * 8
        }
        None => 0,
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
            row[o] =
                requant(a[o] + layer.bias[o], layer.mult[o], layer.shift[o]).clamp(0, 255) as u8;
        }
    }
}

impl BatchScratch {
    /// The input rows for a batch of `n` pixels: fill row `p` (the first
    /// `arch.input_len()` values of `rows[p * stride..]`) with pixel p's context, then call
    /// [`forward_batch`]. Rows keep their padding at zero.
    pub(crate) fn input_rows(&mut self, model: &Model, n: usize) -> (&mut [i16], usize) {
        let stride = model.packed().layers[0].groups * 2;
        let len = round_up(n.max(1), PIXEL_BLOCK) * stride;
        if self.x16.len() < len {
            self.x16.resize(len, 0);
        }
        (&mut self.x16[..len], stride)
    }
}

/// Evaluates the network for the `n` pixels whose contexts were written through
/// [`BatchScratch::input_rows`]; `out` receives `n` head vectors of `arch.output_len()`.
/// Identical to calling `network::forward` on each pixel.
pub(crate) fn forward_batch(
    model: &Model,
    level: Level,
    n: usize,
    out: &mut [i32],
    s: &mut BatchScratch,
) {
    let packed = model.packed();
    let layers = &model.layers;
    let nl = layers.len();
    let arch = model.arch();
    let n_pad = round_up(n.max(1), PIXEL_BLOCK);
    let first = &packed.layers[0];
    let x_stride = first.groups * 2;
    let width_pad = round_up(arch.width as usize, 4);
    let max_out = packed.layers.iter().map(|p| p.out_pad).max().unwrap_or(0);
    if s.acc.len() < n_pad * max_out {
        s.acc.resize(n_pad * max_out, 0);
    }
    // Activation buffers only grow; their padding columns are never written, so stay 0.
    for buf in [&mut s.a, &mut s.t1, &mut s.t2] {
        if buf.len() < n_pad * width_pad {
            buf.resize(n_pad * width_pad, 0);
        }
    }
    gemm(
        level, &layers[0], first, &s.x16, x_stride, n_pad, &mut s.acc,
    );
    relu_rows(level, &layers[0], first, &s.acc, n_pad, &mut s.a, width_pad);
    for (b, block) in layers[1..nl - 2].chunks_exact(3).enumerate() {
        let pk = &packed.layers[1 + 3 * b..4 + 3 * b];
        gemm(level, &block[0], &pk[0], &s.a, width_pad, n_pad, &mut s.acc);
        relu_rows(
            level, &block[0], &pk[0], &s.acc, n_pad, &mut s.t1, width_pad,
        );
        gemm(
            level, &block[1], &pk[1], &s.t1, width_pad, n_pad, &mut s.acc,
        );
        relu_rows(
            level, &block[1], &pk[1], &s.acc, n_pad, &mut s.t2, width_pad,
        );
        gemm(
            level, &block[2], &pk[2], &s.t2, width_pad, n_pad, &mut s.acc,
        );
        let l = &block[2];
        for px in 0..n_pad {
            for o in 0..l.n_out {
                let acc = s.acc[px * pk[2].out_pad + o] + l.bias[o];
                let r = requant(acc, l.mult[o], l.shift[o]).clamp(-255, 255);
                let a = &mut s.a[px * width_pad + o];
                *a = (i64::from(*a) + r).clamp(0, 255) as u8;
            }
        }
    }
    let hp = &packed.layers[nl - 2];
    gemm(
        level,
        &layers[nl - 2],
        hp,
        &s.a,
        width_pad,
        n_pad,
        &mut s.acc,
    );
    relu_rows(
        level,
        &layers[nl - 2],
        hp,
        &s.acc,
        n_pad,
        &mut s.t1,
        width_pad,
    );
    let lp = &packed.layers[nl - 1];
    let last = &layers[nl - 1];
    gemm(level, last, lp, &s.t1, width_pad, n_pad, &mut s.acc);
    head_rows(level, last, lp, &s.acc, n, out);
}

/// Requantises `acc + bias` of `n` pixels into the signed head outputs.
fn head_rows(level: Level, last: &Layer, lp: &PackedLayer, acc: &[i32], n: usize, out: &mut [i32]) {
    let n_out = last.n_out;
    #[cfg(target_arch = "x86_64")]
    let blocks = match level.avx2() {
        Some(t) => {
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
        None => 0,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let blocks = {
        let _ = level; // only x86-64 has SIMD requantisation
        0
    };
    for px in 0..n {
        for o in blocks..n_out {
            let a = acc[px * lp.out_pad + o] + last.bias[o];
            out[px * n_out + o] =
                requant(a, last.mult[o], last.shift[o]).clamp(-(1 << 23), 1 << 23) as i32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{synthetic, Arch, Layer};
    use crate::network::{forward, Scratch};

    fn run_batch(
        model: &Model,
        level: Level,
        inputs: &[i16],
        n: usize,
        out: &mut [i32],
        s: &mut BatchScratch,
    ) {
        let l = model.arch().input_len();
        let (rows, stride) = s.input_rows(model, n);
        for p in 0..n {
            rows[p * stride..p * stride + l].copy_from_slice(&inputs[p * l..(p + 1) * l]);
        }
        forward_batch(model, level, n, out, s);
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
            let mut s = Scratch::new(&model);
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
                let mut s = BatchScratch::default();
                // Dirty the scratch with a bigger batch first: reuse must not leak state.
                let (rows, _) = s.input_rows(&model, 40);
                rows.fill(255);
                forward_batch(&model, level, 40, &mut vec![0; 40 * o], &mut s);
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
        use crate::schedule::{gather_context, TileBuf};
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
            let mut s = Scratch::new(&model);
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
                run_batch(
                    &model,
                    level,
                    &inputs,
                    n,
                    &mut got,
                    &mut BatchScratch::default(),
                );
                assert_eq!(got, expected, "{level:?} arch={a:?}");
            }
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
        for n_out in [8usize, 13, 256] {
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
        for (i, layer) in model.layers.iter_mut().enumerate() {
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
        let mut s = Scratch::new(&model);
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
            run_batch(
                &model,
                level,
                &inputs,
                8,
                &mut got,
                &mut BatchScratch::default(),
            );
            assert_eq!(got, expected, "{level:?}");
        }
    }
}
