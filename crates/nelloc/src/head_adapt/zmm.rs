//! [`super::fmath`]'s `exp` and `ln` on zmm (AVX-512 F/DQ), eight f64 lanes at a time:
//! the same IEEE operations in the same order as the scalar functions (no fused
//! multiply-adds, the same clamps, roundings and power-of-two factors), so bit-identical
//! to them lane by lane; the fit's offsets, which go into the stream, do not depend on
//! which one ran. The fit spends most of its time in these two functions.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::fmath::{EXP_COEF, EXP_LEAD, LN2, LN2_HI, LN2_LO, LN_COEF, LN_LEAD, LN_TINY};

/// Proof that the CPU (and OS) support AVX-512 F and DQ: only [`Zmm::detect`] creates one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Zmm(());

impl Zmm {
    pub(super) fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq"))
            .then_some(Zmm(()))
    }
}

/// `v[i] = exp(v[i])` for every entry, as `super::fmath::exp`.
pub(super) fn exp_in_place(_: Zmm, v: &mut [f64]) {
    for chunk in v.chunks_mut(8) {
        // SAFETY: the token proves AVX-512 F/DQ; the chunk has 1 to 8 entries and the
        // masked load and store touch only those.
        unsafe { exp_chunk(chunk) }
    }
}

/// `v[i] = ln(v[i])` for every entry, as `super::fmath::ln`.
pub(super) fn ln_in_place(_: Zmm, v: &mut [f64]) {
    for chunk in v.chunks_mut(8) {
        // SAFETY: as in `exp_in_place`.
        unsafe { ln_chunk(chunk) }
    }
}

#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn exp_chunk(chunk: &mut [f64]) {
    let m: __mmask8 = ((1u16 << chunk.len()) - 1) as u8;
    // SAFETY: masked load of the chunk's `len <= 8` entries.
    let x = unsafe { _mm512_maskz_loadu_pd(m, chunk.as_ptr()) };
    // f64::clamp: max(lo, x) then min(hi, .) keep a NaN (the second operand wins).
    let x = _mm512_min_pd(
        _mm512_set1_pd(700.0),
        _mm512_max_pd(_mm512_set1_pd(-700.0), x),
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
    // NaN or <= 1e-300 (ordered greater-than fails for both): the floor value.
    let ok = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(x, _mm512_set1_pd(1e-300));
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
        let Some(t) = Zmm::detect() else {
            eprintln!("skipped: no AVX-512 F/DQ here");
            return;
        };
        let xs = inputs();
        // Every chunk length, so the masked tails are covered too.
        for len in 1..=9 {
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
