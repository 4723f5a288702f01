//! `nlc score`: per-image likelihood and out-of-distribution scores (docs/OOD.md).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use nelloc::{ColorType, Image, Model, Score, ScoreOptions};
use rayon::prelude::*;

use crate::{io, CliError, Common, Result};

/// Extensions `nlc score` picks up in directories.
const EXTENSIONS: [&str; 10] = [
    "png", "tif", "tiff", "jpg", "jpeg", "ppm", "pgm", "pnm", "pam", "nlc",
];

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Args)]
pub(crate) struct ScoreArgs {
    /// Images (PNG, TIFF, JPEG, PNM, .nlc) and directories (searched recursively).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output format; every format names each score in a header.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Background model of the likelihood-ratio score: a built-in name, a .safetensors
    /// path, or "none".
    #[arg(long, value_name = "NAME|PATH", default_value = "fast")]
    background: String,
    /// Tile edge, as the encoder's (contexts stop at tile edges).
    #[arg(long, default_value_t = nelloc::DEFAULT_TILE_SIZE)]
    tile_size: u32,
    #[command(flatten)]
    common: Common,
}

/// Files to score: files as given, directories walked recursively in name order.
fn collect(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let err = |e: std::io::Error| CliError::Msg(format!("{}: {e}", dir.display()));
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(err)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(err)?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads an image file or decodes an .nlc file.
pub(crate) fn load(path: &Path, common: &Common) -> Result<Image> {
    let is_nlc = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nlc"));
    if is_nlc {
        let data = io::read_file(path)?;
        let mut o = common.decode_options()?;
        o.threads = 1;
        nelloc::decode(&data, &o).map_err(|e| CliError::Msg(format!("{}: {e}", path.display())))
    } else {
        io::read_image(path)
    }
}

/// The image as the model's channels: one model must score every image for the scores
/// to be comparable, so grey is replicated for an RGB model and alpha is dropped.
fn to_channels(image: &Image, channels: u32, path: &Path) -> Result<Image> {
    let (w, h, px) = (image.width(), image.height(), image.pixels());
    let (color, pixels): (ColorType, Vec<u8>) = match (image.color(), channels) {
        (ColorType::Rgb8, 3) | (ColorType::Gray8, 1) => return Ok(image.clone()),
        (ColorType::Rgba8, 3) => (
            ColorType::Rgb8,
            px.chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        ),
        (ColorType::Gray8, 3) => (ColorType::Rgb8, px.iter().flat_map(|&v| [v; 3]).collect()),
        (ColorType::GrayA8, 3) => (
            ColorType::Rgb8,
            px.chunks_exact(2).flat_map(|p| [p[0]; 3]).collect(),
        ),
        (ColorType::GrayA8, 1) => (ColorType::Gray8, px.iter().step_by(2).copied().collect()),
        (c, n) => {
            return Err(CliError::Msg(format!(
                "{}: a {c} image cannot be scored with a {n}-channel model",
                path.display()
            )))
        }
    };
    Ok(Image::new(w, h, color, pixels)?)
}

fn model_by_name_or_path(spec: &str) -> Result<Arc<Model>> {
    if let Some(m) = nelloc::model::builtin_by_name(spec) {
        return Ok(m);
    }
    let p = Path::new(spec);
    if p.is_file() {
        return Model::from_file(p)
            .map(Arc::new)
            .map_err(|e| CliError::Msg(format!("{spec}: {e}")));
    }
    Err(CliError::Msg(format!(
        "{spec:?} is neither a built-in model (see `nlc models`) nor a model file"
    )))
}

/// The scoring model: --builtin / --model, else the built-in RGB default (OOD scores
/// compare images, so one model scores them all).
pub(crate) fn score_model(common: &Common) -> Result<Arc<Model>> {
    if let Some(name) = &common.builtin {
        return model_by_name_or_path(name);
    }
    if let Some(m) = common.load_models()?.into_iter().next() {
        return Ok(m);
    }
    model_by_name_or_path("default")
}

struct Row {
    path: PathBuf,
    width: u32,
    height: u32,
    score: Score,
}

pub(crate) fn run(args: &ScoreArgs) -> Result<()> {
    let files = collect(&args.inputs)?;
    let model = score_model(&args.common)?;
    let background = match args.background.as_str() {
        "none" => None,
        spec => Some(model_by_name_or_path(spec)?),
    };
    let mut opts = ScoreOptions::default();
    opts.tile_size = args.tile_size;
    opts.device = args.common.device;
    crate::device::set_ort_lib(args.common.ort_lib.as_deref());
    opts.model = Some(model.clone());
    opts.background = background;
    let bar = (!args.common.quiet && files.len() > 1 && std::io::stderr().is_terminal())
        .then(|| indicatif::ProgressBar::new(files.len() as u64));
    let channels = model.arch().channels;
    let score_one = |path: &PathBuf| -> Result<Row> {
        let image = to_channels(&load(path, &args.common)?, channels, path)?;
        let score = nelloc::score(image.as_ref(), &opts)
            .map_err(|e| CliError::Msg(format!("{}: {e}", path.display())))?;
        if let Some(b) = &bar {
            b.inc(1);
        }
        Ok(Row {
            path: path.clone(),
            width: image.width(),
            height: image.height(),
            score,
        })
    };
    // Files in parallel, each image's tiles too (one pool); results keep the input order.
    let all = || files.par_iter().map(score_one).collect();
    let results: Vec<Result<Row>> = if args.common.threads == 0 {
        all()
    } else {
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.common.threads)
            .build()
            .map_err(|e| CliError::Msg(format!("thread pool: {e}")))?
            .install(all)
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut rows = Vec::new();
    let mut failed = 0;
    for r in results {
        match r {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("nlc: error: {e}");
                failed += 1;
            }
        }
    }
    print(&rows, args.format)?;
    if failed > 0 {
        return Err(CliError::Msg(format!(
            "{failed} of {} file(s) could not be scored",
            files.len()
        )));
    }
    Ok(())
}

/// Column names, in output order.
const COLUMNS: [&str; 10] = [
    "file",
    "width",
    "height",
    "samples",
    "bpsp",
    "generic_bpsp",
    "complexity",
    "background_bpsp",
    "ratio",
    "local",
];

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.6}"))
}

fn print(rows: &[Row], format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let s = &r.score;
                    serde_json::json!({
                        "file": r.path.display().to_string(),
                        "width": r.width,
                        "height": r.height,
                        "samples": s.samples,
                        "bpsp": s.bpsp,
                        "generic_bpsp": s.generic_bpsp,
                        "complexity": s.complexity,
                        "background_bpsp": s.background_bpsp,
                        "ratio": s.ratio,
                        "local": s.local,
                    })
                })
                .collect();
            let text = serde_json::to_string_pretty(&list)
                .map_err(|e| CliError::Msg(format!("JSON: {e}")))?;
            outln!("{text}");
        }
        Format::Csv => {
            outln!("{}", COLUMNS.join(","));
            for r in rows {
                let s = &r.score;
                let file = r.path.display().to_string();
                // Quote the one free-text field when it needs it (RFC 4180).
                let file = if file.contains([',', '"', '\n']) {
                    format!("\"{}\"", file.replace('"', "\"\""))
                } else {
                    file
                };
                outln!(
                    "{file},{},{},{},{:.6},{:.6},{:.6},{},{},{:.6}",
                    r.width,
                    r.height,
                    s.samples,
                    s.bpsp,
                    s.generic_bpsp,
                    s.complexity,
                    opt(s.background_bpsp),
                    opt(s.ratio),
                    s.local
                );
            }
        }
        Format::Table => {
            let name_w = rows
                .iter()
                .map(|r| r.path.display().to_string().len())
                .max()
                .unwrap_or(4)
                .max(4);
            outln!(
                "{:<name_w$} {:>11} {:>7} {:>7} {:>10} {:>10} {:>7} {:>7}",
                "file",
                "size",
                "bpsp",
                "generic",
                "complexity",
                "background",
                "ratio",
                "local"
            );
            let o = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
            for r in rows {
                let s = &r.score;
                outln!(
                    "{:<name_w$} {:>11} {:>7.3} {:>7.3} {:>10.3} {:>10} {:>7} {:>7.3}",
                    r.path.display(),
                    format!("{}x{}", r.width, r.height),
                    s.bpsp,
                    s.generic_bpsp,
                    s.complexity,
                    o(s.background_bpsp),
                    o(s.ratio),
                    s.local
                );
            }
        }
    }
    Ok(())
}
