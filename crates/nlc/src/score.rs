//! `nlc score`: per-image likelihood and out-of-distribution scores (docs/OOD.md).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use nelloc::score::{Reference, Score, ScoreOptions, Typicality};
use nelloc::{ColorType, DecodeOptions, Image, Model};
use rayon::prelude::*;

use crate::{io, CliError, Result, Run};

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
    /// Adds the `typicality`, `tail` and `novelty` columns: how far each image's features
    /// lie from the in-distribution images of this reference (written by
    /// --save-reference); `novelty` is the recommended one.
    #[arg(long, value_name = "REF.json", conflicts_with = "save_reference")]
    reference: Option<PathBuf>,
    /// Fits a reference on the inputs (in-distribution images; dozens or more) and writes
    /// it here as JSON; the output then has the `typicality`, `tail` and `novelty` columns
    /// of the inputs themselves.
    #[arg(long, value_name = "REF.json")]
    save_reference: Option<PathBuf>,
    /// With --save-reference: how far the fitted correlations are pulled towards none
    /// (0 to 1).
    #[arg(long, default_value_t = nelloc::score::DEFAULT_SHRINKAGE, requires = "save_reference")]
    shrinkage: f64,
    /// Scoring model: a built-in name (`nlc models`) or a .safetensors path. Default:
    /// "default" (one model scores every image, so that the scores compare).
    #[arg(long = "builtin", value_name = "NAME|PATH", conflicts_with = "models")]
    builtin: Option<String>,
    /// External model file(s) (.safetensors): the first one is the scoring model; all of
    /// them can decode .nlc inputs (picked by hash).
    #[arg(long = "model", value_name = "PATH")]
    models: Vec<PathBuf>,
    #[command(flatten)]
    run: Run,
    /// Do not show a progress bar.
    #[arg(long, short)]
    quiet: bool,
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

/// Reads an image file or decodes an .nlc file with `decode` (on the calling thread: the
/// callers run files in parallel).
pub(crate) fn load(path: &Path, decode: &DecodeOptions) -> Result<Image> {
    let is_nlc = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nlc"));
    if is_nlc {
        let data = io::read_file(path)?;
        let mut o = decode.clone();
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

/// The scoring model: --builtin, else the first --model, else the built-in RGB default
/// (OOD scores compare images, so one model scores them all).
fn score_model(builtin: Option<&str>, models: &[Arc<Model>]) -> Result<Arc<Model>> {
    if let Some(name) = builtin {
        return model_by_name_or_path(name);
    }
    if let Some(m) = models.first() {
        return Ok(m.clone());
    }
    model_by_name_or_path("default")
}

struct Row {
    path: PathBuf,
    width: u32,
    height: u32,
    score: Score,
    /// Distances from the reference's in-distribution features, with a reference.
    typicality: Option<Typicality>,
}

pub(crate) fn run(args: &ScoreArgs) -> Result<()> {
    let files = collect(&args.inputs)?;
    let mut decode = DecodeOptions::default();
    decode.models = crate::load_models(&args.models)?;
    decode.model_path = nelloc::model::search_path_from_env();
    args.run.apply_decode(&mut decode);
    let model = score_model(args.builtin.as_deref(), &decode.models)?;
    let background = match args.background.as_str() {
        "none" => None,
        spec => Some(model_by_name_or_path(spec)?),
    };
    let reference = match &args.reference {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Msg(format!("{}: {e}", path.display())))?;
            let r = Reference::from_json(&text)
                .and_then(|r| {
                    r.check(&model, background.as_deref(), args.tile_size)
                        .map(|()| r)
                })
                .map_err(|e| CliError::Msg(format!("{}: {e}", path.display())))?;
            if !r.has_novelty() {
                eprintln!(
                    "nlc: warning: {} is a version-1 reference without the novelty tail models; refit it with --save-reference for the novelty column",
                    path.display()
                );
            }
            Some(r)
        }
        None => None,
    };
    let mut opts = ScoreOptions::default();
    opts.tile_size = args.tile_size;
    opts.device = args.run.device();
    opts.model = Some(model.clone());
    opts.background = background.clone();
    let bar = (!args.quiet && files.len() > 1 && std::io::stderr().is_terminal())
        .then(|| indicatif::ProgressBar::new(files.len() as u64));
    let channels = model.arch().channels;
    let score_one = |path: &PathBuf| -> Result<Row> {
        let image = to_channels(&load(path, &decode)?, channels, path)?;
        let score = nelloc::score::score(image.as_ref(), &opts)
            .map_err(|e| CliError::Msg(format!("{}: {e}", path.display())))?;
        if let Some(b) = &bar {
            b.inc(1);
        }
        Ok(Row {
            path: path.clone(),
            width: image.width(),
            height: image.height(),
            score,
            typicality: None,
        })
    };
    // Files in parallel, each image's tiles too (one pool); results keep the input order.
    let all = || files.par_iter().map(score_one).collect();
    let results: Vec<Result<Row>> = if args.run.threads == 0 {
        all()
    } else {
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.run.threads)
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
    let reference = match &args.save_reference {
        // A reference fitted on part of the inputs would silently describe other images.
        Some(_) if failed > 0 => {
            return Err(CliError::Msg(format!(
                "{failed} of {} file(s) could not be scored; no reference written",
                files.len()
            )))
        }
        Some(path) => {
            let scores: Vec<Score> = rows.iter().map(|r| r.score).collect();
            let r = Reference::fit(
                &scores,
                &model,
                background.as_deref(),
                args.tile_size,
                args.shrinkage,
            )
            .map_err(|e| CliError::Msg(e.to_string()))?;
            crate::io::write_atomic(path, r.to_json().as_bytes())?;
            Some(r)
        }
        None => reference,
    };
    if let Some(reference) = &reference {
        for r in &mut rows {
            let t = reference
                .typicality(&r.score)
                .map_err(|e| CliError::Msg(format!("{}: {e}", r.path.display())))?;
            r.typicality = Some(t);
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

/// The numeric columns of a row after `file`, in output order (None: not computed).
fn columns(r: &Row) -> Vec<(&'static str, Option<f64>)> {
    let s = &r.score;
    let mut c = vec![
        ("width", Some(f64::from(r.width))),
        ("height", Some(f64::from(r.height))),
        ("samples", Some(s.samples as f64)),
        ("bpsp", Some(s.bpsp)),
        ("generic_bpsp", Some(s.generic_bpsp)),
        ("complexity", Some(s.complexity)),
        ("background_bpsp", s.background_bpsp),
        ("ratio", s.ratio),
        ("local", Some(s.local)),
        ("chroma_share", Some(s.chroma_share())),
        ("c0_bpsp", Some(s.channel_bpsp[0])),
        ("c1_bpsp", Some(s.channel_bpsp[1])),
        ("c2_bpsp", Some(s.channel_bpsp[2])),
        ("generic_c0_bpsp", Some(s.generic_channel_bpsp[0])),
        ("generic_c1_bpsp", Some(s.generic_channel_bpsp[1])),
        ("generic_c2_bpsp", Some(s.generic_channel_bpsp[2])),
        ("q50", Some(s.quantiles[0])),
        ("q90", Some(s.quantiles[1])),
        ("q99", Some(s.quantiles[2])),
        ("flat", Some(s.flat)),
        ("spread", Some(s.spread)),
    ];
    if let Some(t) = r.typicality {
        c.push(("typicality", Some(t.distance)));
        c.push(("tail", Some(t.tail)));
        c.push(("novelty", t.novelty));
    }
    c
}

/// Integer columns are printed without decimals.
fn is_integer(name: &str) -> bool {
    matches!(name, "width" | "height" | "samples")
}

fn print(rows: &[Row], format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut m = serde_json::Map::new();
                    m.insert("file".into(), r.path.display().to_string().into());
                    for (name, v) in columns(r) {
                        let v = match v {
                            Some(v) if is_integer(name) => (v as u64).into(),
                            Some(v) => v.into(),
                            None => serde_json::Value::Null,
                        };
                        m.insert(name.into(), v);
                    }
                    if let Some(t) = r.typicality {
                        m.insert("novelty_feature".into(), t.novelty_feature.into());
                    }
                    serde_json::Value::Object(m)
                })
                .collect();
            let text = serde_json::to_string_pretty(&list)
                .map_err(|e| CliError::Msg(format!("JSON: {e}")))?;
            outln!("{text}");
        }
        Format::Csv => {
            let Some(first) = rows.first() else {
                return Ok(());
            };
            let names: Vec<&str> = columns(first).iter().map(|c| c.0).collect();
            outln!("file,{}", names.join(","));
            for r in rows {
                let file = r.path.display().to_string();
                // Quote the one free-text field when it needs it (RFC 4180).
                let file = if file.contains([',', '"', '\n']) {
                    format!("\"{}\"", file.replace('"', "\"\""))
                } else {
                    file
                };
                let cells: Vec<String> = columns(r)
                    .into_iter()
                    .map(|(name, v)| match v {
                        Some(v) if is_integer(name) => format!("{}", v as u64),
                        Some(v) => format!("{v:.6}"),
                        None => String::new(),
                    })
                    .collect();
                outln!("{file},{}", cells.join(","));
            }
        }
        Format::Table => {
            let name_w = rows
                .iter()
                .map(|r| r.path.display().to_string().len())
                .max()
                .unwrap_or(4)
                .max(4);
            // The main scores; csv and json have every feature.
            let with_ref = rows.iter().any(|r| r.typicality.is_some());
            let mut head = format!(
                "{:<name_w$} {:>11} {:>7} {:>7} {:>10} {:>10} {:>7} {:>7} {:>7} {:>7}",
                "file",
                "size",
                "bpsp",
                "generic",
                "complexity",
                "background",
                "ratio",
                "local",
                "chroma",
                "flat"
            );
            if with_ref {
                head += &format!(" {:>10} {:>7} {:>7}", "typicality", "tail", "novelty");
            }
            outln!("{head}");
            let o = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
            for r in rows {
                let s = &r.score;
                let mut line = format!(
                    "{:<name_w$} {:>11} {:>7.3} {:>7.3} {:>10.3} {:>10} {:>7} {:>7.3} {:>7.3} {:>7.3}",
                    r.path.display(),
                    format!("{}x{}", r.width, r.height),
                    s.bpsp,
                    s.generic_bpsp,
                    s.complexity,
                    o(s.background_bpsp),
                    o(s.ratio),
                    s.local,
                    s.chroma_share(),
                    s.flat
                );
                if let Some(t) = r.typicality {
                    line += &format!(" {:>10.3} {:>7.3} {:>7}", t.distance, t.tail, o(t.novelty));
                }
                outln!("{line}");
            }
        }
    }
    Ok(())
}
