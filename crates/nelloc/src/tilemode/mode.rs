//! The tile-mode vocabulary: the modes one plane group of a tile can be coded in, sets of
//! them (what the encoder may choose from), and per-mode counts (what it chose).

use std::fmt;
use std::str::FromStr;

/// How one plane group (colour, or alpha) of one tile is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TileMode {
    /// The NeLLoC network and the ANS coder (the only mode of container version 1).
    Neural,
    /// One value per channel for the whole tile; no other payload.
    Constant,
    /// Rows with PNG filters (chosen per row by the encoder), deflated as a zlib stream.
    Png,
    /// At most 256 distinct values: a palette plus PNG-style filtered, deflated indices
    /// packed at 1, 2, 4 or 8 bits.
    Palette,
    /// Colour planes whose channels are all equal (grey content in an RGB image): one
    /// channel, coded as `Png`, copied to every channel.
    Gray,
    /// Pixels coded with an adaptive context model and the ANS coder (container version
    /// 3): predictions from hashed neighbourhoods and repeats of neighbours, then a palette
    /// index (at most 256 values) or the channel values themselves.
    Context,
}

impl TileMode {
    /// Every mode, in the order of their codes.
    pub const ALL: [TileMode; 6] = [
        TileMode::Neural,
        TileMode::Constant,
        TileMode::Png,
        TileMode::Palette,
        TileMode::Gray,
        TileMode::Context,
    ];

    /// The mode byte of docs/FORMAT.md section 8.
    pub(crate) fn code(self) -> u8 {
        match self {
            TileMode::Neural => 0,
            TileMode::Constant => 1,
            TileMode::Png => 2,
            TileMode::Palette => 3,
            TileMode::Gray => 4,
            TileMode::Context => 5,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        TileMode::ALL.get(usize::from(code)).copied()
    }

    /// The name used by `nlc` (`neural`, `constant`, `png`, `palette`, `gray`, `context`).
    pub fn name(self) -> &'static str {
        match self {
            TileMode::Neural => "neural",
            TileMode::Constant => "constant",
            TileMode::Png => "png",
            TileMode::Palette => "palette",
            TileMode::Gray => "gray",
            TileMode::Context => "context",
        }
    }
}

impl fmt::Display for TileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TileMode {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        TileMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                crate::Error::InvalidArgument(format!(
                    "unknown tile mode {s:?} (expected neural, constant, png, palette, gray or context)"
                ))
            })
    }
}

/// A set of tile modes the encoder may use ([`crate::EncodeOptions::modes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileModes(u8);

impl Default for TileModes {
    /// Every mode.
    fn default() -> Self {
        TileModes::all()
    }
}

impl TileModes {
    /// Every mode: the encoder keeps the smallest per tile and plane group.
    pub fn all() -> Self {
        TileModes(0b11_1111)
    }
    /// Exactly these modes. `only(&[TileMode::Neural])` is pure NeLLoC and writes container
    /// version 1, readable by the first release.
    pub fn only(modes: &[TileMode]) -> Self {
        TileModes(modes.iter().fold(0, |a, m| a | 1 << m.code()))
    }
    /// Whether `mode` is in the set.
    pub fn contains(self, mode: TileMode) -> bool {
        self.0 & (1 << mode.code()) != 0
    }
    /// Whether every tile can be coded: the set holds `neural`, `png` or `context` (the
    /// modes that code any content).
    pub(crate) fn is_complete(self) -> bool {
        self.contains(TileMode::Neural)
            || self.contains(TileMode::Png)
            || self.contains(TileMode::Context)
    }
}

impl FromStr for TileModes {
    type Err = crate::Error;
    /// A comma-separated list of mode names, e.g. `neural,png`; `all` for every mode.
    fn from_str(s: &str) -> crate::Result<Self> {
        if s.trim() == "all" {
            return Ok(TileModes::all());
        }
        let modes = s
            .split(',')
            .map(|m| m.trim().parse())
            .collect::<crate::Result<Vec<TileMode>>>()?;
        Ok(TileModes::only(&modes))
    }
}

impl fmt::Display for TileModes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = TileMode::ALL
            .into_iter()
            .filter(|m| self.contains(*m))
            .map(TileMode::name)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// How many plane groups of tiles were coded in each mode (one tile of an image with
/// coded alpha counts twice: colour and alpha).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModeCounts {
    /// Groups coded with the network.
    pub neural: u64,
    /// Constant groups.
    pub constant: u64,
    /// PNG-style groups.
    pub png: u64,
    /// Palette groups.
    pub palette: u64,
    /// Grey colour groups (all channels equal).
    pub gray: u64,
    /// Context-coded groups.
    pub context: u64,
}

impl ModeCounts {
    pub(crate) fn add(&mut self, mode: TileMode) {
        *match mode {
            TileMode::Neural => &mut self.neural,
            TileMode::Constant => &mut self.constant,
            TileMode::Png => &mut self.png,
            TileMode::Palette => &mut self.palette,
            TileMode::Gray => &mut self.gray,
            TileMode::Context => &mut self.context,
        } += 1;
    }
    /// Groups coded in any mode but neural.
    pub(crate) fn non_neural(&self) -> u64 {
        TileMode::ALL
            .into_iter()
            .filter(|&m| m != TileMode::Neural)
            .map(|m| self.get(m))
            .sum()
    }
    /// The count for `mode`.
    pub fn get(&self, mode: TileMode) -> u64 {
        match mode {
            TileMode::Neural => self.neural,
            TileMode::Constant => self.constant,
            TileMode::Png => self.png,
            TileMode::Palette => self.palette,
            TileMode::Gray => self.gray,
            TileMode::Context => self.context,
        }
    }
}
