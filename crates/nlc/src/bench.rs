//! `nlc bench`: encode, decode and verify images; bpsp, time per image and per megapixel,
//! peak memory, network throughput; with `--peers`, the peer codecs on the same images.
//!
//! Every nelloc encode and decode runs in a fresh child process (this executable, re-invoked
//! with the hidden `--child-op` option), so that its peak resident memory (`VmHWM` of
//! `/proc/self/status`, Linux only) is the peak of that one operation's process: the
//! executable, the built-in models, the input (the image for encode, the `.nlc` bytes for
//! decode) and everything the codec allocates. The decode child reads the original image only
//! after reading its peak, to verify the pixels.

mod child;
mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::{io, CliError, EncodeModels, Result};

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Images to measure.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Tile edge in pixels (repeat to compare several).
    #[arg(long = "tile-size", default_values_t = [nelloc::DEFAULT_TILE_SIZE])]
    tile_sizes: Vec<u32>,
    /// Also run the peer codecs on the same images, single-threaded: `cjxl -d 0 -e 7` (+ djxl),
    /// `cwebp -lossless -exact` (+ dwebp), `oxipng -o 2` (PNG decode). Every roundtrip is
    /// verified; a missing tool is skipped with a note.
    #[arg(long)]
    peers: bool,
    /// Write every result as JSON to this file (read by tools/perf-plot.py).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Runs of each encode and decode; the fastest is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Measured int8 multiply-add peak of one core in GMAC/s (the first figure of
    /// `cargo run --release -p nelloc --example int8_peak`): also print the network's
    /// achieved fraction of it.
    #[arg(long, value_name = "GMACS")]
    peak_gmacs: Option<f64>,
    /// Name of this nelloc configuration in tables and JSON (default: the model's name).
    #[arg(long)]
    label: Option<String>,
    /// Internal: run one measured operation in this process and print JSON.
    #[arg(long, hide = true)]
    child_op: Option<ChildOp>,
    /// Internal: the .nlc file a child writes (encode) or reads (decode).
    #[arg(long, hide = true)]
    child_nlc: Option<PathBuf>,
    /// Worker threads of each measured encode and decode (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    models: EncodeModels,
    /// Adapted heads in the measured encodes: auto (the default), always or off (see
    /// `nlc encode --help`).
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = crate::parse_adapt_head)]
    adapt_head: nelloc::AdaptHead,
    /// Accepted for scripts (training/eval.py); bench never shows a progress bar.
    #[arg(long, short, hide = true)]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ChildOp {
    Encode,
    Decode,
}

/// What a child process reports (one JSON line on stdout).
#[derive(Serialize, Deserialize, Default)]
struct ChildReport {
    secs: f64,
    /// VmHWM of the child after the operation, KiB.
    peak_kib: Option<u64>,
    /// VmRSS of the child just before the operation (input already loaded), KiB.
    base_kib: Option<u64>,
    bytes: u64,
    model_bits: f64,
    stream_bytes: u64,
}

/// One image coded by one codec configuration.
#[derive(Serialize, Clone)]
pub(crate) struct ImageResult {
    image: String,
    width: u32,
    height: u32,
    /// Samples per pixel of the original image.
    channels: usize,
    raw_bytes: u64,
    bytes: u64,
    bpsp: f64,
    encode_s: f64,
    decode_s: f64,
    encode_s_per_mp: f64,
    decode_s_per_mp: f64,
    encode_mps: f64,
    decode_mps: f64,
    /// nelloc only: -log2 of the quantized model's probabilities, per sample.
    model_bpsp: Option<f64>,
    /// nelloc only: peak resident memory of the encode / decode child process, KiB.
    encode_peak_kib: Option<u64>,
    decode_peak_kib: Option<u64>,
    /// nelloc only: resident memory of the decode child just before decoding, KiB.
    decode_base_kib: Option<u64>,
    verified: bool,
}

impl ImageResult {
    #[allow(clippy::too_many_arguments)]
    fn new(name: &str, image: &nelloc::Image, bytes: u64, encode_s: f64, decode_s: f64) -> Self {
        let mp = megapixels(image);
        let raw = image.pixels().len() as u64;
        ImageResult {
            image: name.to_string(),
            width: image.width(),
            height: image.height(),
            channels: image.color().channels(),
            raw_bytes: raw,
            bytes,
            bpsp: bytes as f64 * 8.0 / raw as f64,
            encode_s,
            decode_s,
            encode_s_per_mp: encode_s / mp,
            decode_s_per_mp: decode_s / mp,
            encode_mps: mp / encode_s,
            decode_mps: mp / decode_s,
            model_bpsp: None,
            encode_peak_kib: None,
            decode_peak_kib: None,
            decode_base_kib: None,
            verified: true,
        }
    }
}

/// Sums over the images of one configuration.
#[derive(Serialize, Clone, Default)]
pub(crate) struct Totals {
    images: usize,
    pixels: u64,
    samples: u64,
    bytes: u64,
    bpsp: f64,
    encode_s: f64,
    decode_s: f64,
    encode_s_per_mp: f64,
    decode_s_per_mp: f64,
    encode_mps: f64,
    decode_mps: f64,
    max_decode_peak_kib: Option<u64>,
    max_encode_peak_kib: Option<u64>,
}

impl Totals {
    fn of(images: &[ImageResult]) -> Totals {
        let pixels: u64 = images
            .iter()
            .map(|r| u64::from(r.width) * u64::from(r.height))
            .sum();
        let samples: u64 = images.iter().map(|r| r.raw_bytes).sum();
        let bytes: u64 = images.iter().map(|r| r.bytes).sum();
        let encode_s: f64 = images.iter().map(|r| r.encode_s).sum();
        let decode_s: f64 = images.iter().map(|r| r.decode_s).sum();
        let mp = pixels as f64 / 1e6;
        Totals {
            images: images.len(),
            pixels,
            samples,
            bytes,
            bpsp: bytes as f64 * 8.0 / samples.max(1) as f64,
            encode_s,
            decode_s,
            encode_s_per_mp: encode_s / mp,
            decode_s_per_mp: decode_s / mp,
            encode_mps: mp / encode_s,
            decode_mps: mp / decode_s,
            max_decode_peak_kib: images.iter().filter_map(|r| r.decode_peak_kib).max(),
            max_encode_peak_kib: images.iter().filter_map(|r| r.encode_peak_kib).max(),
        }
    }
}

/// One codec configuration (a nelloc model and tile size, or a peer) on all images.
#[derive(Serialize, Clone)]
pub(crate) struct Config {
    /// "nelloc" or "peer".
    kind: &'static str,
    label: String,
    /// Command line / setting.
    setting: String,
    threads: usize,
    tile: Option<u32>,
    model_hash: Option<String>,
    macs_per_pixel: Option<u64>,
    /// Network multiply-adds / whole decode (encode) time: a lower bound on the network's
    /// own throughput (the time also covers context gathering, the mixture and the coder).
    network_gmacs_decode: Option<f64>,
    network_gmacs_encode: Option<f64>,
    /// The above as a fraction of `peak_gmacs_per_core * threads`, when a peak was given.
    peak_fraction_decode: Option<f64>,
    peak_fraction_encode: Option<f64>,
    images: Vec<ImageResult>,
    total: Totals,
}

#[derive(Serialize)]
struct Report {
    /// JSON layout version.
    version: u32,
    cpu: String,
    logical_cpus: usize,
    unix_time: u64,
    runs: u32,
    peak_gmacs_per_core: Option<f64>,
    configs: Vec<Config>,
    /// Peers that were asked for but not run, with the reason.
    skipped_peers: Vec<String>,
}

fn megapixels(image: &nelloc::Image) -> f64 {
    f64::from(image.width()) * f64::from(image.height()) / 1e6
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn effective_threads(threads: usize) -> usize {
    if threads != 0 {
        return threads;
    }
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The colour model an encode with these models uses for a `color` image.
fn colour_model(
    models: &EncodeModels,
    tile: u32,
    color: nelloc::ColorType,
) -> Result<std::sync::Arc<nelloc::Model>> {
    let opts = models.encode_options(tile, color)?;
    match opts.model {
        Some(m) => Ok(m),
        None => nelloc::model::default_for_channels(color.color_channels())
            .ok_or_else(|| CliError::Msg(format!("no built-in model for a {color} image"))),
    }
}

/// Re-invokes this executable for one measured operation.
fn spawn_child(
    args: &BenchArgs,
    op: ChildOp,
    input: &Path,
    tile: u32,
    nlc: &Path,
) -> Result<ChildReport> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Msg(format!("cannot find the nlc executable: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("bench")
        .arg("--child-op")
        .arg(match op {
            ChildOp::Encode => "encode",
            ChildOp::Decode => "decode",
        })
        .arg("--child-nlc")
        .arg(nlc)
        .arg("--tile-size")
        .arg(tile.to_string())
        .arg("--runs")
        .arg(args.runs.to_string())
        .arg("--threads")
        .arg(args.threads.to_string())
        .arg("--adapt-head")
        .arg(args.adapt_head.to_string());
    if let Some(b) = &args.models.builtin {
        cmd.arg("--builtin").arg(b);
    }
    for m in &args.models.files.models {
        cmd.arg("--model").arg(m);
    }
    if let Some(a) = &args.models.files.alpha_model {
        cmd.arg("--alpha-model").arg(a);
    }
    cmd.arg("--").arg(input);
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| CliError::Msg(format!("cannot run the bench child process: {e}")))?;
    let what = match op {
        ChildOp::Encode => "encode",
        ChildOp::Decode => "decode",
    };
    if !out.status.success() {
        return Err(CliError::Msg(format!(
            "{}: {what} child process failed ({})",
            input.display(),
            out.status
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| {
        CliError::Msg(format!(
            "{}: unreadable {what} child report {line:?}: {e}",
            input.display()
        ))
    })
}

pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    if let Some(op) = args.child_op {
        return child::run(args, op);
    }
    let threads = effective_threads(args.threads);
    let work =
        tempfile::tempdir().map_err(|e| CliError::Msg(format!("temporary directory: {e}")))?;
    let mut configs = Vec::new();
    println!(
        "nelloc, {threads} thread(s), best of {} run(s); each encode and decode in a fresh process \
         (peak = VmHWM of that process)",
        args.runs
    );
    println!();
    println!(
        "| image | tile | pixels | bytes | bpsp | model bpsp | coder overhead | encode s/MP | decode s/MP \
         | encode s | decode s | encode MP/s | decode MP/s | encode peak MiB | decode peak MiB | raw MiB | decode peak / (3 raw + 64 MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &tile in &args.tile_sizes {
        let mut results = Vec::new();
        let mut models: Vec<std::sync::Arc<nelloc::Model>> = Vec::new();
        let mut macs = 0f64;
        for (n, path) in args.inputs.iter().enumerate() {
            let image = io::read_image(path)?;
            let model = colour_model(&args.models, tile, image.color())?;
            macs += model.arch().macs_per_pixel() as f64
                * f64::from(image.width())
                * f64::from(image.height());
            if !models.iter().any(|m| m.hash() == model.hash()) {
                models.push(model);
            }
            let nlc = work.path().join(format!("{n}.nlc"));
            let enc = spawn_child(args, ChildOp::Encode, path, tile, &nlc)?;
            let dec = spawn_child(args, ChildOp::Decode, path, tile, &nlc)?;
            let samples = image.pixels().len() as f64;
            let mut r = ImageResult::new(&file_name(path), &image, enc.bytes, enc.secs, dec.secs);
            r.model_bpsp = Some(enc.model_bits / samples);
            r.encode_peak_kib = enc.peak_kib;
            r.decode_peak_kib = dec.peak_kib;
            r.decode_base_kib = dec.base_kib;
            let mib =
                |k: Option<u64>| k.map_or("n/a".into(), |k| format!("{:.1}", k as f64 / 1024.0));
            let raw_mib = r.raw_bytes as f64 / (1 << 20) as f64;
            println!(
                "| {} | {tile} | {} | {} | {:.4} | {:.4} | {:.3}% | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {:.2} | {} |",
                r.image,
                u64::from(r.width) * u64::from(r.height),
                r.bytes,
                r.bpsp,
                enc.model_bits / samples,
                100.0 * (enc.stream_bytes as f64 * 8.0 / enc.model_bits - 1.0),
                r.encode_s_per_mp,
                r.decode_s_per_mp,
                r.encode_s,
                r.decode_s,
                r.encode_mps,
                r.decode_mps,
                mib(r.encode_peak_kib),
                mib(r.decode_peak_kib),
                raw_mib,
                r.decode_peak_kib.map_or("n/a".into(), |k| format!(
                    "{:.2}",
                    k as f64 / 1024.0 / (3.0 * raw_mib + 64.0)
                )),
            );
            results.push(r);
        }
        let total = Totals::of(&results);
        let model_bits: f64 = results
            .iter()
            .map(|r| r.model_bpsp.unwrap_or(0.0) * r.raw_bytes as f64)
            .sum();
        println!(
            "| **all** | {tile} | {} | {} | **{:.4}** | {:.4} | | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | | |",
            total.pixels,
            total.bytes,
            total.bpsp,
            model_bits / total.samples as f64,
            total.encode_s_per_mp,
            total.decode_s_per_mp,
            total.encode_s,
            total.decode_s,
            total.encode_mps,
            total.decode_mps,
            total
                .max_encode_peak_kib
                .map_or("n/a".into(), |k| format!("max {:.1}", k as f64 / 1024.0)),
            total
                .max_decode_peak_kib
                .map_or("n/a".into(), |k| format!("max {:.1}", k as f64 / 1024.0)),
        );
        let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
        let label = args
            .label
            .clone()
            .unwrap_or_else(|| format!("nelloc {}", names.join("+")));
        let gm_dec = macs / total.decode_s / 1e9;
        let gm_enc = macs / total.encode_s / 1e9;
        let frac = |g: f64| args.peak_gmacs.map(|p| g / (p * threads as f64));
        let single_model = (models.len() == 1).then(|| &models[0]);
        let mut setting = format!("nlc bench --tile-size {tile} --threads {}", args.threads);
        if let Some(b) = &args.models.builtin {
            setting.push_str(&format!(" --builtin {b}"));
        }
        configs.push(Config {
            kind: "nelloc",
            label,
            setting,
            threads,
            tile: Some(tile),
            model_hash: single_model.map(|m| m.hash_hex()),
            macs_per_pixel: single_model.map(|m| m.arch().macs_per_pixel()),
            network_gmacs_decode: Some(gm_dec),
            network_gmacs_encode: Some(gm_enc),
            peak_fraction_decode: frac(gm_dec),
            peak_fraction_encode: frac(gm_enc),
            images: results,
            total,
        });
    }
    println!();
    for c in &configs {
        let pct = |f: Option<f64>| {
            f.map_or(String::new(), |f| {
                format!(
                    " = {:.1}% of the int8 peak ({threads} x {:.1} GMAC/s)",
                    100.0 * f,
                    args.peak_gmacs.unwrap_or(0.0)
                )
            })
        };
        println!(
            "{} (tile {}, {} MAC/pixel): network GMAC/s over the whole decode time {:.2}{}; over the whole encode time {:.2}{}",
            c.label,
            c.tile.unwrap_or(0),
            c.macs_per_pixel.map_or("mixed".into(), |m| m.to_string()),
            c.network_gmacs_decode.unwrap_or(0.0),
            pct(c.peak_fraction_decode),
            c.network_gmacs_encode.unwrap_or(0.0),
            pct(c.peak_fraction_encode),
        );
    }
    println!("(whole decode/encode time includes context gathering, mixture and ANS coding: the network's own throughput is higher)");
    let mut skipped = Vec::new();
    if args.peers {
        let (peer_configs, notes) = peers::run(&args.inputs, args.runs, work.path())?;
        skipped = notes;
        configs.extend(peer_configs);
        println!();
        print_comparison(&configs);
        for note in &skipped {
            println!("note: {note}");
        }
    }
    if let Some(path) = &args.json {
        let report = Report {
            version: 1,
            cpu: cpu_model(),
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            runs: args.runs,
            peak_gmacs_per_core: args.peak_gmacs,
            configs,
            skipped_peers: skipped,
        };
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::Msg(format!("JSON: {e}")))?;
        io::write_atomic(path, text.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The markdown table of every configuration against `cjxl -d 0 -e 7`.
fn print_comparison(configs: &[Config]) {
    let jxl = configs.iter().find(|c| c.label.starts_with("cjxl"));
    println!(
        "| codec / setting | threads | bpsp | encode s | decode s | encode MP/s | decode MP/s | bpsp / cjxl -e 7 | decode s / djxl | encode s / cjxl -e 7 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for c in configs {
        let t = &c.total;
        let ratio = |x: f64, f: fn(&Totals) -> f64| {
            jxl.map_or("n/a".into(), |j| format!("{:.3}", x / f(&j.total)))
        };
        let name = match c.tile {
            Some(tile) if tile != nelloc::DEFAULT_TILE_SIZE => format!("{} (tile {tile})", c.label),
            _ => c.label.clone(),
        };
        println!(
            "| {name} | {} | {:.4} | {:.4} | {:.4} | {:.3} | {:.3} | {} | {} | {} |",
            c.threads,
            t.bpsp,
            t.encode_s,
            t.decode_s,
            t.encode_mps,
            t.decode_mps,
            ratio(t.bpsp, |j| j.bpsp),
            ratio(t.decode_s, |j| j.decode_s),
            ratio(t.encode_s, |j| j.encode_s),
        );
    }
    println!(
        "(sums over {} image(s); peers single-threaded, timed as whole processes; oxipng's decode is an in-process PNG decode)",
        configs.first().map_or(0, |c| c.total.images)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(w: u32, h: u32, c: usize, bytes: u64, te: f64, td: f64) -> ImageResult {
        let image = nelloc::Image::new(
            w,
            h,
            if c == 1 {
                nelloc::ColorType::Gray8
            } else {
                nelloc::ColorType::Rgb8
            },
            vec![0; (w * h) as usize * c],
        )
        .unwrap();
        ImageResult::new("x", &image, bytes, te, td)
    }

    #[test]
    fn totals_weight_by_samples_and_pixels() {
        let a = result(1000, 1000, 3, 750_000, 2.0, 4.0); // 2 bpsp
        let b = result(1000, 1000, 1, 500_000, 1.0, 1.0); // 4 bpsp
        assert_eq!(a.bpsp, 2.0);
        assert_eq!(a.decode_mps, 0.25);
        let t = Totals::of(&[a, b]);
        assert_eq!(t.pixels, 2_000_000);
        assert_eq!(t.samples, 4_000_000);
        assert_eq!(t.bpsp, 2.5);
        assert_eq!(t.encode_s_per_mp, 1.5);
        assert_eq!(t.decode_mps, 0.4);
    }

    #[test]
    fn child_reports_roundtrip_through_json() {
        let r = ChildReport {
            secs: 0.5,
            peak_kib: Some(1234),
            base_kib: None,
            bytes: 42,
            model_bits: 300.5,
            stream_bytes: 40,
        };
        let back: ChildReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(
            (back.secs, back.peak_kib, back.bytes),
            (0.5, Some(1234), 42)
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn peak_memory_is_readable_on_linux() {
        // (VmHWM may lag VmRSS slightly: the kernel syncs per-thread RSS counters lazily.)
        assert!(child::status_kib("VmHWM").unwrap() > 0);
        assert!(child::status_kib("VmRSS").unwrap() > 0);
        assert_eq!(child::status_kib("NoSuchField"), None);
    }
}
