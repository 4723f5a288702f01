//! The tile layout of container versions 2 and 3 (docs/FORMAT.md section 8): mode bytes,
//! the framed non-neural payloads, then the neural ANS words. A version-1 tile is the ANS
//! words alone; [`ContainerVersion`] says which layout and modes a version has.

use super::mode::TileMode;
use super::version::ContainerVersion;

/// A plane group's payload inside a tile.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payload<'a> {
    Neural,
    /// One value per channel.
    Constant(&'a [u8]),
    /// A zlib stream of filtered rows.
    Png(&'a [u8]),
    /// Palette entries (n * channels bytes) and a zlib stream of filtered packed indices.
    Palette {
        entries: &'a [u8],
        z: &'a [u8],
    },
    /// A zlib stream of filtered rows of one channel, copied to every channel.
    Gray(&'a [u8]),
    /// The ANS stream of context-coded pixels: palette indices (`entries`: n * channels
    /// bytes, or n bytes when `grey`), or with `direct` the channel values themselves (one
    /// channel when `grey`). `grey`: every channel of the group takes the one value.
    Context {
        grey: bool,
        direct: bool,
        entries: &'a [u8],
        stream: &'a [u8],
    },
}

impl Payload<'_> {
    pub(crate) fn mode(&self) -> TileMode {
        match self {
            Payload::Neural => TileMode::Neural,
            Payload::Constant(_) => TileMode::Constant,
            Payload::Png(_) => TileMode::Png,
            Payload::Palette { .. } => TileMode::Palette,
            Payload::Gray(_) => TileMode::Gray,
            Payload::Context { .. } => TileMode::Context,
        }
    }
}

/// Why a tile could not be parsed or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TileError {
    /// A mode byte with no meaning: (group, value).
    UnknownMode(usize, u8),
    /// Anything else, described.
    Corrupt(&'static str),
}

impl From<&'static str> for TileError {
    fn from(s: &'static str) -> Self {
        TileError::Corrupt(s)
    }
}

/// A parsed tile: one payload per plane group and the ANS words of the neural
/// groups (shared, colour symbols then alpha symbols).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TileLayout<'a> {
    pub(crate) groups: [Payload<'a>; 2],
    pub(crate) n_groups: usize,
    pub(crate) ans: &'a [u8],
}

fn take<'a>(b: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], &'static str> {
    if b.len() < n {
        return Err(what);
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Ok(head)
}

fn take_u32(b: &mut &[u8], what: &'static str) -> Result<usize, &'static str> {
    let s = take(b, 4, what)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// A palette: the byte `n - 1`, then `n` entries of `per` bytes each.
fn take_palette<'a>(b: &mut &'a [u8], per: usize) -> Result<&'a [u8], &'static str> {
    let count = usize::from(take(b, 1, "tile ends inside a palette")?[0]) + 1;
    take(b, count * per, "tile ends inside a palette")
}

/// Parses a tile of a `version` stream whose plane groups have `channels[g]` channels
/// (one entry, or two with coded alpha). Only the structure is checked here; a mode the
/// version does not have is an unknown mode.
pub(crate) fn parse_tile<'a>(
    bytes: &'a [u8],
    channels: &[usize],
    version: ContainerVersion,
) -> Result<TileLayout<'a>, TileError> {
    let n = channels.len();
    if !version.has_mode_bytes() {
        return Ok(TileLayout {
            groups: [Payload::Neural; 2],
            n_groups: n,
            ans: bytes,
        });
    }
    let mut b = bytes;
    let modes = take(&mut b, n, "tile ends inside its mode bytes")?;
    let mut groups = [Payload::Neural; 2];
    for (g, (&m, &c)) in modes.iter().zip(channels).enumerate() {
        let mode = TileMode::from_code(m)
            .filter(|m| version.allows(*m))
            .ok_or(TileError::UnknownMode(g, m))?;
        groups[g] = match mode {
            TileMode::Neural => Payload::Neural,
            TileMode::Constant => {
                Payload::Constant(take(&mut b, c, "tile ends inside a constant value")?)
            }
            TileMode::Png => {
                let len = take_u32(&mut b, "tile ends inside a deflate length")?;
                Payload::Png(take(&mut b, len, "deflate payload runs past the tile")?)
            }
            TileMode::Gray => {
                let len = take_u32(&mut b, "tile ends inside a deflate length")?;
                Payload::Gray(take(&mut b, len, "deflate payload runs past the tile")?)
            }
            TileMode::Palette => {
                let entries = take_palette(&mut b, c)?;
                let len = take_u32(&mut b, "tile ends inside a deflate length")?;
                let z = take(&mut b, len, "deflate payload runs past the tile")?;
                Payload::Palette { entries, z }
            }
            TileMode::Context => {
                let flags = take(&mut b, 1, "tile ends inside context flags")?[0];
                let (grey, direct) = (flags & 1 != 0, flags & 2 != 0);
                if flags > 3 || (grey && c == 1) {
                    return Err("context flags with unknown bits, or grey for one channel".into());
                }
                let entries = if direct {
                    &[][..]
                } else {
                    take_palette(&mut b, if grey { 1 } else { c })?
                };
                let len = take_u32(&mut b, "tile ends inside a context stream length")?;
                let stream = take(&mut b, len, "context stream runs past the tile")?;
                Payload::Context {
                    grey,
                    direct,
                    entries,
                    stream,
                }
            }
        };
    }
    if !b.len().is_multiple_of(4) {
        return Err("neural stream length is not a whole number of 32-bit words".into());
    }
    if !b.is_empty() && !groups[..n].iter().any(|p| matches!(p, Payload::Neural)) {
        return Err("bytes after the payloads of a tile without neural groups".into());
    }
    Ok(TileLayout {
        groups,
        n_groups: n,
        ans: b,
    })
}

/// Serialises a tile of a `version` stream: mode bytes, the non-neural payloads (already
/// framed by [`super::CheapTrials`]), then the ANS words; in version 1 the ANS words
/// alone. `version` must allow every mode of `modes` ([`ContainerVersion::for_modes`]).
pub(crate) fn write_tile(
    version: ContainerVersion,
    modes: &[TileMode],
    payloads: &[&[u8]],
    ans: &[u8],
) -> Vec<u8> {
    debug_assert!(modes.iter().all(|&m| version.allows(m)));
    if !version.has_mode_bytes() {
        return ans.to_vec();
    }
    let mut out = Vec::with_capacity(
        modes.len() + payloads.iter().map(|p| p.len()).sum::<usize>() + ans.len(),
    );
    out.extend(modes.iter().map(|m| m.code()));
    for p in payloads {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(ans);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_one_tiles_are_the_ans_words_alone() {
        let ans = [1u8, 2, 3, 4];
        let tile = write_tile(ContainerVersion::V1, &[TileMode::Neural], &[&[]], &ans);
        assert_eq!(tile, ans);
        let layout = parse_tile(&tile, &[3, 1], ContainerVersion::V1).unwrap();
        assert_eq!((layout.n_groups, layout.ans), (2, &ans[..]));
        assert!(layout.groups.iter().all(|p| p.mode() == TileMode::Neural));
    }

    #[test]
    fn a_mode_is_known_only_from_the_version_that_introduced_it() {
        // A context group of one channel: flags, a one-entry palette, an empty stream.
        let tile = [TileMode::Context.code(), 0, 0, 7, 0, 0, 0, 0];
        assert_eq!(
            parse_tile(&tile, &[1], ContainerVersion::V2).unwrap_err(),
            TileError::UnknownMode(0, 5)
        );
        let layout = parse_tile(&tile, &[1], ContainerVersion::V3).unwrap();
        assert_eq!(layout.groups[0].mode(), TileMode::Context);
    }
}
