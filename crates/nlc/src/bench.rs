//! `nlc bench`: encode, decode and verify images; bpsp and time per megapixel.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::{io, Common, Result};

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Images to measure.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Tile edge in pixels (repeat to compare several).
    #[arg(long = "tile-size", default_values_t = [nelloc::DEFAULT_TILE_SIZE])]
    tile_sizes: Vec<u32>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    let common = Common {
        quiet: true,
        ..args.common.clone()
    };
    println!("| image | tile | pixels | bytes | bpsp | model bpsp | coder overhead | encode s/MP | decode s/MP |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for &tile in &args.tile_sizes {
        let (mut tot_bytes, mut tot_samples, mut tot_bits, mut tot_te, mut tot_td, mut tot_mp) =
            (0u64, 0u64, 0f64, 0f64, 0f64, 0f64);
        for path in &args.inputs {
            let image = io::read_image(path)?;
            let opts = common.encode_options(tile, image.color())?;
            let t = Instant::now();
            let (bytes, stats) = nelloc::encode_with_stats(image.as_ref(), &opts)?;
            let te = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let back = nelloc::decode(&bytes, &common.decode_options()?)?;
            let td = t.elapsed().as_secs_f64();
            if back.pixels() != image.pixels() {
                return Err(crate::CliError::Msg(format!(
                    "{}: roundtrip mismatch",
                    path.display()
                )));
            }
            let samples = image.pixels().len() as u64;
            let mp = f64::from(image.width()) * f64::from(image.height()) / 1e6;
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            println!(
                "| {name} | {tile} | {} | {} | {:.4} | {:.4} | {:.3}% | {:.2} | {:.2} |",
                image.width() as u64 * image.height() as u64,
                bytes.len(),
                bytes.len() as f64 * 8.0 / samples as f64,
                stats.model_bits / samples as f64,
                100.0 * (stats.stream_bytes as f64 * 8.0 / stats.model_bits - 1.0),
                te / mp,
                td / mp
            );
            tot_bytes += bytes.len() as u64;
            tot_samples += samples;
            tot_bits += stats.model_bits;
            tot_te += te;
            tot_td += td;
            tot_mp += mp;
        }
        println!(
            "| **all** | {tile} | {:.0} | {tot_bytes} | **{:.4}** | {:.4} | | {:.2} | {:.2} |",
            tot_mp * 1e6,
            tot_bytes as f64 * 8.0 / tot_samples as f64,
            tot_bits / tot_samples as f64,
            tot_te / tot_mp,
            tot_td / tot_mp
        );
    }
    Ok(())
}
