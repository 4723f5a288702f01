//! The encoder's choice of a non-neural coding for a plane group: the allowed modes are
//! tried (the deflate ones only when a probe says they can win, each trial only as long as
//! it can; the direct context one only until it is far behind the network) and the
//! smallest framed payload kept.

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
    let mut trials = CheapTrials::new(plane, w, h, c, modes, None);
    trials.resume_direct(None);
    trials.deflate_trials(None, None);
    trials.finish(None)
}

/// A filtered candidate whose fast-deflate size times this is above the size to beat is
/// not deflated finally: it cannot win (the final deflate is at least 0.84 of the fast
/// one on those tiles).
const FINAL_GAIN_BOUND: f64 = 0.75;

/// The network's information content of a plane group, per row: what a paused direct
/// context trial is compared with.
pub(crate) struct NeuralRows {
    /// `prefix[y]`: information of rows `0..y` in 2^-16 bits (`h + 1` entries).
    pub(crate) prefix: Vec<u64>,
}

/// A direct context trial is abandoned after row `y` (of `h`) when its information so far
/// exceeds the network's on the same rows by this factor (and [`ABANDON_SLACK_Q16`]), once
/// `8 y >= h` and `y >=` [`ABANDON_MIN_ROWS`]: on photographs the context coder costs
/// 1.1 to 1.3 times the network throughout a tile, so the rest of the tile cannot close
/// the gap; deflate is then tried only if its probes on those rows may reach the
/// network. The one early exit that can change a choice; measured in
/// docs/PERFORMANCE.md ("Encode cost"): no file of the validation crops, the fixtures or
/// the `tools/content.py` sets changed.
const ABANDON_RATIO: (u64, u64) = (11, 10);
/// Fewest rows a direct trial codes before the ratio may stop it.
const ABANDON_MIN_ROWS: usize = 32;
/// Bits (2^-16) the direct trial may exceed the network by before the ratio counts.
const ABANDON_SLACK_Q16: u64 = 512 << 16;
/// Bytes above the caller's pause bound the direct trial's information must reach
/// before it pauses (the trial goes on later unless abandoned, so this is only a cost).
const PAUSE_SLACK: u64 = 64;

/// Direct context trials left out (tests check that the early exit was exercised).
#[cfg(test)]
pub(crate) static ABANDONED: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// The cheap-mode trials of one plane group, in phases so that the encoder can run the
/// network between them: [`CheapTrials::new`] tries the modes that need no deflate search
/// (constant, palette, context; the direct context trial may pause), then, with the
/// network's figures, [`CheapTrials::resume_direct`] goes on with the paused trial
/// (which may stop where it has lost) and [`CheapTrials::deflate_trials`] runs the
/// deflate modes, skipping those a fast probe shows cannot beat the network or the best
/// so far, and stopping a trial once its size so far cannot win. Candidates compete by
/// the fast deflate of their best filtering (exact sizes for context ones); only the
/// winner gets the final deflate, in [`CheapTrials::finish`].
pub(crate) struct CheapTrials<'a> {
    plane: &'a [u8],
    w: usize,
    h: usize,
    c: usize,
    modes: TileModes,
    is_grey: bool,
    best: Option<Kept>,
    /// Candidates so far, in the order the modes are listed here: what breaks ties.
    made: u32,
    /// Palette orderings whose deflate search waits for the network's size (see
    /// [`Palette`]).
    palettes: Vec<Palette>,
    /// The direct context trial while paused, and its flags byte.
    direct: Option<(context::Trial, u8)>,
    /// Where a paused trial lost: the rows coded and the network's bytes on them.
    lost_at: Option<(usize, f64)>,
}

impl<'a> CheapTrials<'a> {
    /// Runs the trials that need no deflate search. With `pause_above` (bytes), the direct
    /// context trial pauses once its information is clearly above that; the caller resumes
    /// it with [`CheapTrials::resume_direct`] before anything else.
    pub(crate) fn new(
        plane: &'a [u8],
        w: usize,
        h: usize,
        c: usize,
        modes: TileModes,
        pause_above: Option<usize>,
    ) -> Self {
        let first = &plane[..c];
        let mut t = CheapTrials {
            plane,
            w,
            h,
            c,
            modes,
            is_grey: false,
            best: None,
            made: 0,
            palettes: Vec::new(),
            direct: None,
            lost_at: None,
        };
        if modes.contains(TileMode::Constant) && plane.chunks_exact(c).all(|p| p == first) {
            t.keep(c, TileMode::Constant, Candidate::Ready(first.to_vec()));
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
                    let palette = Palette {
                        seq: t.next_seq(),
                        head,
                        packed,
                        row_bytes,
                    };
                    // Where the network may be used, only a search that may reach the
                    // near-zero size (which skips the network) runs now; the rest
                    // waits for the network's size, which its probe then has to reach.
                    let room = |nz: usize| nz as f64 - palette.head.len() as f64;
                    match pause_above {
                        Some(nz) if !may_reach(&palette.packed, row_bytes, h, 1, room(nz)) => {
                            t.palettes.push(palette)
                        }
                        _ => t.palette_trial(palette, None),
                    }
                }
                // The value and luma orders are the same for grey content.
                let same_as_value = matches!(order, PaletteOrder::Luma) && (c == 1 || is_grey);
                if modes.contains(TileMode::Context) && !same_as_value {
                    let keys: Vec<u32> = idx.iter().map(|&i| u32::from(i)).collect();
                    let payload = context_payload(
                        u8::from(is_grey),
                        palette_head(&colours, c, is_grey),
                        context::Trial::new(keys, w, context::Alphabet::Palette(colours.len())),
                    );
                    let seq = t.next_seq();
                    t.keep_as(
                        seq,
                        payload.len(),
                        TileMode::Context,
                        Candidate::Ready(payload),
                    );
                }
            }
        }
        if modes.contains(TileMode::Context) {
            let per = if is_grey { 1 } else { c };
            let keys: Vec<u32> = plane.chunks_exact(c).map(|p| key(&p[..per])).collect();
            let mut trial = context::Trial::new(keys, w, context::Alphabet::Direct(per));
            let flags = u8::from(is_grey) | 2;
            let done = match pause_above {
                None => true,
                Some(limit) => {
                    let limit = ((limit as u64 + PAUSE_SLACK) * 8) << 16;
                    trial.run(|_, info| info <= limit)
                }
            };
            t.direct = Some((trial, flags));
            if done {
                t.complete_direct();
            }
        }
        t
    }

    /// The next candidate's place in the order of ties.
    fn next_seq(&mut self) -> u32 {
        self.made += 1;
        self.made
    }

    /// Keeps a candidate made now (after every other) if it is smaller than the best.
    fn keep(&mut self, size: usize, mode: TileMode, cand: Candidate) {
        let seq = self.next_seq();
        self.keep_as(seq, size, mode, cand);
    }

    /// Keeps the candidate of place `seq` if it beats the best: smaller, or as small
    /// and earlier (so a search run later than its place chooses as if run in order).
    fn keep_as(&mut self, seq: u32, size: usize, mode: TileMode, cand: Candidate) {
        if !self.loses(seq, size) {
            self.best = Some(Kept {
                size,
                seq,
                mode,
                cand,
            });
        }
    }

    /// Whether a candidate of `size` bytes and place `seq` would not replace the best.
    fn loses(&self, seq: u32, size: usize) -> bool {
        self.best
            .as_ref()
            .is_some_and(|b| (size, seq) >= (b.size, b.seq))
    }

    /// Bytes of the best candidate so far (for a filtered one, by its fast deflate).
    pub(crate) fn best_size(&self) -> Option<usize> {
        self.best.as_ref().map(|b| b.size)
    }

    /// The deflate search of one filtered candidate of place `seq`: `raw` is `h` rows of
    /// `row_bytes` at `bpp` bytes per pixel, `head` the payload bytes before its zlib
    /// stream. A size that would not replace the best (ties keep the earlier place), or
    /// that `finish` would drop against `neural` (the network's bytes, by
    /// [`FINAL_GAIN_BOUND`]), need not be known exactly.
    fn deflate_trial(
        &mut self,
        (seq, mode, head): (u32, TileMode, Vec<u8>),
        (raw, row_bytes, bpp): (&[u8], usize, usize),
        neural: Option<f64>,
    ) {
        let len = head.len();
        let useless = |n: usize| {
            self.loses(seq, n + len)
                || neural.is_some_and(|b| (n + len) as f64 * FINAL_GAIN_BOUND > b)
        };
        if let Some((n, filtered)) = best_filtering(raw, row_bytes, self.h, bpp, &useless) {
            self.keep_as(seq, n + len, mode, Candidate::Filtered { head, filtered });
        }
    }

    /// [`Self::deflate_trial`] of one palette ordering.
    fn palette_trial(&mut self, p: Palette, neural: Option<f64>) {
        let Palette {
            seq,
            head,
            packed,
            row_bytes,
        } = p;
        self.deflate_trial(
            (seq, TileMode::Palette, head),
            (&packed, row_bytes, 1),
            neural,
        );
    }

    /// Whether the direct context trial is paused (see [`CheapTrials::new`]).
    pub(crate) fn paused(&self) -> bool {
        self.direct.is_some()
    }

    /// Goes on with a paused direct context trial: to the end, or, given the network's
    /// information per row (`neural`), until it is well above the network's on the rows
    /// coded ([`ABANDON_RATIO`]); it then stays paused, the deflate trials run only if a
    /// probe on the rows coded says they may win, and it is completed before they run or
    /// where a cheap winner may beat the network ([`Self::deflate_trials`],
    /// [`Self::finish`]). Otherwise it is left out: the one early exit that can change a
    /// choice (where the rest of the tile would have brought it, or deflate, below the
    /// network); measured in docs/PERFORMANCE.md.
    pub(crate) fn resume_direct(&mut self, neural: Option<&NeuralRows>) {
        let Some((trial, _)) = self.direct.as_mut() else {
            return;
        };
        let h = self.h as u64;
        let mut lost_at = None;
        let done = trial.run(|y, info| {
            let Some(rows) = neural else {
                return true;
            };
            let nn = rows.prefix.get(y).copied().unwrap_or(u64::MAX);
            let total = rows.prefix.last().copied().unwrap_or(u64::MAX);
            let (num, den) = ABANDON_RATIO;
            // Above the network's whole tile, or well above it on the rows so far.
            let lost = info > total.saturating_add(ABANDON_SLACK_Q16)
                || (8 * y as u64 >= h
                    && y >= ABANDON_MIN_ROWS
                    && info.saturating_mul(den)
                        > nn.saturating_add(ABANDON_SLACK_Q16).saturating_mul(num));
            if lost {
                lost_at = Some((y, nn as f64 / f64::from(8u32 << 16)));
            }
            !lost
        });
        self.lost_at = lost_at;
        if done {
            self.complete_direct();
        }
    }

    /// Runs a paused direct context trial to the end and weighs its payload.
    fn complete_direct(&mut self) {
        if let Some((trial, flags)) = self.direct.take() {
            let payload = context_payload(flags, Vec::new(), trial);
            // Its place is where it completes, as when it ran without pausing: after
            // every candidate made before.
            self.keep(payload.len(), TileMode::Context, Candidate::Ready(payload));
        }
    }

    /// Runs the deflate-mode trials. `bound`: the bytes the group costs in another mode
    /// (the network, or the caller's budget), if known; a deflate mode is skipped when its
    /// probe shows it cannot beat that or the best cheap candidate so far. `neural`: the
    /// network's bytes, if known: a trial stops once its size is above what [`Self::finish`]
    /// would keep (exact: the choice is the same as running it to the end). Where the
    /// direct context trial lost to the network, nothing is tried unless deflate's probes
    /// on the rows it coded may reach the network's bytes on them.
    pub(crate) fn deflate_trials(&mut self, bound: Option<f64>, neural: Option<f64>) {
        // A one-colour plane is constant: nothing else is tried.
        if matches!(
            self.best,
            Some(Kept {
                mode: TileMode::Constant,
                ..
            })
        ) {
            return;
        }
        let (plane, w, h, c) = (self.plane, self.w, self.h, self.c);
        // Where the direct context trial lost to the network, the plain deflate modes are
        // tried only when their probes on the same rows may reach the network's bytes
        // there (the content has long matches the context coder and the network do not
        // see). Decided before the palette searches, which may complete the trial.
        let plain = self.direct.is_none() || {
            let (y, nn) = self.lost_at.unwrap_or((h, 0.0));
            may_reach(&plane[..y * w * c], w * c, y, c, nn)
        };
        let limit = |t: &Self, head: usize| {
            [bound, t.best_size().map(|n| n as f64)]
                .into_iter()
                .flatten()
                .reduce(f64::min)
                .map(|l| l - head as f64)
        };
        // The probe against the best so far (less the candidate's header bytes); a paused
        // direct trial can only lower the limit, so it is completed (and the probe
        // repeated if the limit fell) only when the probe passes without it: the trial
        // then runs as if nothing had paused.
        let worth = |t: &mut Self, raw: &[u8], row_bytes: usize, bpp: usize, head: usize| {
            let probe = |l: Option<f64>| l.is_none_or(|l| may_reach(raw, row_bytes, h, bpp, l));
            let before = limit(t, head);
            if !probe(before) {
                return false;
            }
            t.complete_direct();
            let after = limit(t, head);
            after == before || probe(after)
        };
        // The palette searches that waited for the network (palette indices deflate
        // unlike the raw rows, so the lost rows' probe does not speak for them).
        for p in std::mem::take(&mut self.palettes) {
            if worth(&mut *self, &p.packed, p.row_bytes, 1, p.head.len()) {
                self.palette_trial(p, neural);
            }
        }
        if !plain {
            return;
        }
        if self.is_grey && self.modes.contains(TileMode::Gray) {
            let grey: Vec<u8> = plane.iter().step_by(c).copied().collect();
            if worth(&mut *self, &grey, w, 1, 0) {
                let seq = self.next_seq();
                self.deflate_trial((seq, TileMode::Gray, Vec::new()), (&grey, w, 1), neural);
            }
        }
        if self.modes.contains(TileMode::Png) && worth(&mut *self, plane, w * c, c, 0) {
            let seq = self.next_seq();
            self.deflate_trial((seq, TileMode::Png, Vec::new()), (plane, w * c, c), neural);
        }
    }

    /// The best candidate as a framed payload, or `None` when there is none, or when
    /// `bound` (the bytes of another mode) is known and a filtered winner cannot beat it.
    /// A paused direct context trial is completed first when the best so far may beat
    /// `bound` (the trial may be smaller still).
    pub(crate) fn finish(mut self, bound: Option<f64>) -> Option<(TileMode, Vec<u8>)> {
        let may_win = |t: &Self| match &t.best {
            None => false,
            Some(Kept {
                size,
                cand: Candidate::Ready(p),
                ..
            }) => {
                debug_assert_eq!(*size, p.len());
                bound.is_none_or(|b| b >= (p.len() + 1) as f64)
            }
            Some(Kept {
                size,
                cand: Candidate::Filtered { .. },
                ..
            }) => bound.is_none_or(|b| *size as f64 * FINAL_GAIN_BOUND <= b),
        };
        if self.direct.is_some() && (bound.is_none() || may_win(&self)) {
            self.complete_direct();
        }
        #[cfg(test)]
        if self.direct.is_some() {
            ABANDONED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let Kept {
            size: n,
            mode,
            cand,
            ..
        } = self.best?;
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
/// the ANS stream of the trial's keys.
fn context_payload(flags: u8, head: Vec<u8>, trial: context::Trial) -> Vec<u8> {
    let stream = trial.stream();
    let mut payload = Vec::with_capacity(1 + head.len() + 4 + stream.len());
    payload.push(flags);
    payload.extend(head);
    payload.extend_from_slice(&(stream.len() as u32).to_le_bytes());
    payload.extend_from_slice(&stream);
    payload
}

/// The best candidate so far: its size (for a filtered one, by its fast deflate), its
/// place in the order of ties, its mode and its bytes.
struct Kept {
    size: usize,
    seq: u32,
    mode: TileMode,
    cand: Candidate,
}

/// A palette ordering's indices, packed into rows, waiting for their deflate search: on
/// grey photographs (always 256 values or fewer) the three orderings' 24 searches cost more
/// than the network, and a probe against its size rules them out.
struct Palette {
    seq: u32,
    head: Vec<u8>,
    packed: Vec<u8>,
    row_bytes: usize,
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
    fn an_abandoned_direct_trial_is_completed_exactly_where_it_may_matter() {
        // Many-colour noise: only the direct context trial and png apply.
        let (w, h, c) = (64usize, 48usize, 3usize);
        let mut x = 99u32;
        let plane: Vec<u8> = (0..w * h * c)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 24) as u8
            })
            .collect();
        let modes = TileModes::only(&[TileMode::Context]);
        let exact = encode_cheap(&plane, w, h, c, modes).unwrap();
        // A network that costs nothing: the trial pauses at once and is abandoned.
        let cheap_net = NeuralRows {
            prefix: vec![0; h + 1],
        };
        let mut t = CheapTrials::new(&plane, w, h, c, modes, Some(0));
        assert!(t.paused());
        t.resume_direct(Some(&cheap_net));
        assert!(t.paused(), "abandoned on the rows tried");
        // Nothing else can beat the network: the trial stays out.
        assert_eq!(t.finish(Some(1.0)), None);
        // No network to beat: the trial goes on to the end and gives the uninterrupted
        // payload.
        let mut t = CheapTrials::new(&plane, w, h, c, modes, Some(0));
        t.resume_direct(Some(&cheap_net));
        assert_eq!(t.finish(None).as_ref(), Some(&exact));
        // Nor is deflate tried on such content; with nothing to beat, the trial is
        // completed.
        let all = TileModes::only(&[TileMode::Context, TileMode::Png]);
        let mut t = CheapTrials::new(&plane, w, h, c, all, Some(0));
        t.resume_direct(Some(&cheap_net));
        t.deflate_trials(None, None);
        assert!(t.paused() && t.best_size().is_none());
        assert_eq!(t.finish(None).as_ref(), Some(&exact));
        // A network far above: never abandoned.
        let dear_net = NeuralRows {
            prefix: (0..=h as u64).map(|y| y << 40).collect(),
        };
        let mut t = CheapTrials::new(&plane, w, h, c, modes, Some(0));
        t.resume_direct(Some(&dear_net));
        assert!(!t.paused());
        assert_eq!(t.finish(Some(1.0)).as_ref(), Some(&exact));
    }

    #[test]
    fn palette_searches_that_wait_for_the_network_choose_as_if_run_at_once() {
        // Grey content always has 256 values or fewer, so the palette applies: a noisy
        // ramp (photograph-like: its searches wait, and a network far below them skips
        // them) and upright stripes of three values (near zero: searched at once), grey
        // and as three-channel colour.
        let (w, h) = (128usize, 96usize);
        let mut x = 7u32;
        let mut noise = move || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 24) as u8
        };
        let ramp: Vec<u8> = (0..w * h)
            .map(|i| ((i % w) * 3 + (i / w) * 2) as u8 ^ (noise() & 15))
            .collect();
        let stripes: Vec<u8> = (0..w * h).map(|i| [10u8, 200, 90][i % w / 5 % 3]).collect();
        for (grey, waits) in [(&ramp, true), (&stripes, false)] {
            for c in [1usize, 3] {
                let plane: Vec<u8> = if c == 1 {
                    grey.clone()
                } else {
                    grey.iter().flat_map(|&v| [v, v / 2, 255 - v]).collect()
                };
                let near_zero = w * h * c / 160;
                // What the encoder codes: the cheap winner where it is no larger than
                // the network (`codec::encode`), else the network (`None`).
                let chosen = |cheap: Option<(TileMode, Vec<u8>)>, net: f64| {
                    cheap.filter(|(_, p)| (p.len() + 1) as f64 <= net)
                };
                // The network's bytes: below, near and above every cheap mode.
                for net in [1.0, 20.0, 200.0, 2000.0, 6000.0, 12000.0, 1e9] {
                    let all = TileModes::all();
                    let mut at_once = CheapTrials::new(&plane, w, h, c, all, None);
                    assert!(at_once.palettes.is_empty());
                    at_once.deflate_trials(Some(net), Some(net));
                    let want = chosen(at_once.finish(Some(net)), net);
                    let mut t = CheapTrials::new(&plane, w, h, c, all, Some(near_zero));
                    assert_eq!(t.palettes.len(), if waits { 3 } else { 0 }, "{c} {net}");
                    t.resume_direct(None);
                    t.deflate_trials(Some(net), Some(net));
                    assert!(t.palettes.is_empty());
                    let got = chosen(t.finish(Some(net)), net);
                    assert_eq!(got, want, "waits {waits} c {c} net {net}");
                }
            }
        }
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
        let mut t = CheapTrials::new(&plane, w, h, c, all, None);
        t.deflate_trials(Some(1e9), Some(1e9));
        assert_eq!(t.finish(Some(1e9)), Some(free));
        // A network far better: no deflate trial, and nothing deflated to beat it.
        let mut t = CheapTrials::new(&plane, w, h, c, all, None);
        t.deflate_trials(Some(1.0), Some(1.0));
        assert_ne!(t.best.as_ref().map(|b| b.mode), Some(TileMode::Png));
        let mut t = CheapTrials::new(&plane, w, h, c, TileModes::only(&[TileMode::Png]), None);
        t.deflate_trials(Some(1.0), Some(1.0));
        assert!(t.finish(Some(1.0)).is_none());
    }
}
