//! WebAssembly SIMD128 kernels (built with `-C target-feature=+simd128`). Only exact
//! integer instructions: `i32x4.dot_i16x8_s` multiplies i16 pairs and adds them into i32
//! lanes; with |inputs| <= 255 and i8 weights no sum comes near i32 overflow, so results
//! equal the scalar reference bit for bit on every engine. The relaxed-SIMD dot products
//! are never used: their rounding and saturation are implementation-defined.
//!
//! WebAssembly has no run-time feature detection: a module using SIMD128 either validates
//! on the engine or does not load at all, so this level is chosen at compile time.
#![allow(unsafe_code)]

use core::arch::wasm32::*;

use super::{PackedLayer, PIXEL_BLOCK};

/// Proof that the module was built with SIMD128 (the only way this module exists).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Simd128(());

impl Simd128 {
    pub(crate) fn detect() -> Option<Self> {
        Some(Simd128(()))
    }
}

/// Sums adjacent i32 lane pairs of `a` and `b`: `[a0+a1, a2+a3, b0+b1, b2+b3]`.
#[inline(always)]
fn pair_sums(a: v128, b: v128) -> v128 {
    i32x4_add(
        i32x4_shuffle::<0, 2, 4, 6>(a, b),
        i32x4_shuffle::<1, 3, 5, 7>(a, b),
    )
}

/// u8 activations x i8 weights (widened to i16 in `PackedLayer::w16`, groups of 4 inputs:
/// `[k][out][4]`). Blocks of 2 pixels x 8 outputs; each weight vector holds two outputs'
/// 4 weights, so a dot product gives two partial sums per output, added at the end.
pub(super) fn gemm_u8(
    _: Simd128,
    p: &PackedLayer,
    x: &[u8],
    x_stride: usize,
    n: usize,
    acc: &mut [i32],
) {
    assert!(n.is_multiple_of(PIXEL_BLOCK) && x.len() >= n * x_stride && x_stride >= p.groups * 4);
    assert!(acc.len() >= n * p.out_pad && p.w16.len() == p.groups * p.out_pad * 4);
    assert!(p.out_pad.is_multiple_of(8));
    let w = p.w16.as_ptr();
    for p0 in (0..n).step_by(2) {
        for ob in (0..p.out_pad).step_by(8) {
            let mut a = [i32x4_splat(0); 8];
            for k in 0..p.groups {
                // SAFETY: k < groups and ob + 8 <= out_pad: the 32 i16 read lie inside the
                // packed weights (groups * out_pad * 4 values, asserted above).
                let wv = unsafe {
                    let wp = w.add((k * p.out_pad + ob) * 4) as *const v128;
                    [
                        v128_load(wp),
                        v128_load(wp.add(1)),
                        v128_load(wp.add(2)),
                        v128_load(wp.add(3)),
                    ]
                };
                for q in 0..2 {
                    let at = (p0 + q) * x_stride + 4 * k;
                    let xs = u32::from_le_bytes([x[at], x[at + 1], x[at + 2], x[at + 3]]);
                    // [x0, x1, x2, x3, x0, x1, x2, x3] as i16.
                    let xv = u16x8_extend_low_u8x16(u32x4_splat(xs));
                    for j in 0..4 {
                        a[4 * q + j] = i32x4_add(a[4 * q + j], i32x4_dot_i16x8(wv[j], xv));
                    }
                }
            }
            for q in 0..2 {
                let at = (p0 + q) * p.out_pad + ob;
                let dst = &mut acc[at..at + 8];
                let lo = pair_sums(a[4 * q], a[4 * q + 1]);
                let hi = pair_sums(a[4 * q + 2], a[4 * q + 3]);
                // SAFETY: `dst` is 8 i32 (32 bytes): two unaligned 16-byte stores fit.
                unsafe {
                    v128_store(dst.as_mut_ptr() as *mut v128, lo);
                    v128_store(dst.as_mut_ptr().add(4) as *mut v128, hi);
                }
            }
        }
    }
}

/// i16 inputs (the first layer, |v| <= 255) x i16 weights in groups of 2 (`[k][out][2]`):
/// one dot product gives four outputs' sums directly. Blocks of 4 pixels x 8 outputs.
pub(super) fn gemm_i16(
    _: Simd128,
    p: &PackedLayer,
    x: &[i16],
    x_stride: usize,
    n: usize,
    acc: &mut [i32],
) {
    assert!(n.is_multiple_of(PIXEL_BLOCK) && x.len() >= n * x_stride && x_stride >= p.groups * 2);
    assert!(acc.len() >= n * p.out_pad && p.w16.len() == p.groups * p.out_pad * 2);
    assert!(p.out_pad.is_multiple_of(8));
    let w = p.w16.as_ptr();
    for p0 in (0..n).step_by(4) {
        for ob in (0..p.out_pad).step_by(8) {
            let mut a = [i32x4_splat(0); 8];
            for k in 0..p.groups {
                // SAFETY: k < groups and ob + 8 <= out_pad: the 16 i16 read lie inside the
                // packed weights (groups * out_pad * 2 values, asserted above).
                let (w0, w1) = unsafe {
                    let wp = w.add((k * p.out_pad + ob) * 2) as *const v128;
                    (v128_load(wp), v128_load(wp.add(1)))
                };
                for q in 0..4 {
                    let at = (p0 + q) * x_stride + 2 * k;
                    let pair = u32::from(x[at] as u16) | (u32::from(x[at + 1] as u16) << 16);
                    let xv = u32x4_splat(pair);
                    a[2 * q] = i32x4_add(a[2 * q], i32x4_dot_i16x8(w0, xv));
                    a[2 * q + 1] = i32x4_add(a[2 * q + 1], i32x4_dot_i16x8(w1, xv));
                }
            }
            for q in 0..4 {
                let at = (p0 + q) * p.out_pad + ob;
                let dst = &mut acc[at..at + 8];
                // SAFETY: `dst` is 8 i32 (32 bytes): two unaligned 16-byte stores fit.
                unsafe {
                    v128_store(dst.as_mut_ptr() as *mut v128, a[2 * q]);
                    v128_store(dst.as_mut_ptr().add(4) as *mut v128, a[2 * q + 1]);
                }
            }
        }
    }
}
