//! x86-64 kernels on 256-bit vectors: AVX2, AVX-VNNI and AVX-512 VNNI. AVX2 `vpmaddubsw`
//! multiplies u8 activations by i8 weights and adds adjacent pairs in i16 with saturation;
//! weights in [-64, 63] bound each pair by 2*255*64 = 32640, so it never saturates and the
//! result equals the scalar reference exactly. VNNI accumulates in i32 directly.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::{PackedLayer, PIXEL_BLOCK};

/// Proof that the CPU has AVX2: only [`Avx2::detect`] (run-time detection) creates one,
/// and every AVX2 kernel takes one, so no code path can reach a kernel on a CPU without it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx2(());

impl Avx2 {
    pub(crate) fn detect() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

/// Proof that the CPU has AVX2 and AVX-512 F, VL and VNNI: only [`Vnni::detect`] creates one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Vnni(());

impl Vnni {
    pub(crate) fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vnni"))
        .then_some(Vnni(()))
    }

    /// VNNI support implies AVX2 (`detect` checked it).
    pub(crate) fn avx2(self) -> Avx2 {
        Avx2(())
    }
}

/// Proof that the CPU has AVX2 and AVX-VNNI (the VEX-encoded 256-bit `vpdpbusd` of Intel
/// client cores without AVX-512): only [`AvxVnni::detect`] creates one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct AvxVnni(Avx2);

impl AvxVnni {
    pub(crate) fn detect() -> Option<Self> {
        let avx2 = Avx2::detect()?;
        is_x86_feature_detected!("avxvnni").then_some(AvxVnni(avx2))
    }

    /// The AVX2 token `detect` obtained.
    pub(crate) fn avx2(self) -> Avx2 {
        self.0
    }
}

/// Generates a GEMM kernel: a safe entry point that checks every bound the loops use, and
/// its `#[target_feature]` body. Blocks of 4 pixels x 16 outputs (8 accumulators); per
/// group of `G` inputs, one broadcast of the pixel's G inputs (4 bytes) against the packed
/// weights of 16 outputs, accumulated by `$step(acc, inputs, weights)`.
macro_rules! gemm_kernel {
    ($(#[$doc:meta])* $name:ident, $body:ident, $token:ty, $features:literal, $x:ty, $w:ident, $group:literal, $step:expr) => {
        $(#[$doc])*
        pub(super) fn $name(_: $token, p: &PackedLayer, x: &[$x], x_stride: usize, n: usize, acc: &mut [i32]) {
            assert!(n.is_multiple_of(PIXEL_BLOCK) && x.len() >= n * x_stride && x_stride >= p.groups * $group);
            assert!(acc.len() >= n * p.out_pad && p.$w.len() == p.groups * p.out_pad * $group);
            assert!(p.out_pad.is_multiple_of(16));
            // SAFETY: the token exists only if run-time detection found the CPU features in
            // `$features`; the asserts above bound every load and store inside.
            unsafe { $body(p, x, x_stride, n, acc) }
        }

        #[target_feature(enable = $features)]
        unsafe fn $body(p: &PackedLayer, x: &[$x], x_stride: usize, n: usize, acc: &mut [i32]) {
            let w = p.$w.as_ptr();
            let xp = x.as_ptr();
            let ap = acc.as_mut_ptr();
            // 8 outputs x G inputs of weights fill one 256-bit vector.
            let half = 8 * $group;
            for p0 in (0..n).step_by(4) {
                for ob in (0..p.out_pad).step_by(16) {
                    let mut a = [_mm256_setzero_si256(); 8];
                    for k in 0..p.groups {
                        // SAFETY: k < groups and ob + 16 <= out_pad: both loads lie inside
                        // the packed weights (groups * out_pad * G elements).
                        let wp = unsafe { w.add((k * p.out_pad + ob) * $group) };
                        let w0 = unsafe { _mm256_loadu_si256(wp as *const __m256i) };
                        let w1 = unsafe { _mm256_loadu_si256(wp.add(half) as *const __m256i) };
                        for q in 0..4 {
                            // SAFETY: pixel p0 + q < n and G(k + 1) <= x_stride: inside x.
                            let xv = unsafe { (xp.add((p0 + q) * x_stride + $group * k) as *const i32).read_unaligned() };
                            let xb = _mm256_set1_epi32(xv);
                            a[2 * q] = $step(a[2 * q], xb, w0);
                            a[2 * q + 1] = $step(a[2 * q + 1], xb, w1);
                        }
                    }
                    for q in 0..4 {
                        // SAFETY: (p0 + q) * out_pad + ob + 16 <= n * out_pad <= acc.len().
                        unsafe {
                            let dst = ap.add((p0 + q) * p.out_pad + ob);
                            _mm256_storeu_si256(dst as *mut __m256i, a[2 * q]);
                            _mm256_storeu_si256(dst.add(8) as *mut __m256i, a[2 * q + 1]);
                        }
                    }
                }
            }
        }
    };
}

gemm_kernel!(
    /// u8 activations x i8 weights, AVX2: `vpmaddubsw` pair sums are exact in i16 because
    /// |weights| <= 64, then `vpmaddwd` with ones widens to i32.
    gemm_u8, gemm_u8_avx2, Avx2, "avx2", u8, w8, 4,
    |a, x, w| _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1)))
);
gemm_kernel!(
    /// i16 inputs (the first layer, |v| <= 255) x i16 weights, AVX2: exact `vpmaddwd`.
    gemm_i16, gemm_i16_avx2, Avx2, "avx2", i16, w16, 2,
    |a, x, w| _mm256_add_epi32(a, _mm256_madd_epi16(x, w))
);
gemm_kernel!(
    /// AVX-512 VNNI on 256-bit vectors: `vpdpbusd` adds four u8*i8 products into each
    /// i32 lane without intermediate saturation (exact for any weights).
    gemm_u8_vnni, gemm_u8_vnni_impl, Vnni, "avx2,avx512f,avx512vl,avx512vnni", u8, w8, 4,
    |a, x, w| _mm256_dpbusd_epi32(a, x, w)
);
gemm_kernel!(
    /// AVX-512 VNNI: `vpdpwssd` adds two i16*i16 products into each i32 lane.
    gemm_i16_vnni, gemm_i16_vnni_impl, Vnni, "avx2,avx512f,avx512vl,avx512vnni", i16, w16, 2,
    |a, x, w| _mm256_dpwssd_epi32(a, x, w)
);

gemm_kernel!(
    /// AVX-VNNI (VEX, 256-bit): `vpdpbusd` as in the AVX-512 VNNI kernel, exact.
    gemm_u8_avxvnni, gemm_u8_avxvnni_impl, AvxVnni, "avx2,avxvnni", u8, w8, 4,
    |a, x, w| _mm256_dpbusd_avx_epi32(a, x, w)
);
gemm_kernel!(
    /// AVX-VNNI (VEX, 256-bit): `vpdpwssd` adds two i16*i16 products into each i32 lane.
    gemm_i16_avxvnni, gemm_i16_avxvnni_impl, AvxVnni, "avx2,avxvnni", i16, w16, 2,
    |a, x, w| _mm256_dpwssd_avx_epi32(a, x, w)
);

/// Requantises the first `blocks * 8` outputs of `n` pixels with ReLU into u8:
/// `clamp((acc + bias) * M + 2^(S-1)) >> S, 0, 255)`. A negative i64 value floors to a
/// negative result, which clamps to 0, so the shift only ever sees non-negative values
/// and the logical `vpsrlvq` equals the arithmetic shift of the reference.
pub(super) fn requant_relu(
    _: Avx2,
    p: &PackedLayer,
    acc: &[i32],
    n: usize,
    blocks: usize,
    y: &mut [u8],
    y_stride: usize,
) {
    super::assert_relu_bounds(p, acc, n, blocks * 8, y, y_stride);
    // SAFETY: the token proves AVX2; the asserts bound every load (acc, rq_bias, rq_mult,
    // rq_shift, rq_round); `y` is written through bounds-checked slices.
    unsafe { requant_relu_avx2(p, acc, n, blocks, y, y_stride) }
}

#[target_feature(enable = "avx2")]
unsafe fn requant_relu_avx2(
    p: &PackedLayer,
    acc: &[i32],
    n: usize,
    blocks: usize,
    y: &mut [u8],
    y_stride: usize,
) {
    let zero = _mm256_setzero_si256();
    let max = _mm256_set1_epi64x(255);
    for b in 0..blocks {
        // Constants of this block stay in registers across the pixels.
        // SAFETY: b < blocks and the asserts in `requant_relu`: 8 i32 / 8 i64 in bounds.
        let (bias, m, s_even, s_odd, r_even, r_odd) = unsafe {
            (
                _mm256_loadu_si256(p.rq_bias.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_mult.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_shift.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_shift.as_ptr().add(8 * b + 4) as *const __m256i),
                _mm256_loadu_si256(p.rq_round.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_round.as_ptr().add(8 * b + 4) as *const __m256i),
            )
        };
        let m_odd = _mm256_srli_epi64(m, 32);
        for px in 0..n {
            // SAFETY: px < n, 8b + 8 <= out_pad: inside acc (n * out_pad values).
            let a = unsafe {
                _mm256_loadu_si256(acc.as_ptr().add(px * p.out_pad + 8 * b) as *const __m256i)
            };
            let a = _mm256_add_epi32(a, bias);
            // Signed 32x32->64 products of the even and the odd outputs.
            let even = _mm256_add_epi64(_mm256_mul_epi32(a, m), r_even);
            let odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), m_odd), r_odd);
            let fix = |v: __m256i, s: __m256i| {
                let v = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, v), v);
                let q = _mm256_srlv_epi64(v, s);
                _mm256_blendv_epi8(q, max, _mm256_cmpgt_epi64(q, max))
            };
            let q = _mm256_or_si256(fix(even, s_even), _mm256_slli_epi64(fix(odd, s_odd), 32));
            let w16 = _mm256_packus_epi32(q, q);
            let w8 = _mm256_packus_epi16(w16, w16);
            let lo = _mm256_cvtsi256_si32(w8) as u32;
            let hi = _mm256_extract_epi32(w8, 4) as u32;
            let at = px * y_stride + 8 * b;
            y[at..at + 4].copy_from_slice(&lo.to_le_bytes());
            y[at + 4..at + 8].copy_from_slice(&hi.to_le_bytes());
        }
    }
}

/// Requantises the first `blocks * 8` head outputs of one pixel:
/// `clamp(((acc + bias) * M + 2^(S-1)) >> S, -2^23, 2^23)` with an arithmetic shift,
/// computed as `((v + 2^62) >>> S) - 2^(62-S)` (exact: |v| < 2^62, and 2^62 is a multiple
/// of 2^S, so the offset passes through the floor unchanged).
pub(super) fn requant_head(_: Avx2, p: &PackedLayer, acc: &[i32], blocks: usize, out: &mut [i32]) {
    super::assert_head_bounds(p, acc, blocks * 8, out, true);
    // SAFETY: the token proves AVX2; the asserts bound every load (acc, rq_bias, rq_mult,
    // rq_shift, rq_round, rq_off) and the store into `out`.
    unsafe { requant_head_avx2(p, acc, blocks, out) }
}

#[target_feature(enable = "avx2")]
unsafe fn requant_head_avx2(p: &PackedLayer, acc: &[i32], blocks: usize, out: &mut [i32]) {
    let big = _mm256_set1_epi64x(1 << 62);
    let hi = _mm256_set1_epi64x(1 << 23);
    let lo = _mm256_set1_epi64x(-(1 << 23));
    for b in 0..blocks {
        // SAFETY: b < blocks and the asserts in `requant_head`: all loads in bounds.
        let (a, bias, m, s_even, s_odd, r_even, r_odd, o_even, o_odd) = unsafe {
            (
                _mm256_loadu_si256(acc.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_bias.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_mult.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_shift.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_shift.as_ptr().add(8 * b + 4) as *const __m256i),
                _mm256_loadu_si256(p.rq_round.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_round.as_ptr().add(8 * b + 4) as *const __m256i),
                _mm256_loadu_si256(p.rq_off.as_ptr().add(8 * b) as *const __m256i),
                _mm256_loadu_si256(p.rq_off.as_ptr().add(8 * b + 4) as *const __m256i),
            )
        };
        let a = _mm256_add_epi32(a, bias);
        let even = _mm256_add_epi64(_mm256_mul_epi32(a, m), r_even);
        let odd = _mm256_add_epi64(
            _mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(m, 32)),
            r_odd,
        );
        let fix = |v: __m256i, s: __m256i, off: __m256i| {
            let q = _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_add_epi64(v, big), s), off);
            let q = _mm256_blendv_epi8(q, hi, _mm256_cmpgt_epi64(q, hi));
            _mm256_blendv_epi8(q, lo, _mm256_cmpgt_epi64(lo, q))
        };
        // Low dwords of the even results, odd results moved into the high dwords.
        let q = _mm256_blend_epi32(
            fix(even, s_even, o_even),
            _mm256_slli_epi64(fix(odd, s_odd, o_odd), 32),
            0b1010_1010,
        );
        // SAFETY: 8 * b + 8 <= out.len() by the assert above.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(8 * b) as *mut __m256i, q) };
    }
}
