//! Alpha policy: how a stream stores alpha, and the constant-alpha fill.

use crate::container::AlphaMode;
use crate::image::ImageRef;
use crate::schedule::TileRect;

/// How `image`'s alpha is stored: not at all (no alpha channel), as one constant when
/// every pixel has the same alpha (nothing coded), else coded with the alpha model.
pub(crate) fn choose(image: &ImageRef<'_>) -> AlphaMode {
    let color = image.color();
    if !color.has_alpha() {
        return AlphaMode::None;
    }
    let (cc, ch) = (color.color_channels(), color.channels());
    let first = image.pixels()[cc];
    if image.pixels().chunks_exact(ch).all(|p| p[cc] == first) {
        AlphaMode::Constant(first)
    } else {
        AlphaMode::Coded
    }
}

/// Sets channel `cc` of every pixel of rectangle `r` of an interleaved image to `v`.
pub(super) fn fill(
    pixels: &mut [u8],
    row_bytes: usize,
    r: &TileRect,
    stride: usize,
    cc: usize,
    v: u8,
) {
    for y in r.y..r.y + r.h {
        pixels[y * row_bytes + r.x * stride..][..r.w * stride]
            .chunks_exact_mut(stride)
            .for_each(|p| p[cc] = v);
    }
}
