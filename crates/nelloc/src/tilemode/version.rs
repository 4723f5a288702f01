//! The container-version rule (docs/FORMAT.md sections 2, 8 and 11): which version a file
//! with a given set of tile modes is written as, and what each version's tiles may hold.
//! The encoder, the tile layout writer and parser, and the container all ask this type,
//! so the rule is stated once.

use super::mode::TileMode;

/// A version of the `.nlc` container this library reads and writes. Ordered: a later
/// version allows everything an earlier one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ContainerVersion {
    /// Every tile is one neural stream (readable by the first release).
    V1,
    /// Tiles start with one mode byte per plane group; every mode but context.
    V2,
    /// Version 2 plus the context mode.
    V3,
    /// Version 3 plus adapted heads (`ADPT` chunks, FORMAT.md section 9).
    V4,
    /// The compact container (FORMAT.md section 11): one tile, coded as in version 4,
    /// behind a header of a few bytes.
    V5,
    /// The compact container with embedded models (`MODL` chunks) and 4-byte model
    /// references (FORMAT.md section 12).
    V6,
    /// The tiled container of version 4 with embedded models (`MODL` chunks, FORMAT.md
    /// section 12).
    V7,
}

// The public constant names the newest version; the two must not drift apart.
const _: () = assert!(ContainerVersion::LATEST.byte() == crate::FORMAT_VERSION);

impl ContainerVersion {
    /// The newest version.
    pub(crate) const LATEST: ContainerVersion = ContainerVersion::V7;

    /// The version byte of the header.
    pub(crate) const fn byte(self) -> u8 {
        match self {
            ContainerVersion::V1 => 1,
            ContainerVersion::V2 => 2,
            ContainerVersion::V3 => 3,
            ContainerVersion::V4 => 4,
            ContainerVersion::V5 => 5,
            ContainerVersion::V6 => 6,
            ContainerVersion::V7 => 7,
        }
    }

    /// The version with this header byte, if this library reads it.
    pub(crate) fn from_byte(byte: u8) -> Option<Self> {
        [
            ContainerVersion::V1,
            ContainerVersion::V2,
            ContainerVersion::V3,
            ContainerVersion::V4,
            ContainerVersion::V5,
            ContainerVersion::V6,
            ContainerVersion::V7,
        ]
        .into_iter()
        .find(|v| v.byte() == byte)
    }

    /// The first version whose tiles can hold `mode`.
    fn introducing(mode: TileMode) -> Self {
        match mode {
            TileMode::Neural => ContainerVersion::V1,
            TileMode::Context => ContainerVersion::V3,
            _ => ContainerVersion::V2,
        }
    }

    /// The oldest version that holds every one of `modes` (the modes of all plane groups
    /// of all tiles): the oldest readers can still read what does not need more.
    pub(crate) fn for_modes(modes: impl IntoIterator<Item = TileMode>) -> Self {
        modes
            .into_iter()
            .map(Self::introducing)
            .max()
            .unwrap_or(ContainerVersion::V1)
    }

    /// Whether a tile of this version may code a plane group in `mode`.
    pub(crate) fn allows(self, mode: TileMode) -> bool {
        self >= Self::introducing(mode)
    }

    /// Whether `ADPT` chunks are adapted heads (before version 4 the tag is unknown and
    /// skipped).
    pub(crate) fn has_adapted_heads(self) -> bool {
        self >= ContainerVersion::V4
    }

    /// The version a file with tiles in `modes` and, if `adapted`, adapted heads is
    /// written as.
    pub(crate) fn for_file(modes: impl IntoIterator<Item = TileMode>, adapted: bool) -> Self {
        let v = Self::for_modes(modes);
        if adapted {
            v.max(ContainerVersion::V4)
        } else {
            v
        }
    }

    /// Whether a tile starts with mode bytes (version 1: the tile is one ANS stream).
    pub(crate) fn has_mode_bytes(self) -> bool {
        self >= ContainerVersion::V2
    }

    /// Whether this is the compact container (one tile, FORMAT.md section 11) rather than
    /// the tiled one of section 1.
    pub(crate) fn is_compact(self) -> bool {
        matches!(self, ContainerVersion::V5 | ContainerVersion::V6)
    }

    /// Whether `MODL` chunks are embedded models (versions 6 and 7, FORMAT.md section 12;
    /// before, the tag is unknown and skipped).
    pub(crate) fn has_embedded_models(self) -> bool {
        self >= ContainerVersion::V6
    }

    /// Whether a compact header may name a model by a 4-byte hash prefix (kind 4).
    pub(crate) fn has_short_refs(self) -> bool {
        self == ContainerVersion::V6
    }

    /// Whether the header names the model of every plane group. From version 2 on, a
    /// group that no tile codes with the network names none (an all-zero hash), so that
    /// such a file decodes without the model.
    pub(crate) fn names_every_model(self) -> bool {
        self == ContainerVersion::V1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_version_that_holds_the_modes() {
        use TileMode::*;
        let v = |m: &[TileMode]| ContainerVersion::for_modes(m.iter().copied()).byte();
        assert_eq!(v(&[]), 1);
        assert_eq!(v(&[Neural, Neural]), 1);
        assert_eq!(v(&[Neural, Png]), 2);
        assert_eq!(v(&[Constant, Palette, Gray]), 2);
        assert_eq!(v(&[Neural, Context, Png]), 3);
        for mode in TileMode::ALL {
            let needed = ContainerVersion::for_modes([mode]);
            assert!(needed.allows(mode));
            for v in [
                ContainerVersion::V1,
                ContainerVersion::V2,
                ContainerVersion::V4,
            ] {
                assert_eq!(v.allows(mode), v >= needed, "{mode} in {v:?}");
            }
        }
    }

    #[test]
    fn header_bytes() {
        assert_eq!(ContainerVersion::from_byte(0), None);
        assert_eq!(ContainerVersion::from_byte(8), None);
        assert!(ContainerVersion::V5.is_compact() && !ContainerVersion::V4.is_compact());
        assert!(ContainerVersion::V6.is_compact() && !ContainerVersion::V7.is_compact());
        assert!(!ContainerVersion::V5.has_embedded_models());
        assert!(
            ContainerVersion::V6.has_embedded_models()
                && ContainerVersion::V7.has_embedded_models()
        );
        assert!(ContainerVersion::V7.has_adapted_heads() && ContainerVersion::V7.has_mode_bytes());
        assert!(TileMode::ALL
            .iter()
            .all(|&m| ContainerVersion::V7.allows(m)));
        // Compact tiles are version-4 tiles.
        assert!(TileMode::ALL
            .iter()
            .all(|&m| ContainerVersion::V5.allows(m)));
        assert!(ContainerVersion::V5.has_adapted_heads() && ContainerVersion::V5.has_mode_bytes());
        assert!(ContainerVersion::for_file([TileMode::Neural], true).has_adapted_heads());
        assert_eq!(ContainerVersion::for_file([TileMode::Png], false).byte(), 2);
        for b in 1..=crate::FORMAT_VERSION {
            assert_eq!(ContainerVersion::from_byte(b).map(|v| v.byte()), Some(b));
        }
    }
}
