//! The mixture's per-pixel parameters and posterior weights on zmm (AVX-512 F/BW/VL), one
//! lane per component (up to 16): the integer definitions of docs/FORMAT.md ("Mixture
//! head") evaluated lane by lane in the same widths (the same clamps, table lookups as
//! gathers, u64 products, the same shift and floor), so bit-identical to the scalar
//! reference in `crate::mixture`. (The CDF edges stay scalar: a 16-lane gather of the
//! sigmoid table measured slower than ten pipelined lookups on the search's serial path.)
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::avx512::Avx512Bw;
use crate::mixture::tables::{EXP_NEG, INV_SCALE, TANH};
use crate::mixture::{head_len, Bases, Limits, MAX_C, MAX_K};

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

/// One pixel's head outputs, as `PixelDist::with_simd` reads them.
pub(crate) struct Head<'a> {
    pub(crate) out: &'a [i32],
    pub(crate) k: usize,
    pub(crate) c: usize,
    pub(crate) bases: Option<&'a Bases>,
}

/// The parameters `PixelDist::with_simd` derives from them (the first `k` entries of
/// each row written; the rest left as they are).
pub(crate) struct Params<'a> {
    pub(crate) prior: &'a mut [u32; MAX_K],
    pub(crate) mean: &'a mut [[i32; MAX_K]; MAX_C],
    pub(crate) inv_scale: &'a mut [[u32; MAX_K]; MAX_C],
    pub(crate) coef: &'a mut [[i32; MAX_K]; MAX_C],
}

/// Prior weights `EXP_NEG[min(max - l_i, 4096)]` of the clamped logits, means
/// `clamp(base + mean)`, `INV_SCALE` of the clamped ln-scales and `TANH` of the clamped
/// coupling coefficients, for `k <= LANES` components and `c <= MAX_C` channels.
pub(crate) fn setup(_: Avx512Bw, h: &Head<'_>, lim: &Limits, p: &mut Params<'_>) {
    assert!(h.k <= LANES && h.c <= MAX_C && h.out.len() >= head_len(h.k, h.c));
    // SAFETY: the token proves AVX-512 F/BW/VL; every masked load reads k entries at an
    // offset of at most head_len - k (asserted) or of a MAX_K-entry row; every gather
    // index is clamped into its table; masked stores write k <= 16 entries of MAX_K rows.
    unsafe { setup_zmm(h, lim, p) }
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn setup_zmm(h: &Head<'_>, lim: &Limits, p: &mut Params<'_>) {
    let (k, c) = (h.k, h.c);
    let m = lanes(k);
    let zero = _mm512_setzero_si512();
    let clamp = |v: __m512i, lo: i32, hi: i32| {
        _mm512_min_epi32(
            _mm512_max_epi32(v, _mm512_set1_epi32(lo)),
            _mm512_set1_epi32(hi),
        )
    };
    // SAFETY (the closures): `at + k <= head_len(k, c) <= out.len()` at every call below.
    let load = |at: usize| unsafe { _mm512_maskz_loadu_epi32(m, h.out.as_ptr().add(at)) };
    let l = clamp(load(0), lim.logit.0, lim.logit.1);
    let max = if k == 0 {
        0
    } else {
        _mm512_mask_reduce_max_epi32(m, l)
    };
    let dist = _mm512_min_epi32(
        _mm512_sub_epi32(_mm512_set1_epi32(max), l),
        _mm512_set1_epi32(4096),
    );
    // SAFETY: 0 <= dist <= 4096 < EXP_NEG.len(); k lanes stored into a MAX_K row.
    unsafe {
        let v = _mm512_mask_i32gather_epi32::<4>(zero, m, dist, EXP_NEG.as_ptr() as *const i32);
        _mm512_mask_storeu_epi32(p.prior.as_mut_ptr() as *mut i32, m, v);
    }
    for ch in 0..c {
        let base = match h.bases {
            // SAFETY: k <= 16 entries of a MAX_K row.
            Some(b) => unsafe { _mm512_maskz_loadu_epi32(m, b[ch].as_ptr()) },
            None => zero,
        };
        // |base| <= 65280 and |out| <= 2^23: the sum cannot overflow.
        let mean = clamp(
            _mm512_add_epi32(base, load(k + ch * k)),
            lim.mean.0,
            lim.mean.1,
        );
        let lns = clamp(load(k + (c + ch) * k), lim.lns.0, lim.lns.1);
        let idx = _mm512_sub_epi32(lns, _mm512_set1_epi32(lim.lns.0));
        // SAFETY: 0 <= idx <= LNS_MAX - LNS_MIN < INV_SCALE.len(); k lanes per store.
        unsafe {
            _mm512_mask_storeu_epi32(p.mean[ch].as_mut_ptr(), m, mean);
            let v =
                _mm512_mask_i32gather_epi32::<4>(zero, m, idx, INV_SCALE.as_ptr() as *const i32);
            _mm512_mask_storeu_epi32(p.inv_scale[ch].as_mut_ptr() as *mut i32, m, v);
        }
    }
    for pair in 0..c * (c - 1) / 2 {
        let raw = clamp(load(k + 2 * c * k + pair * k), -lim.coef, lim.coef);
        let idx = _mm512_add_epi32(raw, _mm512_set1_epi32(lim.coef));
        // SAFETY: 0 <= idx <= 2 COEF_MAX < TANH.len(); k lanes per store.
        unsafe {
            let v = _mm512_mask_i32gather_epi32::<4>(zero, m, idx, TANH.as_ptr());
            _mm512_mask_storeu_epi32(p.coef[pair].as_mut_ptr(), m, v);
        }
    }
}

/// The mask of the first `k <= 16` lanes.
fn lanes(k: usize) -> __mmask16 {
    ((1u32 << k) - 1) as __mmask16
}
