//! The encoder's choice of a non-neural coding for a plane group: the allowed modes are
//! tried (the deflate ones only when a probe says they can win) and the smallest framed
//! payload kept.

use super::context;
use super::mode::{TileMode, TileModes};
use super::palette::{distinct_values, indices, key, ordered, pack, palette_head, PaletteOrder};
use super::png::{best_filtering, deflate_final, may_reach};

/// The best cheap (non-neural) coding of a plane group, as framed payload bytes (what
/// follows the mode byte in the tile), or `None` when `modes` allows none that fits.
/// `plane` is `w * h * c` samples, interleaved. Every allowed mode is tried.
#[cfg(test)]
pub(crate) fn encode_cheap(
    plane: &[u8],
    w: usize,
    h: usize,
    c: usize,
    modes: TileModes,
) -> Option<(TileMode, Vec<u8>)> {
    let mut trials = CheapTrials::new(plane, w, h, c, modes);
    trials.deflate_trials(None);
    trials.finish(None)
}

/// A filtered candidate whose fast-deflate size times this is above the size to beat is
/// not deflated finally: it cannot win (the final deflate is at least 0.84 of the fast
/// one on those tiles).
const FINAL_GAIN_BOUND: f64 = 0.75;

/// The cheap-mode trials of one plane group, in two phases so that the encoder can run
/// the network between them: [`CheapTrials::new`] tries the modes that need no deflate
/// search (constant, palette, context); [`CheapTrials::deflate_trials`] the deflate
/// modes, skipping those a fast probe shows cannot beat the network or the best so far.
/// Candidates compete by the fast deflate of their best filtering (exact sizes for
/// context ones); only the winner gets the final deflate, in [`CheapTrials::finish`].
pub(crate) struct CheapTrials<'a> {
    plane: &'a [u8],
    w: usize,
    h: usize,
    c: usize,
    modes: TileModes,
    is_grey: bool,
    best: Option<(usize, TileMode, Candidate)>,
}

impl<'a> CheapTrials<'a> {
    /// Runs the trials that need no deflate search.
    pub(crate) fn new(plane: &'a [u8], w: usize, h: usize, c: usize, modes: TileModes) -> Self {
        let first = &plane[..c];
        let mut t = CheapTrials {
            plane,
            w,
            h,
            c,
            modes,
            is_grey: false,
            best: None,
        };
        if modes.contains(TileMode::Constant) && plane.chunks_exact(c).all(|p| p == first) {
            t.best = Some((c, TileMode::Constant, Candidate::Ready(first.to_vec())));
            return t;
        }
        t.is_grey = c > 1 && plane.chunks_exact(c).all(|p| p.iter().all(|&v| v == p[0]));
        let is_grey = t.is_grey;
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
                    t.keep(
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
                    t.keep(payload.len(), TileMode::Context, Candidate::Ready(payload));
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
            t.keep(payload.len(), TileMode::Context, Candidate::Ready(payload));
        }
        t
    }

    fn keep(&mut self, size: usize, mode: TileMode, cand: Candidate) {
        if self.best.as_ref().is_none_or(|b| size < b.0) {
            self.best = Some((size, mode, cand));
        }
    }

    /// Bytes of the best candidate so far (for a filtered one, by its fast deflate).
    pub(crate) fn best_size(&self) -> Option<usize> {
        self.best.as_ref().map(|b| b.0)
    }

    /// Runs the deflate-mode trials. `bound`: the bytes the group costs in another mode
    /// (the network), if known; a deflate mode is skipped when its probe shows it cannot
    /// beat that or the best cheap candidate so far.
    pub(crate) fn deflate_trials(&mut self, bound: Option<f64>) {
        // A one-colour plane is constant: nothing else is tried.
        if matches!(self.best, Some((_, TileMode::Constant, _))) {
            return;
        }
        let (plane, w, h, c) = (self.plane, self.w, self.h, self.c);
        let worth = |t: &Self, raw: &[u8], row_bytes: usize, bpp: usize| {
            [bound, t.best_size().map(|n| n as f64)]
                .into_iter()
                .flatten()
                .reduce(f64::min)
                .is_none_or(|limit| may_reach(raw, row_bytes, h, bpp, limit))
        };
        if self.is_grey && self.modes.contains(TileMode::Gray) {
            let grey: Vec<u8> = plane.iter().step_by(c).copied().collect();
            if worth(self, &grey, w, 1) {
                let (n, filtered) = best_filtering(&grey, w, h, 1);
                self.keep(
                    n,
                    TileMode::Gray,
                    Candidate::Filtered {
                        head: Vec::new(),
                        filtered,
                    },
                );
            }
        }
        if self.modes.contains(TileMode::Png) && worth(self, plane, w * c, c) {
            let (n, filtered) = best_filtering(plane, w * c, h, c);
            self.keep(
                n,
                TileMode::Png,
                Candidate::Filtered {
                    head: Vec::new(),
                    filtered,
                },
            );
        }
    }

    /// The best candidate as a framed payload, or `None` when there is none, or when
    /// `bound` (the bytes of another mode) is known and a filtered winner cannot beat it.
    pub(crate) fn finish(self, bound: Option<f64>) -> Option<(TileMode, Vec<u8>)> {
        let (n, mode, cand) = self.best?;
        match cand {
            Candidate::Ready(payload) => Some((mode, payload)),
            Candidate::Filtered { .. }
                if bound.is_some_and(|b| n as f64 * FINAL_GAIN_BOUND > b) =>
            {
                None
            }
            Candidate::Filtered { mut head, filtered } => {
                let z = deflate_final(&filtered);
                head.extend_from_slice(&(z.len() as u32).to_le_bytes());
                head.extend_from_slice(&z);
                Some((mode, head))
            }
        }
    }
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

    #[test]
    fn deflate_trials_run_unless_a_probe_shows_they_cannot_win() {
        // A block of noise repeated: deflate's long matches beat the context coder.
        let (w, h, c) = (96usize, 64usize, 3usize);
        let mut x = 12345u32;
        let motif: Vec<u8> = (0..1500)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 24) as u8
            })
            .collect();
        let plane: Vec<u8> = (0..w * h * c).map(|i| motif[i % motif.len()]).collect();
        let all = TileModes::all();
        let free = encode_cheap(&plane, w, h, c, all).unwrap();
        assert_eq!(free.0, TileMode::Png);
        // A network far worse than any candidate: the trials run, the same choice.
        let mut t = CheapTrials::new(&plane, w, h, c, all);
        t.deflate_trials(Some(1e9));
        assert_eq!(t.finish(Some(1e9)), Some(free));
        // A network far better: no deflate trial, and nothing deflated to beat it.
        let mut t = CheapTrials::new(&plane, w, h, c, all);
        t.deflate_trials(Some(1.0));
        assert_ne!(t.best.as_ref().map(|b| b.1), Some(TileMode::Png));
        let mut t = CheapTrials::new(&plane, w, h, c, TileModes::only(&[TileMode::Png]));
        t.deflate_trials(Some(1.0));
        assert!(t.finish(Some(1.0)).is_none());
    }
}
