//! The measured side of `nlc bench`: one encode or decode in a fresh process.

use std::time::Instant;

use super::{BenchArgs, ChildOp, ChildReport};
use crate::{io, CliError, Result};

/// A `/proc/self/status` field in KiB (Linux; `None` elsewhere).
pub(crate) fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub(super) fn run(args: &BenchArgs, op: ChildOp) -> Result<()> {
    let (input, tile) = match (args.inputs.as_slice(), args.tile_sizes.as_slice()) {
        ([input], [tile]) => (input, *tile),
        _ => {
            return Err(CliError::Msg(
                "bench child: one input and one tile size".into(),
            ))
        }
    };
    let nlc = args
        .child_nlc
        .as_ref()
        .ok_or_else(|| CliError::Msg("bench child: --child-nlc missing".into()))?;
    let mut report = ChildReport {
        secs: f64::INFINITY,
        ..ChildReport::default()
    };
    match op {
        ChildOp::Encode => {
            let image = io::read_image(input)?;
            let mut opts = args.models.encode_options(tile, image.color())?;
            opts.threads = args.threads;
            opts.adapt_head = args.adapt_head;
            report.base_kib = status_kib("VmRSS");
            let mut coded = None;
            for _ in 0..args.runs {
                drop(coded.take()); // free the previous run's output first
                let t = Instant::now();
                let r = nelloc::encode_with_stats(image.as_ref(), &opts)?;
                report.secs = report.secs.min(t.elapsed().as_secs_f64());
                coded = Some(r);
            }
            report.peak_kib = status_kib("VmHWM");
            let (bytes, stats) = coded.ok_or_else(|| CliError::Msg("no run".into()))?;
            io::write_atomic(nlc, &bytes)?;
            report.bytes = bytes.len() as u64;
            report.model_bits = stats.model_bits;
            report.stream_bytes = stats.stream_bytes;
        }
        ChildOp::Decode => {
            let data = io::read_file(nlc)?;
            let mut opts = args.models.files.decode_options()?;
            opts.threads = args.threads;
            report.base_kib = status_kib("VmRSS");
            let mut decoded = None;
            for _ in 0..args.runs {
                drop(decoded.take());
                let t = Instant::now();
                let r = nelloc::decode(&data, &opts)?;
                report.secs = report.secs.min(t.elapsed().as_secs_f64());
                decoded = Some(r);
            }
            // The peak of the decode itself, before the original is read for verification.
            report.peak_kib = status_kib("VmHWM");
            report.bytes = data.len() as u64;
            let back = decoded.ok_or_else(|| CliError::Msg("no run".into()))?;
            drop(data);
            let original = io::read_image(input)?;
            if back.width() != original.width()
                || back.height() != original.height()
                || back.color() != original.color()
                || back.pixels() != original.pixels()
            {
                return Err(CliError::Msg(format!(
                    "{}: roundtrip mismatch",
                    input.display()
                )));
            }
        }
    }
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| CliError::Msg(format!("JSON: {e}")))?
    );
    Ok(())
}
