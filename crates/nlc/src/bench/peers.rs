//! Peer codecs for `nlc bench --peers` (the peer set of shared/VALIDATION-PEERS.md), run as
//! external programs on the same images, single-threaded, each roundtrip verified.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use nelloc::{ColorType, Image};

use super::{file_name, Config, ImageResult, Totals};
use crate::{io, CliError, Result};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    Jxl,
    Webp,
    Png,
}

const ALL: [Peer; 3] = [Peer::Jxl, Peer::Webp, Peer::Png];

impl Peer {
    fn label(self) -> &'static str {
        match self {
            Peer::Jxl => "cjxl -d 0 -e 7",
            Peer::Webp => "cwebp -lossless -exact",
            Peer::Png => "oxipng -o 2",
        }
    }

    /// Programs it needs, with the option that prints their version, and where to get them.
    fn tools(self) -> &'static [(&'static str, &'static str, &'static str)] {
        match self {
            Peer::Jxl => &[
                ("cjxl", "--version", "apt-get install libjxl-tools"),
                ("djxl", "--version", "apt-get install libjxl-tools"),
            ],
            Peer::Webp => &[
                ("cwebp", "-version", "apt-get install webp"),
                ("dwebp", "-version", "apt-get install webp"),
            ],
            Peer::Png => &[("oxipng", "--version", "cargo install --locked oxipng")],
        }
    }

    fn setting(self) -> &'static str {
        match self {
            Peer::Jxl => "cjxl IN.pnm OUT.jxl -d 0 -e 7 --num_threads=1; djxl OUT.jxl DEC.pnm --num_threads=1",
            Peer::Webp => "cwebp -lossless -exact -quiet IN.png -o OUT.webp; dwebp -quiet OUT.webp -ppm|-pam -o DEC",
            Peer::Png => "oxipng -o 2 --threads 1 --force -q --out OUT.png IN.png; decode: in-process PNG decode (image crate)",
        }
    }
}

/// The version line of a tool, or why it cannot run.
fn probe(tool: &str, flag: &str) -> std::result::Result<String, String> {
    match Command::new(tool).arg(flag).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            Ok(text.lines().next().unwrap_or("").trim().to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Runs a command to completion; its wall time in seconds.
fn timed(cmd: &mut Command) -> Result<f64> {
    let t = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| CliError::Msg(format!("{cmd:?}: {e}")))?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(CliError::Msg(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(secs)
}

/// Pixels as RGBA8: a lossless view of any 8-bit colour type, to compare across formats
/// (dwebp, for one, always writes RGB).
fn rgba(img: &Image) -> Vec<u8> {
    let color = img.color();
    img.pixels()
        .chunks_exact(color.channels())
        .flat_map(|p| match color {
            ColorType::Gray8 => [p[0], p[0], p[0], 255],
            ColorType::GrayA8 => [p[0], p[0], p[0], p[1]],
            ColorType::Rgb8 => [p[0], p[1], p[2], 255],
            _ => [p[0], p[1], p[2], p[3]],
        })
        .collect()
}

fn same(a: &Image, b: &Image) -> bool {
    a.width() == b.width() && a.height() == b.height() && rgba(a) == rgba(b)
}

/// One image through one peer: (compressed bytes, encode s, decode s, lossless).
fn code(
    peer: Peer,
    image: &Image,
    src_pnm: &Path,
    src_png: &Path,
    dir: &Path,
    runs: u32,
) -> Result<(u64, f64, f64, bool)> {
    let pnm_ext = src_pnm
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("pam");
    let (mut te, mut td) = (f64::INFINITY, f64::INFINITY);
    let (out, decoded) = match peer {
        Peer::Jxl => {
            let out = dir.join("out.jxl");
            let dec = dir.join(format!("dec.{pnm_ext}"));
            for _ in 0..runs {
                te = te.min(timed(Command::new("cjxl").arg(src_pnm).arg(&out).args([
                    "-d",
                    "0",
                    "-e",
                    "7",
                    "--num_threads=1",
                ]))?);
            }
            for _ in 0..runs {
                td = td.min(timed(
                    Command::new("djxl")
                        .arg(&out)
                        .arg(&dec)
                        .arg("--num_threads=1"),
                )?);
            }
            (out, io::read_image(&dec)?)
        }
        Peer::Webp => {
            let out = dir.join("out.webp");
            let (fmt, ext) = if image.color().has_alpha() {
                ("-pam", "pam")
            } else {
                ("-ppm", "ppm")
            };
            let dec = dir.join(format!("dec-webp.{ext}"));
            for _ in 0..runs {
                te = te.min(timed(
                    Command::new("cwebp")
                        .args(["-lossless", "-exact", "-quiet"])
                        .arg(src_png)
                        .arg("-o")
                        .arg(&out),
                )?);
            }
            for _ in 0..runs {
                td = td.min(timed(
                    Command::new("dwebp")
                        .arg("-quiet")
                        .arg(&out)
                        .arg(fmt)
                        .arg("-o")
                        .arg(&dec),
                )?);
            }
            (out, io::read_image(&dec)?)
        }
        Peer::Png => {
            let out = dir.join("out.png");
            for _ in 0..runs {
                te = te.min(timed(
                    Command::new("oxipng")
                        .args(["-o", "2", "--threads", "1", "--force", "-q", "--out"])
                        .arg(&out)
                        .arg(src_png),
                )?);
            }
            let bytes = io::read_file(&out)?;
            let mut decoded = None;
            for _ in 0..runs {
                drop(decoded.take());
                let t = Instant::now();
                let d = io::decode_image_bytes(&bytes, "oxipng output")?;
                td = td.min(t.elapsed().as_secs_f64());
                decoded = Some(d);
            }
            (out, decoded.ok_or_else(|| CliError::Msg("no run".into()))?)
        }
    };
    let size = std::fs::metadata(&out)
        .map_err(|e| CliError::Msg(format!("{}: {e}", out.display())))?
        .len();
    Ok((size, te, td, same(image, &decoded)))
}

/// Runs every available peer on `inputs`; returns their configurations and notes about the
/// peers that were skipped (printed here too).
pub(super) fn run(
    inputs: &[PathBuf],
    runs: u32,
    work: &Path,
) -> Result<(Vec<Config>, Vec<String>)> {
    let mut notes = Vec::new();
    let mut active = Vec::new();
    for peer in ALL {
        let mut versions = Vec::new();
        let mut missing = None;
        for (tool, flag, how) in peer.tools() {
            match probe(tool, flag) {
                Ok(v) => versions.push(v),
                Err(e) => {
                    missing = Some(format!(
                        "{}: skipped, `{tool}` cannot run ({e}); install: {how}",
                        peer.label()
                    ));
                    break;
                }
            }
        }
        match missing {
            Some(note) => notes.push(note),
            None => active.push((peer, versions.join("; "), Vec::new())),
        }
    }
    for (n, path) in inputs.iter().enumerate() {
        let image = io::read_image(path)?;
        let ext = match image.color() {
            ColorType::Gray8 => "pgm",
            ColorType::Rgb8 => "ppm",
            _ => "pam",
        };
        let src_pnm = work.join(format!("peer-src{n}.{ext}"));
        let src_png = work.join(format!("peer-src{n}.png"));
        io::write_image(&src_pnm, &image)?;
        io::write_image(&src_png, &image)?;
        let mut failed = Vec::new();
        for (i, (peer, _, results)) in active.iter_mut().enumerate() {
            match code(*peer, &image, &src_pnm, &src_png, work, runs) {
                Ok((bytes, te, td, true)) => {
                    results.push(ImageResult::new(&file_name(path), &image, bytes, te, td));
                }
                Ok((_, _, _, false)) => {
                    failed.push((
                        i,
                        format!(
                            "{}: skipped, NOT LOSSLESS on {}",
                            peer.label(),
                            path.display()
                        ),
                    ));
                }
                Err(e) => failed.push((
                    i,
                    format!(
                        "{}: skipped, failed on {}: {e}",
                        peer.label(),
                        path.display()
                    ),
                )),
            }
        }
        for (i, note) in failed.into_iter().rev() {
            active.remove(i);
            notes.push(note);
        }
    }
    let configs = active
        .into_iter()
        .map(|(peer, versions, images)| Config {
            kind: "peer",
            label: peer.label().to_string(),
            setting: format!("{} [{versions}]", peer.setting()),
            threads: 1,
            tile: None,
            model_hash: None,
            macs_per_pixel: None,
            network_gmacs_decode: None,
            network_gmacs_encode: None,
            peak_fraction_decode: None,
            peak_fraction_encode: None,
            total: Totals::of(&images),
            images,
        })
        .collect();
    Ok((configs, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgba_view_compares_across_colour_types() {
        let gray = Image::new(2, 1, ColorType::Gray8, vec![7, 9]).unwrap();
        let rgb = Image::new(2, 1, ColorType::Rgb8, vec![7, 7, 7, 9, 9, 9]).unwrap();
        let rgb_off = Image::new(2, 1, ColorType::Rgb8, vec![7, 7, 7, 9, 9, 8]).unwrap();
        let rgba = Image::new(2, 1, ColorType::Rgba8, vec![7, 7, 7, 255, 9, 9, 9, 255]).unwrap();
        assert!(same(&gray, &rgb));
        assert!(same(&gray, &rgba));
        assert!(!same(&gray, &rgb_off));
    }
}
