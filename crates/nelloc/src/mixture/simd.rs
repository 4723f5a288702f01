//! Dispatch to the mixture's SIMD kernels (`zmm.rs`), bit-identical to the scalar
//! reference in `mod.rs`.

#[cfg(target_arch = "x86_64")]
use super::zmm;
use super::{Bases, Limits, MAX_C, MAX_K};

/// The per-pixel arrays of `PixelDist` that [`MixSimd::setup`] fills.
pub(crate) type MixParams<'a> = (
    &'a mut [u32; MAX_K],
    &'a mut [[i32; MAX_K]; MAX_C],
    &'a mut [[u32; MAX_K]; MAX_C],
    &'a mut [[i32; MAX_K]; MAX_C],
);

/// The mixture's SIMD kernels this CPU may run (see `zmm`): each call reports whether it
/// ran (or returns `None`) where there is none for the case, and the caller then runs the
/// scalar reference. Which one a decode uses is the caller's choice (`codec::engine`
/// follows the network's `NELLOC_SIMD` level); every choice gives the same bits.
#[derive(Clone, Copy)]
pub(crate) struct MixSimd(#[cfg(target_arch = "x86_64")] Option<zmm::Zmm>);

impl MixSimd {
    /// No SIMD: the reference arithmetic.
    pub(crate) fn reference() -> Self {
        MixSimd(
            #[cfg(target_arch = "x86_64")]
            None,
        )
    }

    /// The best kernels this CPU has.
    pub(crate) fn detect() -> Self {
        MixSimd(
            #[cfg(target_arch = "x86_64")]
            zmm::Zmm::detect(),
        )
    }

    /// `PixelDist`'s parameters from one pixel's head outputs (`(out, k, c, bases)`) into
    /// `(prior, mean, inv_scale, coef)`; returns whether it ran.
    #[inline]
    #[allow(unused_variables)]
    pub(crate) fn setup(
        self,
        (out, k, c, bases): (&[i32], usize, usize, Option<&Bases>),
        limits: &Limits,
        (prior, mean, inv_scale, coef): MixParams<'_>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = self.0.filter(|_| k <= zmm::LANES) {
            let head = zmm::Head { out, k, c, bases };
            let mut params = zmm::Params {
                prior,
                mean,
                inv_scale,
                coef,
            };
            zmm::setup(t, &head, limits, &mut params);
            return true;
        }
        false
    }

    /// The posterior weights `weights[i] * max(hi[i] - lo[i], 1)` renormalised to at most
    /// `bits` bits (see `super::ChannelDist::posterior`).
    #[inline]
    #[allow(unused_variables)]
    pub(crate) fn posterior(
        self,
        k: usize,
        weights: &[u32; MAX_K],
        (lo, hi): (&[u32; MAX_K], &[u32; MAX_K]),
        bits: u32,
    ) -> Option<[u32; MAX_K]> {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = self.0.filter(|_| k <= zmm::LANES) {
            return Some(zmm::posterior(t, k, weights, lo, hi, bits));
        }
        None
    }
}
