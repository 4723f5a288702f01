//! [`super::fmath`]'s `exp` and `ln` on zmm (AVX-512 F/DQ, eight f64 lanes at a time) and
//! on ymm (AVX2, four): the same IEEE operations in the same order as the scalar functions
//! (no fused multiply-adds, the same clamps, roundings and power-of-two factors), so
//! bit-identical to them lane by lane; the fit's offsets, which go into the stream, do not
//! depend on which one ran. The fit spends most of its time in these two functions.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::fmath::{
    EXP_COEF, EXP_LEAD, EXP_MAX, LN2, LN2_HI, LN2_LO, LN_COEF, LN_LEAD, LN_MIN, LN_TINY,
};

/// A vector level the CPU (and OS) support; only [`Level::detect`] and
/// [`Level::available`] create one, so holding it proves the features.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Level {
    /// AVX-512 F and DQ.
    Zmm(Token),
    /// AVX2.
    Ymm(Token),
}

/// The private part of a [`Level`]: only this module makes one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Token(());

impl Level {
    /// The widest level this CPU has.
    pub(super) fn detect() -> Option<Self> {
        Self::available().into_iter().next()
    }

    /// Every level this CPU has, widest first.
    pub(super) fn available() -> Vec<Self> {
        let mut v = Vec::new();
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq") {
            v.push(Level::Zmm(Token(())));
        }
        if is_x86_feature_detected!("avx2") {
            v.push(Level::Ymm(Token(())));
        }
        v
    }
}

/// `v[i] = exp(v[i])` for every entry, as `super::fmath::exp`.
pub(super) fn exp_in_place(level: Level, v: &mut [f64]) {
    match level {
        Level::Zmm(_) => v.chunks_mut(8).for_each(|chunk| {
            // SAFETY: the token proves AVX-512 F/DQ; the chunk has 1 to 8 entries and
            // the masked load and store touch only those.
            unsafe { exp_chunk(chunk) }
        }),
        Level::Ymm(_) => v.chunks_mut(4).for_each(|chunk| {
            // SAFETY: the token proves AVX2; the chunk has 1 to 4 entries and the masked
            // load and store touch only those.
            unsafe { exp_chunk_ymm(chunk) }
        }),
    }
}

/// `v[i] = ln(v[i])` for every entry, as `super::fmath::ln`.
pub(super) fn ln_in_place(level: Level, v: &mut [f64]) {
    match level {
        Level::Zmm(_) => v.chunks_mut(8).for_each(|chunk| {
            // SAFETY: as in `exp_in_place`.
            unsafe { ln_chunk(chunk) }
        }),
        Level::Ymm(_) => v.chunks_mut(4).for_each(|chunk| {
            // SAFETY: as in `exp_in_place`.
            unsafe { ln_chunk_ymm(chunk) }
        }),
    }
}

/// Lanes `0..len` of a ymm mask (the sign bit of each 64-bit lane), `len <= 4`.
#[target_feature(enable = "avx2")]
fn ymm_mask(len: usize) -> __m256i {
    let lane = _mm256_set_epi64x(3, 2, 1, 0);
    _mm256_cmpgt_epi64(_mm256_set1_epi64x(len as i64), lane)
}

#[target_feature(enable = "avx2")]
unsafe fn exp_chunk_ymm(chunk: &mut [f64]) {
    let m = ymm_mask(chunk.len());
    // SAFETY: masked load of the chunk's `len <= 4` entries.
    let x = unsafe { _mm256_maskload_pd(chunk.as_ptr(), m) };
    // f64::clamp, a NaN kept (as on zmm).
    let x = _mm256_min_pd(
        _mm256_set1_pd(EXP_MAX),
        _mm256_max_pd(_mm256_set1_pd(-EXP_MAX), x),
    );
    let y = _mm256_mul_pd(x, _mm256_set1_pd(std::f64::consts::LOG2_E));
    let nonneg = _mm256_cmp_pd::<_CMP_GE_OQ>(y, _mm256_setzero_pd());
    let half = _mm256_blendv_pd(_mm256_set1_pd(-0.5), _mm256_set1_pd(0.5), nonneg);
    // `as i64 as f64` for |y| <= 1010: truncation to i32 is the same integer.
    let ni = _mm256_cvttpd_epi32(_mm256_add_pd(y, half));
    let n = _mm256_cvtepi32_pd(ni);
    let r = _mm256_sub_pd(
        _mm256_sub_pd(x, _mm256_mul_pd(n, _mm256_set1_pd(LN2_HI))),
        _mm256_mul_pd(n, _mm256_set1_pd(LN2_LO)),
    );
    let mut p = _mm256_set1_pd(EXP_LEAD);
    for c in EXP_COEF {
        p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(c));
    }
    // 2^n as 2^(n/2) * 2^(n - n/2), n/2 truncated towards zero.
    let halfn = _mm_srai_epi32::<1>(_mm_add_epi32(ni, _mm_srli_epi32::<31>(ni)));
    let rest = _mm_sub_epi32(ni, halfn);
    let bias = _mm_set1_epi32(1023);
    let pow = |e: __m128i| {
        _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_cvtepi32_epi64(
            _mm_add_epi32(e, bias),
        )))
    };
    let out = _mm256_mul_pd(p, _mm256_mul_pd(pow(halfn), pow(rest)));
    // SAFETY: masked store of the same entries.
    unsafe { _mm256_maskstore_pd(chunk.as_mut_ptr(), m, out) }
}

#[target_feature(enable = "avx2")]
unsafe fn ln_chunk_ymm(chunk: &mut [f64]) {
    let mk = ymm_mask(chunk.len());
    // SAFETY: masked load of the chunk's `len <= 4` entries (the rest read as 0.0, whose
    // floor value is computed and not stored).
    let x = unsafe { _mm256_maskload_pd(chunk.as_ptr(), mk) };
    let ok = _mm256_cmp_pd::<_CMP_GT_OQ>(x, _mm256_set1_pd(LN_MIN));
    let bits = _mm256_castpd_si256(x);
    let e = _mm256_sub_epi64(
        _mm256_and_si256(_mm256_srli_epi64::<52>(bits), _mm256_set1_epi64x(0x7ff)),
        _mm256_set1_epi64x(1023),
    );
    let mant = _mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi64x((1i64 << 52) - 1)),
        _mm256_set1_epi64x(1023i64 << 52),
    );
    let m = _mm256_castsi256_pd(mant);
    let big = _mm256_cmp_pd::<_CMP_GT_OQ>(m, _mm256_set1_pd(std::f64::consts::SQRT_2));
    let m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
    // A true compare lane is all ones (-1): subtracting it adds 1.
    let e = _mm256_sub_epi64(e, _mm256_castpd_si256(big));
    let one = _mm256_set1_pd(1.0);
    let s = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one));
    let s2 = _mm256_mul_pd(s, s);
    let mut p = _mm256_set1_pd(LN_LEAD);
    for c in LN_COEF {
        p = _mm256_add_pd(_mm256_mul_pd(p, s2), _mm256_set1_pd(c));
    }
    // |e| <= 1024: its low 32 bits are the integer; gather them and convert.
    let low = _mm256_permutevar8x32_epi32(e, _mm256_set_epi32(7, 5, 3, 1, 6, 4, 2, 0));
    let ef = _mm256_cvtepi32_pd(_mm256_castsi256_si128(low));
    let v = _mm256_add_pd(
        _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(2.0), s), p),
        _mm256_mul_pd(ef, _mm256_set1_pd(LN2)),
    );
    let out = _mm256_blendv_pd(_mm256_set1_pd(LN_TINY), v, ok);
    // SAFETY: masked store of the chunk's entries.
    unsafe { _mm256_maskstore_pd(chunk.as_mut_ptr(), mk, out) }
}

#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn exp_chunk(chunk: &mut [f64]) {
    let m: __mmask8 = ((1u16 << chunk.len()) - 1) as u8;
    // SAFETY: masked load of the chunk's `len <= 8` entries.
    let x = unsafe { _mm512_maskz_loadu_pd(m, chunk.as_ptr()) };
    // f64::clamp: max(lo, x) then min(hi, .) keep a NaN (the second operand wins).
    let x = _mm512_min_pd(
        _mm512_set1_pd(EXP_MAX),
        _mm512_max_pd(_mm512_set1_pd(-EXP_MAX), x),
    );
    let y = _mm512_mul_pd(x, _mm512_set1_pd(std::f64::consts::LOG2_E));
    let nonneg = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(y, _mm512_setzero_pd());
    let half = _mm512_mask_blend_pd(nonneg, _mm512_set1_pd(-0.5), _mm512_set1_pd(0.5));
    // `as i64 as f64`: truncation towards zero, then back (|y| <= 1010: exact).
    let ni = _mm512_cvttpd_epi64(_mm512_add_pd(y, half));
    let n = _mm512_cvtepi64_pd(ni);
    let r = _mm512_sub_pd(
        _mm512_sub_pd(x, _mm512_mul_pd(n, _mm512_set1_pd(LN2_HI))),
        _mm512_mul_pd(n, _mm512_set1_pd(LN2_LO)),
    );
    let mut p = _mm512_set1_pd(EXP_LEAD);
    for c in EXP_COEF {
        p = _mm512_add_pd(_mm512_mul_pd(p, r), _mm512_set1_pd(c));
    }
    // 2^n as 2^(n/2) * 2^(n - n/2), n/2 truncated towards zero (as i32 division).
    let halfn = _mm512_srai_epi64::<1>(_mm512_add_epi64(ni, _mm512_srli_epi64::<63>(ni)));
    let rest = _mm512_sub_epi64(ni, halfn);
    let bias = _mm512_set1_epi64(1023);
    let f1 = _mm512_castsi512_pd(_mm512_slli_epi64::<52>(_mm512_add_epi64(halfn, bias)));
    let f2 = _mm512_castsi512_pd(_mm512_slli_epi64::<52>(_mm512_add_epi64(rest, bias)));
    let out = _mm512_mul_pd(p, _mm512_mul_pd(f1, f2));
    // SAFETY: masked store of the same entries.
    unsafe { _mm512_mask_storeu_pd(chunk.as_mut_ptr(), m, out) }
}

#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn ln_chunk(chunk: &mut [f64]) {
    let mk: __mmask8 = ((1u16 << chunk.len()) - 1) as u8;
    // SAFETY: masked load of the chunk's `len <= 8` entries (the rest read as 1.0, whose
    // logarithm is computed and not stored).
    let x = unsafe { _mm512_mask_loadu_pd(_mm512_set1_pd(1.0), mk, chunk.as_ptr()) };
    // NaN or <= LN_MIN (ordered greater-than fails for both): the floor value.
    let ok = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(x, _mm512_set1_pd(LN_MIN));
    let bits = _mm512_castpd_si512(x);
    let e = _mm512_sub_epi64(
        _mm512_and_si512(_mm512_srli_epi64::<52>(bits), _mm512_set1_epi64(0x7ff)),
        _mm512_set1_epi64(1023),
    );
    let mant = _mm512_or_si512(
        _mm512_and_si512(bits, _mm512_set1_epi64((1i64 << 52) - 1)),
        _mm512_set1_epi64(1023i64 << 52),
    );
    let m = _mm512_castsi512_pd(mant);
    let big = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(m, _mm512_set1_pd(std::f64::consts::SQRT_2));
    let m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
    let e = _mm512_mask_add_epi64(e, big, e, _mm512_set1_epi64(1));
    let one = _mm512_set1_pd(1.0);
    let s = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one));
    let s2 = _mm512_mul_pd(s, s);
    let mut p = _mm512_set1_pd(LN_LEAD);
    for c in LN_COEF {
        p = _mm512_add_pd(_mm512_mul_pd(p, s2), _mm512_set1_pd(c));
    }
    let ef = _mm512_cvtepi64_pd(e);
    let v = _mm512_add_pd(
        _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(2.0), s), p),
        _mm512_mul_pd(ef, _mm512_set1_pd(LN2)),
    );
    let out = _mm512_mask_blend_pd(ok, _mm512_set1_pd(LN_TINY), v);
    // SAFETY: masked store of the chunk's entries.
    unsafe { _mm512_mask_storeu_pd(chunk.as_mut_ptr(), mk, out) }
}

#[cfg(test)]
mod tests {
    use super::super::fmath::{exp, ln};
    use super::*;

    /// Inputs that reach every branch: the clamps, n = 0 from both sides, odd and even
    /// negative n (the power-of-two split), subnormal results, NaN, zeros, the mantissa
    /// split at sqrt(2), infinities.
    fn inputs() -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            0.3,
            -0.3,
            0.35,
            -0.35,
            700.0,
            -700.0,
            701.5,
            -1e6,
            1e6,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            1e-300,
            1.0000000000000002e-300,
            5e-324,
            std::f64::consts::SQRT_2,
            std::f64::consts::SQRT_2 * (1.0 + f64::EPSILON),
            std::f64::consts::SQRT_2 * (1.0 - f64::EPSILON),
            f64::MAX,
            -745.0,
            -709.5,
        ];
        let mut s = 0x2545_f491_4f6c_dd1du64;
        for i in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            v.push(match i % 4 {
                0 => (u - 0.5) * 1500.0,
                1 => (u - 0.5) * 20.0,
                2 => f64::from_bits(s >> 1),
                _ => u * 4.0,
            });
        }
        v
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn bit_identical_to_the_scalar_functions() {
        let levels = Level::available();
        if levels.is_empty() {
            eprintln!("skipped: neither AVX-512 F/DQ nor AVX2 here");
        }
        let xs = inputs();
        // Every chunk length, so the masked tails are covered too.
        for (t, len) in levels
            .iter()
            .flat_map(|&t| (1..=9).map(move |len| (t, len)))
        {
            for chunk in xs.chunks(len) {
                let mut e = chunk.to_vec();
                exp_in_place(t, &mut e);
                let mut l = chunk.to_vec();
                ln_in_place(t, &mut l);
                for (i, &x) in chunk.iter().enumerate() {
                    assert!(
                        same(e[i], exp(x)),
                        "exp({x:e}): zmm {:e}, scalar {:e}",
                        e[i],
                        exp(x)
                    );
                    assert!(
                        same(l[i], ln(x)),
                        "ln({x:e}): zmm {:e}, scalar {:e}",
                        l[i],
                        ln(x)
                    );
                }
            }
        }
    }
}
