//! The encoder's choice of a non-neural coding for a plane group: every allowed mode is
//! tried and the smallest framed payload kept.

use super::context;
use super::mode::{TileMode, TileModes};
use super::palette::{distinct_values, indices, key, ordered, pack, palette_head, PaletteOrder};
use super::png::{best_filtering, deflate_final};

/// The best cheap (non-neural) coding of a plane group, as framed payload bytes (what
/// follows the mode byte in the tile), or `None` when `modes` allows none that fits.
/// `plane` is `w * h * c` samples, interleaved. Palette and png candidates are compared
/// by a fast deflate of their best filtering; only the winner gets the final deflate.
/// Context candidates are coded exactly (the coder is fast) and compete with the
/// estimate of the deflate candidates.
pub(crate) fn encode_cheap(
    plane: &[u8],
    w: usize,
    h: usize,
    c: usize,
    modes: TileModes,
) -> Option<(TileMode, Vec<u8>)> {
    let first = &plane[..c];
    if modes.contains(TileMode::Constant) && plane.chunks_exact(c).all(|p| p == first) {
        return Some((TileMode::Constant, first.to_vec()));
    }
    let mut best: Option<(usize, TileMode, Candidate)> = None;
    let mut keep = |size: usize, mode: TileMode, cand: Candidate| {
        if best.as_ref().is_none_or(|b| size < b.0) {
            best = Some((size, mode, cand));
        }
    };
    let is_grey = c > 1 && plane.chunks_exact(c).all(|p| p.iter().all(|&v| v == p[0]));
    let counts = if modes.contains(TileMode::Palette) || modes.contains(TileMode::Context) {
        distinct_values(plane, c)
    } else {
        None
    };
    if let Some(counts) = &counts {
        for order in [
            PaletteOrder::Value,
            PaletteOrder::Luma,
            PaletteOrder::Frequency,
        ] {
            let colours = ordered(counts, c, order);
            let idx = indices(plane, c, &colours);
            if modes.contains(TileMode::Palette) {
                let (packed, row_bytes) = pack(&idx, w, colours.len());
                let head = palette_head(&colours, c, false);
                let (n, filtered) = best_filtering(&packed, row_bytes, h, 1);
                keep(
                    n + head.len(),
                    TileMode::Palette,
                    Candidate::Filtered { head, filtered },
                );
            }
            // The value and luma orders are the same for grey content.
            let same_as_value = matches!(order, PaletteOrder::Luma) && (c == 1 || is_grey);
            if modes.contains(TileMode::Context) && !same_as_value {
                let keys: Vec<u32> = idx.iter().map(|&i| u32::from(i)).collect();
                let payload = context_payload(
                    u8::from(is_grey),
                    palette_head(&colours, c, is_grey),
                    &keys,
                    w,
                    context::Alphabet::Palette(colours.len()),
                );
                keep(payload.len(), TileMode::Context, Candidate::Ready(payload));
            }
        }
    }
    if modes.contains(TileMode::Context) {
        let per = if is_grey { 1 } else { c };
        let keys: Vec<u32> = plane.chunks_exact(c).map(|p| key(&p[..per])).collect();
        let payload = context_payload(
            u8::from(is_grey) | 2,
            Vec::new(),
            &keys,
            w,
            context::Alphabet::Direct(per),
        );
        keep(payload.len(), TileMode::Context, Candidate::Ready(payload));
    }
    if is_grey && modes.contains(TileMode::Gray) {
        let grey: Vec<u8> = plane.iter().step_by(c).copied().collect();
        let (n, filtered) = best_filtering(&grey, w, h, 1);
        keep(
            n,
            TileMode::Gray,
            Candidate::Filtered {
                head: Vec::new(),
                filtered,
            },
        );
    }
    if modes.contains(TileMode::Png) {
        let (n, filtered) = best_filtering(plane, w * c, h, c);
        keep(
            n,
            TileMode::Png,
            Candidate::Filtered {
                head: Vec::new(),
                filtered,
            },
        );
    }
    best.map(|(_, mode, cand)| match cand {
        Candidate::Ready(payload) => (mode, payload),
        Candidate::Filtered { mut head, filtered } => {
            let z = deflate_final(&filtered);
            head.extend_from_slice(&(z.len() as u32).to_le_bytes());
            head.extend_from_slice(&z);
            (mode, head)
        }
    })
}

/// A context payload: the flags byte, `head` (the palette, if any), then the length and
/// the ANS stream of `keys`.
fn context_payload(
    flags: u8,
    head: Vec<u8>,
    keys: &[u32],
    w: usize,
    alphabet: context::Alphabet,
) -> Vec<u8> {
    let stream = context::encode(keys, w, alphabet);
    let mut payload = Vec::with_capacity(1 + head.len() + 4 + stream.len());
    payload.push(flags);
    payload.extend(head);
    payload.extend_from_slice(&(stream.len() as u32).to_le_bytes());
    payload.extend_from_slice(&stream);
    payload
}

/// A cheap-mode candidate of [`encode_cheap`].
enum Candidate {
    /// Header bytes before the zlib length, and the filtered rows still to deflate.
    Filtered { head: Vec<u8>, filtered: Vec<u8> },
    /// The complete payload.
    Ready(Vec<u8>),
}

#[cfg(test)]
mod tests {
    use super::super::{decode_payload, parse_tile, write_tile, ContainerVersion};
    use super::*;

    /// Encodes, frames, parses and decodes one plane group; returns the mode chosen.
    fn roundtrip(plane: &[u8], w: usize, h: usize, c: usize, modes: TileModes) -> TileMode {
        let (mode, payload) = encode_cheap(plane, w, h, c, modes).expect("a mode fits");
        let version = ContainerVersion::for_modes([mode]);
        let tile = write_tile(version, &[mode], &[&payload], &[]);
        let layout = parse_tile(&tile, &[c], version).unwrap();
        let mut buf = vec![0u8; w * h * c];
        decode_payload(&layout.groups[0], w, h, c, &mut buf, c, 0, &|| false).unwrap();
        assert_eq!(buf, plane);
        mode
    }

    #[test]
    fn every_cheap_mode_round_trips() {
        let (w, h) = (13usize, 7usize);
        let flat = vec![9u8; w * h * 3];
        assert_eq!(
            roundtrip(&flat, w, h, 3, TileModes::all()),
            TileMode::Constant
        );
        let noise: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
        assert_eq!(
            roundtrip(&noise, w, h, 3, TileModes::only(&[TileMode::Png])),
            TileMode::Png
        );
        for colours in [2usize, 3, 5, 17, 256] {
            let plane: Vec<u8> = (0..w * h).map(|i| (i * 31 % colours) as u8).collect();
            let m = roundtrip(&plane, w, h, 1, TileModes::only(&[TileMode::Palette]));
            assert_eq!(m, TileMode::Palette);
        }
        let grey: Vec<u8> = (0..w * h).flat_map(|i| [(i % 7) as u8; 3]).collect();
        let m = roundtrip(&grey, w, h, 3, TileModes::only(&[TileMode::Context]));
        assert_eq!(m, TileMode::Context);
    }
}
