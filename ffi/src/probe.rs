//! Header probing for format sniffing (image viewers, thumbnailers, loader plugins): reads
//! only the fixed fields at the start of the stream (docs/FORMAT.md section 1), so it
//! needs [`crate::NLC_PROBE_BYTES`] bytes, not the whole file. Nothing is checksummed here:
//! `nlc_info` validates the complete header.

use nelloc::MAGIC;

use crate::status::{nlc_status, Failure};
use crate::NLC_PROBE_BYTES;

/// What [`crate::nlc_probe`] reads from the first `NLC_PROBE_BYTES` bytes of a stream.
/// The values are not yet verified by the header checksum.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct nlc_header {
    /// Container version (1).
    pub version: u32,
    /// An `nlc_color_type` value.
    pub color_type: u32,
    /// Samples per pixel (1 to 4).
    pub channels: u32,
    /// Width in pixels (at least 1).
    pub width: u32,
    /// Height in pixels (at least 1).
    pub height: u32,
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[at..at + 4]);
    u32::from_le_bytes(b)
}

pub(crate) fn probe(data: &[u8]) -> Result<nlc_header, Failure> {
    use nlc_status::*;
    let sig = data.len().min(MAGIC.len());
    if data[..sig] != MAGIC[..sig] {
        // "NLC" in place with damaged surroundings: a text-mode transfer, not another format.
        if data.len() >= 4 && &data[1..4] == b"NLC" {
            return Err(Failure::new(
                NLC_ERROR_CORRUPT,
                "the .nlc signature was altered in transfer (text-mode/line-ending conversion?)",
            ));
        }
        return Err(Failure::new(
            NLC_ERROR_NOT_NLC,
            "not an .nlc stream: wrong signature (expected 8B 4E 4C 43 0D 0A 1A 0A)",
        ));
    }
    let need = NLC_PROBE_BYTES as usize;
    if data.len() < need {
        return Err(Failure::new(
            NLC_ERROR_TRUNCATED,
            format!(
                "probing needs the first {need} bytes, only {} given",
                data.len()
            ),
        ));
    }
    let version = u32::from(data[8]);
    if version == 0 {
        return Err(Failure::new(NLC_ERROR_CORRUPT, "container version 0"));
    }
    if version > crate::NLC_FORMAT_VERSION {
        return Err(Failure::new(
            NLC_ERROR_UNSUPPORTED,
            format!("container version {version} is not supported (this library reads version 1)"),
        ));
    }
    let color_type = u32::from(data[9]);
    let channels = match color_type {
        1..=4 => color_type,
        _ => {
            return Err(Failure::new(
                NLC_ERROR_CORRUPT,
                format!("invalid colour type {color_type} (expected 1 to 4)"),
            ))
        }
    };
    let (width, height) = (u32_at(data, 12), u32_at(data, 16));
    if width == 0 || height == 0 {
        return Err(Failure::new(
            NLC_ERROR_CORRUPT,
            format!("invalid dimensions {width}x{height}"),
        ));
    }
    Ok(nlc_header {
        version,
        color_type,
        channels,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u8, color: u8, w: u32, h: u32) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[version, color, 0, 0]);
        v.extend_from_slice(&w.to_le_bytes());
        v.extend_from_slice(&h.to_le_bytes());
        v
    }

    #[test]
    fn reads_the_fixed_fields() {
        let h = probe(&header(1, 3, 77, 53)).expect("valid");
        assert_eq!((h.version, h.color_type, h.channels), (1, 3, 3));
        assert_eq!((h.width, h.height), (77, 53));
    }

    #[test]
    fn classifies_failures() {
        use nlc_status::*;
        let st = |d: &[u8]| probe(d).map(|_| ()).map_err(|f| f.status);
        assert_eq!(st(&[]), Err(NLC_ERROR_TRUNCATED));
        assert_eq!(st(&MAGIC[..5]), Err(NLC_ERROR_TRUNCATED));
        assert_eq!(st(&header(1, 3, 1, 1)[..19]), Err(NLC_ERROR_TRUNCATED));
        assert_eq!(st(b"\x89PNG\r\n\x1a\n"), Err(NLC_ERROR_NOT_NLC));
        assert_eq!(st(b"G"), Err(NLC_ERROR_NOT_NLC));
        let mut mangled = header(1, 3, 1, 1);
        mangled[4] = b'\n';
        assert_eq!(st(&mangled), Err(NLC_ERROR_CORRUPT));
        assert_eq!(st(&header(2, 3, 1, 1)), Err(NLC_ERROR_UNSUPPORTED));
        assert_eq!(st(&header(0, 3, 1, 1)), Err(NLC_ERROR_CORRUPT));
        assert_eq!(st(&header(1, 5, 1, 1)), Err(NLC_ERROR_CORRUPT));
        assert_eq!(st(&header(1, 1, 0, 1)), Err(NLC_ERROR_CORRUPT));
    }
}
