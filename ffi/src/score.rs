//! Likelihood and out-of-distribution scores (`nlc_score`, `nlc_bits_map`; docs/OOD.md).

use std::ffi::c_char;
use std::sync::Arc;

use nelloc::Model;

use crate::ffi::{handle, optional, out_ptr, path, put_sized, sized_out, SizedStruct};
use crate::image::nlc_image;
use crate::options::nlc_encoder_options;
use crate::status::{guard, nlc_status, Failure};

/// Out-of-distribution scores of an image, filled by `nlc_score`; all in bits per subpixel,
/// oriented "higher = more unusual". Set `struct_size` to `sizeof(nlc_scores)` first.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct nlc_scores {
    /// `sizeof(nlc_scores)` as the caller compiled it: set it before the call (see
    /// `nlc_pixels.struct_size`).
    pub struct_size: usize,
    /// Colour samples scored (width x height x colour channels; alpha is not scored).
    pub samples: u64,
    /// Raw likelihood: the model's ideal code length per subpixel.
    pub bpsp: f64,
    /// A generic classical predictive coder's code length per subpixel.
    pub generic_bpsp: f64,
    /// Complexity-corrected likelihood: `bpsp - generic_bpsp`.
    pub complexity: f64,
    /// The background model's code length per subpixel (0 without a background model).
    pub background_bpsp: f64,
    /// Likelihood ratio: `bpsp - background_bpsp` (0 without a background model).
    pub ratio: f64,
    /// 95th percentile over 16x16 blocks of the block's `model - generic` bits per subpixel.
    pub local: f64,
    /// 1 if `background_bpsp` and `ratio` were computed, else 0.
    pub has_background: u32,
    /// Share of the model's bits spent on the colour channels after the first (0 for one
    /// channel): near 0 for a grey image under an RGB model.
    pub chroma_share: f64,
    /// The model's bits per sample of each colour channel (unused channels 0).
    pub channel_bpsp: [f64; 3],
    /// The generic coder's bits per sample of each colour channel (unused channels 0).
    pub generic_channel_bpsp: [f64; 3],
    /// 50th, 90th and 99th percentile of the per-pixel model bits per subpixel.
    pub quantiles: [f64; 3],
    /// Share of pixels coded in under 0.25 bits per subpixel (flat areas).
    pub flat: f64,
    /// Standard deviation over 16x16 blocks of the block's model bits per subpixel.
    pub spread: f64,
}

impl SizedStruct for nlc_scores {
    // The first release ended at `has_background`; `chroma_share` (a `double`, like the
    // fields before) was the first field appended, so its offset is the old `sizeof`.
    const FIRST_SIZE: usize = std::mem::offset_of!(nlc_scores, chroma_share);
    fn set_struct_size(&mut self, size: usize) {
        self.struct_size = size;
    }
}

/// Scoring options from encoder options: the same models, tile size and threads, so that
/// the bits are those the encoder would code.
fn score_options(opts: Option<&nlc_encoder_options>) -> nelloc::score::ScoreOptions {
    let mut s = nelloc::score::ScoreOptions::default();
    if let Some(o) = opts {
        s.threads = o.inner.threads;
        s.tile_size = o.inner.tile_size;
        s.model = o.inner.model.clone();
        s.alpha_model = o.inner.alpha_model.clone();
        s.limits = o.inner.limits;
        s.device = o.inner.device;
    }
    s
}

/// Likelihood and out-of-distribution scores of `image`'s colour channels under the colour
/// model of `options` (NULL: the defaults, i.e. the built-in model for the image's
/// channels). `background` names the weaker model of the likelihood-ratio score: a
/// built-in model name (e.g. "fast") or a model file path; NULL for none. The image's
/// colour channels must match the models' (convert grey to RGB first to score it with an
/// RGB model). No stream is written: this is the fast path.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `options` NULL or a live handle;
/// `background` NULL or a NUL-terminated string; `out` NULL (an error) or the caller's
/// struct with `struct_size` set (read first; at most that many bytes are written).
#[no_mangle]
pub unsafe extern "C" fn nlc_score(
    image: *const nlc_image,
    options: *const nlc_encoder_options,
    background: *const c_char,
    out: *mut nlc_scores,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let mut opts = score_options(unsafe { optional(options) });
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        if !background.is_null() {
            // SAFETY: non-null and NUL-terminated by the function's contract.
            let spec = unsafe { self::path(background, "background") }?;
            let builtin = spec.to_str().and_then(nelloc::model::builtin_by_name);
            opts.background = Some(match builtin {
                Some(m) => m,
                None => Arc::new(Model::from_file(&spec).map_err(|e| {
                    let mut f = Failure::from(e);
                    f.message = format!("background {}: {}", spec.display(), f.message);
                    f
                })?),
            });
        }
        let s = nelloc::score::score(img.as_ref(), &opts)?;
        let value = nlc_scores {
            struct_size: 0,
            samples: s.samples,
            bpsp: s.bpsp,
            generic_bpsp: s.generic_bpsp,
            complexity: s.complexity,
            background_bpsp: s.background_bpsp.unwrap_or(0.0),
            ratio: s.ratio.unwrap_or(0.0),
            local: s.local,
            has_background: u32::from(s.background_bpsp.is_some()),
            chroma_share: s.chroma_share(),
            channel_bpsp: s.channel_bpsp,
            generic_channel_bpsp: s.generic_channel_bpsp,
            quantiles: s.quantiles,
            flat: s.flat,
            spread: s.spread,
        };
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, value, size) };
        Ok(())
    })
}

/// Code length of every pixel of `image` in bits (all its coded samples: colour, and alpha
/// when it varies), as the encoder with `options` (NULL: the defaults) would code it with
/// every tile neural; they add up to that ideal code length. `bits` receives `count`
/// values in raster order; `count` must be the image's width x height.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `options` NULL or a live handle;
/// `bits` NULL (an error) or valid for writes of `count` doubles.
#[no_mangle]
pub unsafe extern "C" fn nlc_bits_map(
    image: *const nlc_image,
    options: *const nlc_encoder_options,
    bits: *mut f64,
    count: usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let opts = score_options(unsafe { optional(options) });
        out_ptr(bits, "bits")?;
        let pixels = img.width() as usize * img.height() as usize;
        if count != pixels {
            return Err(Failure::invalid(format!(
                "count is {count}, expected width x height = {pixels}"
            )));
        }
        let map = nelloc::score::bits_map(img.as_ref(), &opts)?;
        // SAFETY: `bits` is non-null and valid for `count` doubles by contract; the map
        // has exactly `count` values and the regions are distinct.
        unsafe { std::ptr::copy_nonoverlapping(map.bits().as_ptr(), bits, count) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::tests::OldCaller;

    #[test]
    fn nlc_scores_first_size_is_pinned() {
        // 8 + 8 + 6 * 8 + 4 = 68, padded to the `double`s' 8.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(nlc_scores::FIRST_SIZE, 72);
    }

    #[test]
    fn a_first_release_caller_of_nlc_score_gets_its_prefix() {
        // A 16x16 grey image under the built-in grey model: small and fast.
        let px: Vec<u8> = (0..=255).collect();
        let mut img = std::ptr::null_mut();
        let mut old = OldCaller::<{ nlc_scores::FIRST_SIZE }>::new();
        // SAFETY: `px` holds the image; `old` is writable and aligned; freed once.
        unsafe {
            let gray = crate::nlc_color_type::NLC_COLOR_GRAY8 as u32;
            let st = crate::image::nlc_image_new(16, 16, gray, px.as_ptr(), 0, &mut img);
            assert_eq!(st, nlc_status::NLC_OK);
            let st = nlc_score(img, std::ptr::null(), std::ptr::null(), old.as_mut_ptr());
            assert_eq!(st, nlc_status::NLC_OK);
            crate::image::nlc_image_free(img);
        }
        old.assert_prefix_only();
        let samples = old.u64_at(std::mem::offset_of!(nlc_scores, samples));
        assert_eq!(samples, 256);
        assert!(old.f64_at(std::mem::offset_of!(nlc_scores, bpsp)) > 0.0);
    }
}
