//! Per-tile coding modes (docs/FORMAT.md section 8). Each plane group (colour, or alpha)
//! of each tile is coded in one [`TileMode`]: with the network (`neural`, the only mode of
//! container version 1) or with a cheap coder for content the network codes poorly or
//! slowly (constant, PNG-style filtered rows, palette, grey, context model).
//!
//! Encoding: [`CheapTrials`] picks the smallest allowed non-neural payload of a group
//! (the codec weighs it against the neural stream, and runs the network between its
//! phases so that trials that cannot win are skipped or stopped early), [`ContainerVersion::for_modes`] picks
//! the file's version from the modes used, and [`write_tile`] frames each tile.
//! Decoding: [`parse_tile`] splits a tile into [`Payload`]s and the neural ANS words, and
//! [`decode_payload`] writes each non-neural payload into the tile buffer.

mod context;
mod decode;
mod encode;
mod layout;
mod mode;
mod palette;
mod png;
mod version;

#[cfg(feature = "unstable-internals")]
pub(crate) use context::{bits as context_bits, Alphabet as ContextAlphabet};
pub(crate) use decode::{decode_payload, PayloadError};
#[cfg(test)]
pub(crate) use encode::ABANDONED;
pub(crate) use encode::{CheapTrials, NeuralRows};
pub(crate) use layout::{parse_tile, write_tile, Payload, TileError, TileLayout};
pub use mode::{ModeCounts, TileMode, TileModes};
pub(crate) use version::ContainerVersion;
