//! The C codes (`nlc_color_type`, `nlc_device`, `nlc_metadata_kind`, `nlc_model_role`,
//! `nlc_alpha_mode`, `NLC_MODE_*` flags) to and from the library's types. Unknown codes
//! from C are `NLC_ERROR_INVALID_ARGUMENT`; library values C has no code for yet are
//! `NLC_ERROR_UNSUPPORTED`.

use std::ffi::c_char;

use nelloc::{AlphaMode, ColorType, Device, Metadata, TileMode, TileModes};

use crate::status::{nlc_status, Failure};
use crate::{nlc_alpha_mode, nlc_color_type, nlc_device, nlc_metadata_kind, nlc_model_role};

pub(crate) fn color_from_code(code: u32) -> Result<ColorType, Failure> {
    Ok(match code {
        c if c == nlc_color_type::NLC_COLOR_GRAY8 as u32 => ColorType::Gray8,
        c if c == nlc_color_type::NLC_COLOR_GRAYA8 as u32 => ColorType::GrayA8,
        c if c == nlc_color_type::NLC_COLOR_RGB8 as u32 => ColorType::Rgb8,
        c if c == nlc_color_type::NLC_COLOR_RGBA8 as u32 => ColorType::Rgba8,
        other => {
            return Err(Failure::invalid(format!(
                "unknown colour type {other} (expected 1 to 4, see nlc_color_type)"
            )))
        }
    })
}

pub(crate) fn color_code(color: ColorType) -> Result<u32, Failure> {
    Ok(match color {
        ColorType::Gray8 => nlc_color_type::NLC_COLOR_GRAY8,
        ColorType::GrayA8 => nlc_color_type::NLC_COLOR_GRAYA8,
        ColorType::Rgb8 => nlc_color_type::NLC_COLOR_RGB8,
        ColorType::Rgba8 => nlc_color_type::NLC_COLOR_RGBA8,
        other => {
            return Err(Failure::new(
                nlc_status::NLC_ERROR_UNSUPPORTED,
                format!("colour type {other} has no C equivalent in this version"),
            ))
        }
    } as u32)
}

/// An `nlc_alpha_mode` value and the constant alpha (0 unless constant).
pub(crate) fn alpha_code(alpha: AlphaMode) -> Result<(u32, u32), Failure> {
    let (mode, value) = match alpha {
        AlphaMode::None => (nlc_alpha_mode::NLC_ALPHA_NONE, 0),
        AlphaMode::Constant(v) => (nlc_alpha_mode::NLC_ALPHA_CONSTANT, u32::from(v)),
        AlphaMode::Coded => (nlc_alpha_mode::NLC_ALPHA_CODED, 0),
        other => {
            return Err(Failure::new(
                nlc_status::NLC_ERROR_UNSUPPORTED,
                format!("alpha mode {other} has no C equivalent in this version"),
            ))
        }
    };
    Ok((mode as u32, value))
}

/// Which `Metadata` block an `nlc_metadata_kind` value names.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MetadataField {
    Icc,
    Exif,
    Xmp,
}

impl MetadataField {
    pub(crate) fn from_code(kind: u32) -> Result<Self, Failure> {
        Ok(match kind {
            k if k == nlc_metadata_kind::NLC_METADATA_ICC as u32 => MetadataField::Icc,
            k if k == nlc_metadata_kind::NLC_METADATA_EXIF as u32 => MetadataField::Exif,
            k if k == nlc_metadata_kind::NLC_METADATA_XMP as u32 => MetadataField::Xmp,
            other => {
                return Err(Failure::invalid(format!(
                    "unknown metadata kind {other} (see nlc_metadata_kind)"
                )))
            }
        })
    }

    pub(crate) fn get(self, metadata: &Metadata) -> &Option<Vec<u8>> {
        match self {
            MetadataField::Icc => &metadata.icc,
            MetadataField::Exif => &metadata.exif,
            MetadataField::Xmp => &metadata.xmp,
        }
    }

    pub(crate) fn get_mut(self, metadata: &mut Metadata) -> &mut Option<Vec<u8>> {
        match self {
            MetadataField::Icc => &mut metadata.icc,
            MetadataField::Exif => &mut metadata.exif,
            MetadataField::Xmp => &mut metadata.xmp,
        }
    }
}

/// An `nlc_model_role` value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ModelRole {
    Color,
    Alpha,
}

impl ModelRole {
    pub(crate) fn from_code(role: u32) -> Result<Self, Failure> {
        match role {
            r if r == nlc_model_role::NLC_MODEL_COLOR as u32 => Ok(ModelRole::Color),
            r if r == nlc_model_role::NLC_MODEL_ALPHA as u32 => Ok(ModelRole::Alpha),
            other => Err(Failure::invalid(format!(
                "unknown model role {other} (see nlc_model_role)"
            ))),
        }
    }
}

/// The device an `nlc_device` value names, refused here (where the caller chose it, with
/// what is missing) when it is absent on this machine.
pub(crate) fn device_from_code(device: u32) -> Result<Device, Failure> {
    let d = match device {
        d if d == nlc_device::NLC_DEVICE_CPU as u32 => Device::Cpu,
        d if d == nlc_device::NLC_DEVICE_CUDA as u32 => Device::Cuda(0),
        d if d == nlc_device::NLC_DEVICE_AUTO as u32 => Device::Auto,
        d if d == nlc_device::NLC_DEVICE_ORT as u32 => Device::Ort(nelloc::OrtProvider::Cpu),
        other => {
            return Err(Failure::invalid(format!(
                "unknown device {other} (see nlc_device)"
            )))
        }
    };
    nelloc::backend::probe(d).map_err(|e| {
        let f = Failure::from(e);
        let name = if device == nlc_device::NLC_DEVICE_CUDA as u32 {
            "NLC_DEVICE_CUDA"
        } else {
            "NLC_DEVICE_ORT"
        };
        Failure::new(f.status, format!("{name}: {}", f.message))
    })?;
    Ok(d)
}

pub(crate) fn device_code(device: Device) -> u32 {
    match device {
        Device::Cpu => nlc_device::NLC_DEVICE_CPU as u32,
        Device::Cuda(_) => nlc_device::NLC_DEVICE_CUDA as u32,
        Device::Auto => nlc_device::NLC_DEVICE_AUTO as u32,
        Device::Ort(_) => nlc_device::NLC_DEVICE_ORT as u32,
        // A device this C API has no value for yet: reported as the CPU never is wrong
        // here (the library only ever selects devices through the C values).
        _ => nlc_device::NLC_DEVICE_CPU as u32,
    }
}

/// The tile modes an `NLC_MODE_*` combination allows; it must include a mode that codes
/// any tile and no unknown bits.
pub(crate) fn modes_from_flags(modes: u32) -> Result<TileModes, Failure> {
    if modes & !crate::NLC_MODES_ALL != 0 {
        return Err(Failure::invalid("modes has bits outside NLC_MODES_ALL"));
    }
    if modes & (crate::NLC_MODE_NEURAL | crate::NLC_MODE_PNG | crate::NLC_MODE_CONTEXT) == 0 {
        return Err(Failure::invalid(
            "modes must include NLC_MODE_NEURAL, NLC_MODE_PNG or NLC_MODE_CONTEXT",
        ));
    }
    let list: Vec<TileMode> = [
        (crate::NLC_MODE_NEURAL, TileMode::Neural),
        (crate::NLC_MODE_CONSTANT, TileMode::Constant),
        (crate::NLC_MODE_PNG, TileMode::Png),
        (crate::NLC_MODE_PALETTE, TileMode::Palette),
        (crate::NLC_MODE_GRAY, TileMode::Gray),
        (crate::NLC_MODE_CONTEXT, TileMode::Context),
    ]
    .into_iter()
    .filter(|(bit, _)| modes & bit != 0)
    .map(|(_, m)| m)
    .collect();
    Ok(TileModes::only(&list))
}

/// A hex SHA-256 as the NUL-terminated `char[NLC_HASH_HEX_SIZE]` of `nlc_stream_info`.
pub(crate) fn hash_field(hex: &str) -> [c_char; crate::NLC_HASH_HEX_SIZE as usize] {
    let mut out = [0 as c_char; crate::NLC_HASH_HEX_SIZE as usize];
    for (o, b) in out.iter_mut().zip(hex.bytes().take(64)) {
        *o = b as c_char;
    }
    out
}
