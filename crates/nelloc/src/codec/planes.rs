//! The plane-group pipeline every pass over an image shares (encode, score): which
//! channels the network codes together with which model, the backend that runs them, and
//! the tiles they are coded in.

use std::sync::Arc;

use rayon::prelude::*;

use super::alpha;
use super::pool::run_in_pool;
use crate::backend::{self, Backend};
use crate::container::AlphaMode;
use crate::error::{Error, ModelError, Result};
use crate::image::ImageRef;
use crate::model::{self, Model};
use crate::options::Device;
use crate::schedule::{tiles, TileBuf, TileRect};

/// Channels `first..first + channels` of every pixel, coded with `model`.
#[derive(Debug, Clone)]
pub(crate) struct PlaneGroup {
    pub(crate) first: usize,
    pub(crate) channels: usize,
    pub(crate) model: Arc<Model>,
}

/// The plane groups of one image: colour, then alpha when it is coded.
#[derive(Debug, Clone)]
pub(crate) struct Planes {
    /// How the image's alpha is stored.
    pub(crate) alpha: AlphaMode,
    pub(crate) groups: Vec<PlaneGroup>,
}

impl Planes {
    /// The colour channels with `model` (default: the built-in model for their count) and,
    /// when alpha varies, alpha with `alpha_model` (default: the built-in gray model).
    pub(crate) fn resolve(
        image: &ImageRef<'_>,
        model: Option<&Arc<Model>>,
        alpha_model: Option<&Arc<Model>>,
    ) -> Result<Planes> {
        let mut planes = Planes::colour(image, model)?;
        planes.alpha = alpha::choose(image);
        if planes.alpha == AlphaMode::Coded {
            planes.groups.push(PlaneGroup {
                first: image.color().color_channels(),
                channels: 1,
                model: model_for(alpha_model, 1)?,
            });
        }
        Ok(planes)
    }

    /// The colour channels only, with `model` (default: the built-in one); alpha is left
    /// out (what the OOD scores measure).
    pub(crate) fn colour(image: &ImageRef<'_>, model: Option<&Arc<Model>>) -> Result<Planes> {
        let cc = image.color().color_channels();
        Ok(Planes {
            alpha: AlphaMode::None,
            groups: vec![PlaneGroup {
                first: 0,
                channels: cc,
                model: model_for(model, cc)?,
            }],
        })
    }

    /// The backend for `device` with every group's model prepared, for `pixels` pixels.
    pub(crate) fn backend(&self, device: Device, pixels: u64) -> Result<Arc<dyn Backend>> {
        let models: Vec<&Model> = self.groups.iter().map(|g| &*g.model).collect();
        backend::select(device, pixels, &models)
    }

    /// Total channels of the groups.
    pub(crate) fn channels(&self) -> usize {
        self.groups.iter().map(|g| g.channels).sum()
    }
}

/// `model`, or the built-in model for `channels`; checked to model `channels` channels.
fn model_for(model: Option<&Arc<Model>>, channels: usize) -> Result<Arc<Model>> {
    let m = match model {
        Some(m) => m.clone(),
        None => builtin_for(channels)?,
    };
    check_channels(&m, channels)?;
    Ok(m)
}

/// The built-in model for `channels` channels.
pub(crate) fn builtin_for(channels: usize) -> Result<Arc<Model>> {
    model::default_for_channels(channels)
        .ok_or_else(|| Error::Unsupported(format!("no built-in model for {channels} channel(s)")))
}

/// `Err` unless `model` models exactly `needed` channels.
pub(crate) fn check_channels(model: &Model, needed: usize) -> Result<()> {
    if model.arch().channels as usize != needed {
        return Err(ModelError::ChannelMismatch {
            name: model.name().to_string(),
            model: model.arch().channels,
            needed: needed as u32,
        }
        .into());
    }
    Ok(())
}

/// The pixels of rectangle `r` of `image`, rows packed.
pub(crate) fn copy_tile(image: &ImageRef<'_>, r: &TileRect) -> Vec<u8> {
    let ch = image.color().channels();
    let stride = image.width() as usize * ch;
    let mut buf = Vec::with_capacity(r.w * r.h * ch);
    for y in r.y..r.y + r.h {
        buf.extend_from_slice(&image.pixels()[y * stride + r.x * ch..][..r.w * ch]);
    }
    buf
}

/// Runs `f` on every `ts`-pixel tile of `image` (a copy of its pixels, all channels) on
/// the worker pool of `threads` (0: the current one), after `check` (cancellation) says
/// go on; the tiles and the results, in raster tile order whatever the thread count.
pub(crate) fn map_tiles<T: Send>(
    image: &ImageRef<'_>,
    ts: u32,
    threads: usize,
    check: &(dyn Fn() -> Result<()> + Sync),
    f: impl Fn(&TileRect, &TileBuf<'_>) -> Result<T> + Sync,
) -> Result<(Vec<TileRect>, Vec<T>)> {
    let rects = tiles(image.width(), image.height(), ts, ts);
    if rects.len() > u32::MAX as usize {
        return Err(Error::InvalidArgument(
            "too many tiles; use a larger tile size".into(),
        ));
    }
    let stride = image.color().channels();
    let out = run_in_pool(threads, || {
        rects
            .par_iter()
            .map(|r| {
                check()?;
                let data = copy_tile(image, r);
                let tile = TileBuf {
                    data: &data,
                    w: r.w,
                    h: r.h,
                    stride,
                };
                f(r, &tile)
            })
            .collect::<Result<Vec<T>>>()
    })??;
    Ok((rects, out))
}
