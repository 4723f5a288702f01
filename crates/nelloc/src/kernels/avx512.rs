//! x86-64 kernels on 512-bit vectors: AVX-512 VNNI (`vpdpbusd` / `vpdpwssd` on zmm) and
//! AVX-512 BW without VNNI (`vpmaddubsw` + `vpmaddwd` on zmm, exact for the same reason as
//! the AVX2 kernel: weights in [-64, 63] bound every i16 pair sum by 2*255*64 = 32640).
//!
//! The packed weights of 16 outputs x one group of G inputs are 64 bytes: one zmm. A tile
//! is `P` pixels x `V` such vectors (16V outputs, P*V independent accumulators); per group
//! of G inputs, V weight loads and P broadcasts of the pixels' G inputs (4 bytes).
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::avx2::Avx2;
use super::{PackedLayer, PIXEL_BLOCK};

/// Proof that the CPU (and OS) support AVX2 and AVX-512 F, BW and VL: only
/// [`Avx512Bw::detect`] creates one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx512Bw(Avx2);

impl Avx512Bw {
    pub(crate) fn detect() -> Option<Self> {
        let avx2 = Avx2::detect()?;
        (is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl"))
        .then_some(Avx512Bw(avx2))
    }

    /// The AVX2 token `detect` obtained.
    pub(crate) fn avx2(self) -> Avx2 {
        self.0
    }
}

/// Proof that the CPU has AVX2 and AVX-512 F, BW, VL and VNNI (zmm kernels): only
/// [`VnniZmm::detect`] creates one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct VnniZmm(Avx512Bw);

impl VnniZmm {
    pub(crate) fn detect() -> Option<Self> {
        let bw = Avx512Bw::detect()?;
        is_x86_feature_detected!("avx512vnni").then_some(VnniZmm(bw))
    }

    /// The AVX-512 BW token `detect` obtained.
    pub(crate) fn avx512bw(self) -> Avx512Bw {
        self.0
    }
}

/// Pixels per tile of the main loop (a remainder of `PIXEL_BLOCK` pixels runs a smaller
/// tile). 4 x 64 outputs (16 accumulators) measured as fast as 8 x 32 and faster than
/// 4 x 32 or 8 x 16 on Sapphire Rapids (`default` model, 1 thread).
const TILE_PIXELS: usize = 4;
/// 16-output vectors per tile of the main loop (the last 16 to 48 outputs run V = 2, 1).
const TILE_VECTORS: usize = 4;

/// Where a GEMM tile's accumulators go: stored as i32 rows of `out_pad` (`acc`), or
/// requantised with ReLU straight into u8 activation rows of `y_stride` (`y`): the fused
/// epilogue, which saves the accumulator round trip through memory.
#[derive(Clone, Copy)]
struct Sink {
    acc: *mut i32,
    y: *mut u8,
    y_stride: usize,
}

/// Generates a zmm GEMM kernel: safe entry points that check every bound the loops use
/// (`$name` stores accumulators, `$relu` requantises them with ReLU into u8 activations),
/// and their `#[target_feature]` body; `$step(acc, inputs, weights)` accumulates one vector.
macro_rules! gemm_kernel_512 {
    ($(#[$doc:meta])* $name:ident, $relu:ident, $body:ident, $token:ty, $features:literal, $x:ty, $w:ident, $group:literal, $step:expr) => {
        $(#[$doc])*
        pub(super) fn $name(_: $token, p: &PackedLayer, x: &[$x], x_stride: usize, n: usize, acc: &mut [i32]) {
            assert!(n.is_multiple_of(PIXEL_BLOCK) && x.len() >= n * x_stride && x_stride >= p.groups * $group);
            assert!(acc.len() >= n * p.out_pad && p.$w.len() == p.groups * p.out_pad * $group);
            assert!(p.out_pad.is_multiple_of(16));
            let sink = Sink { acc: acc.as_mut_ptr(), y: std::ptr::null_mut(), y_stride: 0 };
            // SAFETY: the token exists only if run-time detection found the CPU features in
            // `$features`; the asserts above bound every load and store inside.
            unsafe { $body::<false>(p, x, x_stride, n, sink) }
        }

        $(#[$doc])*
        ///
        /// Fused with the ReLU requantisation of every output (`out_pad` of them) into `y`.
        pub(super) fn $relu(_: $token, p: &PackedLayer, x: &[$x], x_stride: usize, n: usize, y: &mut [u8], y_stride: usize) {
            assert!(n.is_multiple_of(PIXEL_BLOCK) && x.len() >= n * x_stride && x_stride >= p.groups * $group);
            assert!(p.$w.len() == p.groups * p.out_pad * $group && p.out_pad.is_multiple_of(16));
            assert!(y_stride >= p.out_pad && y.len() >= n * y_stride);
            super::assert_rq_tables(p, p.out_pad, false);
            let sink = Sink { acc: std::ptr::null_mut(), y: y.as_mut_ptr(), y_stride };
            // SAFETY: as in the unfused entry point; the asserts above also bound the
            // requantisation tables (out_pad entries) and every 16-byte store into `y`.
            unsafe { $body::<true>(p, x, x_stride, n, sink) }
        }

        #[target_feature(enable = $features)]
        unsafe fn $body<const RELU: bool>(p: &PackedLayer, x: &[$x], x_stride: usize, n: usize, sink: Sink) {
            /// One tile: pixels `p0..p0 + P`, outputs `ob..ob + 16 V`.
            ///
            /// # Safety
            /// The CPU has `$features`; `p0 + P <= n` and `ob + 16 V <= out_pad` for the
            /// bounds asserted by the entry point (`x`, the sink, the packed weights).
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn tile<const RELU: bool, const P: usize, const V: usize>(
                p: &PackedLayer,
                x: &[$x],
                x_stride: usize,
                sink: Sink,
                p0: usize,
                ob: usize,
            ) {
                // The block of outputs ob..ob + 16 V is contiguous in the zmm order.
                // SAFETY: ob < out_pad: the offset lies inside the packed weights.
                let w = unsafe { p.$w.as_ptr().add(ob * p.groups * $group) };
                let xp = x.as_ptr();
                let mut a = [[_mm512_setzero_si512(); V]; P];
                for k in 0..p.groups {
                    // SAFETY: k < groups and ob + 16 V <= out_pad: the V loads of 16 * G
                    // values lie inside the packed weights (groups * out_pad * G values,
                    // block ob at ob * groups * G, 16 V * G per group).
                    let wp = unsafe { w.add(k * 16 * V * $group) };
                    let mut wv = [_mm512_setzero_si512(); V];
                    for (v, wv) in wv.iter_mut().enumerate() {
                        // SAFETY: as above.
                        *wv = unsafe { _mm512_loadu_si512(wp.add(v * 16 * $group) as *const _) };
                    }
                    for (q, a) in a.iter_mut().enumerate() {
                        // SAFETY: pixel p0 + q < n and G(k + 1) <= x_stride: inside x.
                        let xv = unsafe { (xp.add((p0 + q) * x_stride + $group * k) as *const i32).read_unaligned() };
                        let xb = _mm512_set1_epi32(xv);
                        for (a, &wv) in a.iter_mut().zip(&wv) {
                            *a = $step(*a, xb, wv);
                        }
                    }
                }
                if RELU {
                    for v in 0..V {
                        // SAFETY: ob + 16 (v + 1) <= out_pad: the tables hold out_pad entries.
                        let rq = unsafe { ReluBlock::load(p, ob / 16 + v) };
                        for (q, a) in a.iter().enumerate() {
                            // SAFETY: (p0 + q) * y_stride + ob + 16 (v + 1) <= n * y_stride
                            // (y_stride >= out_pad): inside `y`.
                            unsafe {
                                let dst = sink.y.add((p0 + q) * sink.y_stride + ob + 16 * v);
                                _mm_storeu_si128(dst as *mut __m128i, rq.apply(a[v]));
                            }
                        }
                    }
                } else {
                    for (q, a) in a.iter().enumerate() {
                        for (v, &a) in a.iter().enumerate() {
                            // SAFETY: (p0 + q) * out_pad + ob + 16 (v + 1) <= n * out_pad <= acc.len().
                            unsafe {
                                let dst = sink.acc.add((p0 + q) * p.out_pad + ob + 16 * v);
                                _mm512_storeu_si512(dst as *mut _, a);
                            }
                        }
                    }
                }
            }

            /// Outputs `ob..ob + 16 V` of every pixel, `P` pixels per tile: the weights of
            /// one output block (16 KiB for 64 outputs of a 256-input u8 layer) stay in L1
            /// while the pixels stream past, instead of the whole layer being reloaded from
            /// L2 for every tile of pixels.
            ///
            /// # Safety
            /// As `tile`, for `ob + 16 V <= out_pad`; `n` is a multiple of PIXEL_BLOCK.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn cols<const RELU: bool, const P: usize, const V: usize>(p: &PackedLayer, x: &[$x], x_stride: usize, n: usize, sink: Sink, ob: usize) {
                let mut p0 = 0;
                while p0 + P <= n {
                    // SAFETY: p0 + P <= n; the caller's ob + 16 V <= out_pad.
                    unsafe { tile::<RELU, P, V>(p, x, x_stride, sink, p0, ob) };
                    p0 += P;
                }
                while p0 < n {
                    // SAFETY: n is a multiple of PIXEL_BLOCK (asserted): p0 + PIXEL_BLOCK <= n.
                    unsafe { tile::<RELU, PIXEL_BLOCK, V>(p, x, x_stride, sink, p0, ob) };
                    p0 += PIXEL_BLOCK;
                }
            }

            // The narrower tails (V = 2, 1) take more pixels per tile, so that they also
            // keep 16 independent accumulators in flight.
            let mut ob = 0;
            while ob + 16 * TILE_VECTORS <= p.out_pad {
                // SAFETY: ob + 16 TILE_VECTORS <= out_pad.
                unsafe { cols::<RELU, TILE_PIXELS, TILE_VECTORS>(p, x, x_stride, n, sink, ob) };
                ob += 16 * TILE_VECTORS;
            }
            if TILE_VECTORS > 2 && ob + 32 <= p.out_pad {
                // SAFETY: ob + 32 <= out_pad.
                unsafe { cols::<RELU, { 2 * TILE_PIXELS }, 2>(p, x, x_stride, n, sink, ob) };
                ob += 32;
            }
            while ob < p.out_pad {
                // SAFETY: out_pad is a multiple of 16 (asserted): ob + 16 <= out_pad.
                unsafe { cols::<RELU, { 4 * TILE_PIXELS }, 1>(p, x, x_stride, n, sink, ob) };
                ob += 16;
            }
        }
    };
}

/// The ReLU requantisation constants of one block of 16 outputs, in registers.
#[derive(Clone, Copy)]
struct ReluBlock {
    bias: __m512i,
    m: __m512i,
    m_odd: __m512i,
    s_even: __m512i,
    s_odd: __m512i,
    r_even: __m512i,
    r_odd: __m512i,
}

impl ReluBlock {
    /// # Safety
    /// AVX-512 F/BW/VL; the requantisation tables hold `16 (c + 1)` entries.
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
    #[inline]
    unsafe fn load(p: &PackedLayer, c: usize) -> Self {
        // SAFETY: 16 (c + 1) entries of each table (caller).
        unsafe {
            let m = _mm512_loadu_si512(p.rq_mult.as_ptr().add(16 * c) as *const _);
            ReluBlock {
                bias: _mm512_loadu_si512(p.rq_bias.as_ptr().add(16 * c) as *const _),
                m,
                m_odd: _mm512_srli_epi64(m, 32),
                s_even: halves(&p.rq_shift, c, false),
                s_odd: halves(&p.rq_shift, c, true),
                r_even: halves(&p.rq_round, c, false),
                r_odd: halves(&p.rq_round, c, true),
            }
        }
    }

    /// `clamp(((acc + bias) * M + 2^(S-1)) >> S, 0, 255)` of 16 outputs, as 16 bytes: the
    /// shift arithmetic (`vpsravq`) as in the reference, the clamp in i64: exact.
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
    #[inline]
    fn apply(&self, a: __m512i) -> __m128i {
        let zero = _mm512_setzero_si512();
        let max = _mm512_set1_epi64(255);
        let a = _mm512_add_epi32(a, self.bias);
        let even = _mm512_add_epi64(_mm512_mul_epi32(a, self.m), self.r_even);
        let odd = _mm512_add_epi64(
            _mm512_mul_epi32(_mm512_srli_epi64(a, 32), self.m_odd),
            self.r_odd,
        );
        let fix = |v: __m512i, s: __m512i| {
            _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(v, s), zero), max)
        };
        let q = _mm512_or_si512(
            fix(even, self.s_even),
            _mm512_slli_epi64(fix(odd, self.s_odd), 32),
        );
        _mm512_cvtepi32_epi8(q)
    }
}

gemm_kernel_512!(
    /// AVX-512 VNNI on zmm: `vpdpbusd` adds four u8*i8 products into each i32 lane without
    /// intermediate saturation (exact for any weights).
    gemm_u8_vnni_zmm, gemm_u8_vnni_zmm_relu, gemm_u8_vnni_zmm_impl, VnniZmm, "avx2,avx512f,avx512bw,avx512vl,avx512vnni", u8, w8_zmm, 4,
    |a, x, w| _mm512_dpbusd_epi32(a, x, w)
);
gemm_kernel_512!(
    /// AVX-512 VNNI on zmm: `vpdpwssd` adds two i16*i16 products into each i32 lane.
    gemm_i16_vnni_zmm, gemm_i16_vnni_zmm_relu, gemm_i16_vnni_zmm_impl, VnniZmm, "avx2,avx512f,avx512bw,avx512vl,avx512vnni", i16, w16_zmm, 2,
    |a, x, w| _mm512_dpwssd_epi32(a, x, w)
);
gemm_kernel_512!(
    /// AVX-512 BW on zmm: `vpmaddubsw` pair sums are exact in i16 because |weights| <= 64,
    /// then `vpmaddwd` with ones widens to i32.
    gemm_u8_bw, gemm_u8_bw_relu, gemm_u8_bw_impl, Avx512Bw, "avx2,avx512f,avx512bw,avx512vl", u8, w8_zmm, 4,
    |a, x, w| _mm512_add_epi32(a, _mm512_madd_epi16(_mm512_maddubs_epi16(x, w), _mm512_set1_epi16(1)))
);
gemm_kernel_512!(
    /// AVX-512 BW on zmm, i16 inputs (the first layer, |v| <= 255): exact `vpmaddwd`.
    gemm_i16_bw, gemm_i16_bw_relu, gemm_i16_bw_impl, Avx512Bw, "avx2,avx512f,avx512bw,avx512vl", i16, w16_zmm, 2,
    |a, x, w| _mm512_add_epi32(a, _mm512_madd_epi16(x, w))
);

/// Loads the i64 table entries of the even (`odd = false`) or odd outputs of the 16
/// outputs from `16 c`: the two 8-output blocks' halves, in the lane order of `vpmuldq` on
/// zmm (lane j: output 16 c + 2 j (+ 1)).
///
/// # Safety
/// AVX-512 F; `table.len() >= 16 (c + 1)`.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
#[inline]
unsafe fn halves(table: &[i64], c: usize, odd: bool) -> __m512i {
    let at = 16 * c + if odd { 4 } else { 0 };
    // SAFETY: at + 12 <= 16 (c + 1) <= table.len() (caller): both 4-lane loads in bounds.
    unsafe {
        let lo = _mm256_loadu_si256(table.as_ptr().add(at) as *const __m256i);
        let hi = _mm256_loadu_si256(table.as_ptr().add(at + 8) as *const __m256i);
        _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1)
    }
}

/// Requantises the first `blocks * 16` outputs of `n` pixels with ReLU into u8 on zmm:
/// `clamp(((acc + bias) * M + 2^(S-1)) >> S, 0, 255)`, the shift arithmetic (`vpsravq`) as
/// in the reference and the clamp in i64 (`vpmaxsq` / `vpminsq`): exact.
pub(super) fn requant_relu(
    _: Avx512Bw,
    p: &PackedLayer,
    acc: &[i32],
    n: usize,
    blocks: usize,
    y: &mut [u8],
    y_stride: usize,
) {
    super::assert_relu_bounds(p, acc, n, blocks * 16, y, y_stride);
    // SAFETY: the token proves AVX-512 F/BW/VL; the asserts bound every load (acc, rq_bias,
    // rq_mult, rq_shift, rq_round); `y` is written through bounds-checked slices.
    unsafe { requant_relu_zmm(p, acc, n, blocks, y, y_stride) }
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn requant_relu_zmm(
    p: &PackedLayer,
    acc: &[i32],
    n: usize,
    blocks: usize,
    y: &mut [u8],
    y_stride: usize,
) {
    for c in 0..blocks {
        // SAFETY: c < blocks and the asserts in `requant_relu`: 16 entries of every table.
        let rq = unsafe { ReluBlock::load(p, c) };
        for px in 0..n {
            // SAFETY: px < n, 16c + 16 <= out_pad: inside acc (n * out_pad values).
            let a = unsafe {
                _mm512_loadu_si512(acc.as_ptr().add(px * p.out_pad + 16 * c) as *const _)
            };
            let at = px * y_stride + 16 * c;
            let dst = &mut y[at..at + 16];
            // SAFETY: `dst` is 16 bytes: one unaligned 16-byte store fits.
            unsafe { _mm_storeu_si128(dst.as_mut_ptr() as *mut __m128i, rq.apply(a)) };
        }
    }
}

/// Requantises the first `blocks * 16` head outputs of one pixel on zmm:
/// `clamp(((acc + bias) * M + 2^(S-1)) >> S, -2^23, 2^23)` with the arithmetic `vpsravq`.
pub(super) fn requant_head(
    _: Avx512Bw,
    p: &PackedLayer,
    acc: &[i32],
    blocks: usize,
    out: &mut [i32],
) {
    super::assert_head_bounds(p, acc, blocks * 16, out, false);
    // SAFETY: the token proves AVX-512 F/BW/VL; the asserts bound every load (acc, rq_bias,
    // rq_mult, rq_shift, rq_round) and the store into `out`.
    unsafe { requant_head_zmm(p, acc, blocks, out) }
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn requant_head_zmm(p: &PackedLayer, acc: &[i32], blocks: usize, out: &mut [i32]) {
    let hi = _mm512_set1_epi64(1 << 23);
    let lo = _mm512_set1_epi64(-(1 << 23));
    for c in 0..blocks {
        // SAFETY: c < blocks and the asserts in `requant_head`: all loads in bounds.
        let (a, bias, m, s_even, s_odd, r_even, r_odd) = unsafe {
            (
                _mm512_loadu_si512(acc.as_ptr().add(16 * c) as *const _),
                _mm512_loadu_si512(p.rq_bias.as_ptr().add(16 * c) as *const _),
                _mm512_loadu_si512(p.rq_mult.as_ptr().add(16 * c) as *const _),
                halves(&p.rq_shift, c, false),
                halves(&p.rq_shift, c, true),
                halves(&p.rq_round, c, false),
                halves(&p.rq_round, c, true),
            )
        };
        let a = _mm512_add_epi32(a, bias);
        let even = _mm512_add_epi64(_mm512_mul_epi32(a, m), r_even);
        let odd = _mm512_add_epi64(
            _mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(m, 32)),
            r_odd,
        );
        let fix = |v: __m512i, s: __m512i| {
            _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(v, s), lo), hi)
        };
        // Low dwords of the even results, odd results moved into the high dwords.
        let q = _mm512_mask_blend_epi32(
            0b1010_1010_1010_1010,
            fix(even, s_even),
            _mm512_slli_epi64(fix(odd, s_odd), 32),
        );
        // SAFETY: 16 * c + 16 <= out.len() by the assert above.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(16 * c) as *mut _, q) };
    }
}
