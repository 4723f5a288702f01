//! The mixture's posterior weights on zmm (AVX-512 F/BW/VL), one lane per component (up
//! to 16): the integer definition of docs/FORMAT.md ("Mixture head") evaluated lane by
//! lane in the same widths (u64 products, the same shift and floor), so bit-identical to
//! the scalar reference in `crate::mixture`. (The CDF edges stay scalar: a 16-lane
//! gather of the sigmoid table measured slower than ten pipelined lookups.)
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::avx512::Avx512Bw;
use crate::mixture::MAX_K;

/// Most components the zmm kernels take (one per 32-bit lane).
pub(crate) const LANES: usize = 16;

/// The products `weights[i] * max(hi[i] - lo[i], 1)` of the posterior (`hi >= lo` lane by
/// lane: the edges of one bin), renormalised as `crate::mixture::renormalise` does: shifted
/// right until the largest has at most `bits` bits, floored at 1. `k <= LANES`.
pub(crate) fn posterior(
    _: Avx512Bw,
    k: usize,
    weights: &[u32; MAX_K],
    lo: &[u32; MAX_K],
    hi: &[u32; MAX_K],
    bits: u32,
) -> [u32; MAX_K] {
    assert!(k <= LANES);
    // SAFETY: the token proves AVX-512 F/BW/VL; masked loads and stores of k <= 16
    // entries of MAX_K-entry arrays.
    unsafe { posterior_zmm(k, weights, lo, hi, bits) }
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn posterior_zmm(
    k: usize,
    weights: &[u32; MAX_K],
    lo: &[u32; MAX_K],
    hi: &[u32; MAX_K],
    bits: u32,
) -> [u32; MAX_K] {
    let mask = lanes(k);
    // SAFETY: masked loads of the first k <= 16 entries.
    let (w, l, h) = unsafe {
        (
            _mm512_maskz_loadu_epi32(mask, weights.as_ptr() as *const i32),
            _mm512_maskz_loadu_epi32(mask, lo.as_ptr() as *const i32),
            _mm512_maskz_loadu_epi32(mask, hi.as_ptr() as *const i32),
        )
    };
    let mass = _mm512_max_epu32(_mm512_sub_epi32(h, l), _mm512_set1_epi32(1));
    let pe = _mm512_mul_epu32(w, mass);
    let po = _mm512_mul_epu32(_mm512_srli_epi64(w, 32), _mm512_srli_epi64(mass, 32));
    let max = _mm512_reduce_max_epu64(_mm512_max_epu64(pe, po));
    // As the reference: a zero maximum (k = 0) shifts by nothing.
    let shift = (64 - max.leading_zeros()).saturating_sub(bits);
    let count = _mm_cvtsi32_si128(shift as i32);
    let qe = _mm512_srl_epi64(pe, count);
    let qo = _mm512_srl_epi64(po, count);
    // Each shifted product fits in `bits` (< 32) bits: low dwords, odd ones moved up.
    let q = _mm512_mask_blend_epi32(0xAAAA, qe, _mm512_slli_epi64(qo, 32));
    let q = _mm512_max_epu32(q, _mm512_set1_epi32(1));
    let mut out = [0u32; MAX_K];
    // SAFETY: masked store of the first k <= 16 entries of a MAX_K-entry array.
    unsafe { _mm512_mask_storeu_epi32(out.as_mut_ptr() as *mut i32, mask, q) };
    out
}

/// The mask of the first `k <= 16` lanes.
fn lanes(k: usize) -> __mmask16 {
    ((1u32 << k) - 1) as __mmask16
}
