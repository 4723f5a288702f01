//! `nlc`: encode, decode and inspect `.nlc` files (NeLLoC neural lossless images).
#![deny(unsafe_code)]

/// `println!` that treats a closed stdout (`nlc info x | head -1`) as the end of the
/// output rather than a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("nlc: error: writing to stdout: {e}");
            std::process::exit(1);
        }
    }};
}

mod adapt;
mod batch;
mod bench;
mod device;
mod doctor;
mod heatmap;
mod io;
mod score;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use nelloc::{DecodeOptions, EncodeOptions, Model, Progress};

/// Neural lossless image codec (NeLLoC) command-line tool.
#[derive(Parser)]
#[command(name = "nlc", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compress an image (PNG, TIFF, PPM/PGM/PAM, JPEG pixels) to .nlc.
    Encode {
        /// INPUT OUTPUT: an image and the .nlc file to write (atomically, after decoding
        /// it back); with --out-dir, images or directories of images.
        #[arg(required = true, value_name = "PATHS")]
        paths: Vec<PathBuf>,
        /// Tile edge in pixels (tiles are independent streams).
        #[arg(long, default_value_t = nelloc::DEFAULT_TILE_SIZE)]
        tile_size: u32,
        #[command(flatten)]
        encoder: Encoder,
        #[command(flatten)]
        run: Run,
        /// Do not show a progress bar.
        #[arg(long, short)]
        quiet: bool,
        #[command(flatten)]
        batch: batch::EncodeBatch,
    },
    /// Decompress .nlc to PNG, TIFF or PPM/PGM/PAM (chosen by the output extension).
    Decode {
        /// INPUT OUTPUT: an .nlc file and the image to write (atomically); with
        /// --out-dir, .nlc files or directories of them.
        #[arg(required = true, value_name = "PATHS")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        decoder: Decoder,
        #[command(flatten)]
        run: Run,
        /// Do not show a progress bar.
        #[arg(long, short)]
        quiet: bool,
        #[command(flatten)]
        batch: batch::DecodeBatch,
    },
    /// Print the header of an .nlc file.
    Info {
        /// Input .nlc file.
        input: PathBuf,
        /// Also list every tile: position, size, coding mode(s) and bytes.
        #[arg(long)]
        tiles: bool,
        #[command(flatten)]
        decoder: Decoder,
    },
    /// Compress and decompress a real photograph with the built-in model; print sizes and bpsp.
    Demo {
        /// Image to use instead of the built-in photograph.
        input: Option<PathBuf>,
        #[command(flatten)]
        encoder: Encoder,
        #[command(flatten)]
        run: Run,
    },
    /// Encode, decode and verify images; print bpsp and time per megapixel.
    Bench(bench::BenchArgs),
    /// List the built-in models.
    Models,
    /// Likelihood and out-of-distribution scores of images (docs/OOD.md).
    Score(score::ScoreArgs),
    /// Per-pixel code length as a colour image with a legend (bits per pixel).
    Heatmap(heatmap::HeatmapArgs),
    /// Write a model's integer network as an ONNX graph (exact integer operators).
    ExportOnnx(device::ExportArgs),
    /// Fine-tune a built-in model on a collection of images (runs `python3 -m
    /// nelloc.adapt`, from `pip install 'nelloc[adapt]'`): writes an integer model file for
    /// `--model`. `nlc adapt --help` lists its options.
    Adapt(adapt::AdaptArgs),
    /// Check the plugin installations (ImageMagick, GraphicsMagick, gdk-pixbuf, GIMP) and
    /// libnelloc: ok, missing or broken, with the command that fixes it. Exits 1 when
    /// something installed is broken; a tool that is not installed is not an error.
    Doctor(doctor::DoctorArgs),
}

/// How the network runs, for every command that runs it. The output never depends on it.
#[derive(Args, Clone)]
struct Run {
    /// Worker threads (0 = all cores). The output never depends on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Where the network runs: cpu (default), auto (a GPU when present and the image is
    /// large), cuda[:N], ort[:cpu|:cuda[:N]] (ONNX Runtime). The output never depends on it.
    #[arg(long, value_name = "DEVICE", value_parser = device::parse_device, default_value = "cpu")]
    device: nelloc::Device,
    /// ONNX Runtime library for --device ort (default: $NELLOC_ORT_LIB, then
    /// libonnxruntime.so on the library path).
    #[arg(long, value_name = "PATH")]
    ort_lib: Option<PathBuf>,
}

impl Run {
    /// The device, with `--ort-lib` applied first (the runtime loads once per process).
    fn device(&self) -> nelloc::Device {
        device::set_ort_lib(self.ort_lib.as_deref());
        self.device
    }

    fn apply_encode(&self, o: &mut EncodeOptions) {
        o.threads = self.threads;
        o.device = self.device();
    }

    fn apply_decode(&self, o: &mut DecodeOptions) {
        o.threads = self.threads;
        o.device = self.device();
    }
}

/// External model files: what decoding needs beyond the built-in models.
#[derive(Args, Clone)]
struct Models {
    /// External model file(s) (.safetensors). The colour planes are coded with the first
    /// one of the image's channel count; decoding picks models by hash.
    #[arg(long = "model", value_name = "PATH")]
    models: Vec<PathBuf>,
    /// One-channel model for alpha planes.
    #[arg(long, value_name = "PATH")]
    alpha_model: Option<PathBuf>,
    /// Directory searched for the *.safetensors model a stream needs when it is not
    /// built in, not given with --model and not embedded (repeatable; searched before
    /// the directories of NELLOC_MODEL_PATH, and the stream's own directory last).
    #[arg(long = "model-path", value_name = "DIR")]
    model_path: Vec<PathBuf>,
}

impl Models {
    /// Decoder options that know these models and search --model-path, then
    /// NELLOC_MODEL_PATH; everything else the library's defaults.
    fn decode_options(&self) -> Result<DecodeOptions> {
        let mut o = DecodeOptions::default();
        o.models = load_models(&self.models)?;
        if let Some(p) = &self.alpha_model {
            o.models.push(load_model(p)?);
        }
        o.model_path = self.model_path.clone();
        Ok(o.with_env_model_path())
    }
}

/// `opts` searching also the directory of the stream `input` (where batch mode writes
/// the model file it shares among the streams), after the other directories.
fn beside(mut opts: DecodeOptions, input: &Path) -> DecodeOptions {
    let dir = match input.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !opts.model_path.contains(&dir) {
        opts.model_path.push(dir);
    }
    opts
}

/// The models an encode codes with: external files or a built-in one by name.
#[derive(Args, Clone)]
struct EncodeModels {
    #[command(flatten)]
    files: Models,
    /// Built-in model for the colour channels, by name (e.g. "default", "fast", "gray";
    /// `nlc models` lists them). Default: "default" for RGB, "gray" for grey.
    #[arg(long = "builtin", value_name = "NAME", conflicts_with = "models")]
    builtin: Option<String>,
}

impl EncodeModels {
    /// Encoder options with these models for a `color` image; the rest the library's
    /// defaults.
    fn encode_options(&self, tile_size: u32, color: nelloc::ColorType) -> Result<EncodeOptions> {
        let mut o = EncodeOptions::default();
        o.tile_size = tile_size;
        if let Some(name) = &self.builtin {
            let m = nelloc::model::builtin_by_name(name).ok_or_else(|| {
                CliError::Msg(format!(
                    "no built-in model named {name:?}; see `nlc models`"
                ))
            })?;
            o.model = Some(m);
        }
        let models = load_models(&self.files.models)?;
        if !models.is_empty() {
            let cc = color.color_channels();
            o.model = Some(nelloc::model::for_channels(&models, cc).ok_or_else(|| {
                CliError::Msg(format!(
                    "none of the --model files has {cc} channel(s) for this {color} image"
                ))
            })?);
        }
        if let Some(p) = &self.files.alpha_model {
            o.alpha_model = Some(load_model(p)?);
        }
        Ok(o)
    }
}

/// Everything an encode is told: its models and the coding modes it may choose.
#[derive(Args, Clone)]
struct Encoder {
    #[command(flatten)]
    models: EncodeModels,
    /// Coding modes the encoder may choose per tile: a comma-separated list of neural,
    /// constant, png, palette, gray, context, or "all" (the default). `--modes neural` is
    /// pure NeLLoC (container version 1, readable by the first release; a one-tile image
    /// also needs --no-compact).
    #[arg(long, value_name = "LIST", value_parser = parse_modes)]
    modes: Option<nelloc::TileModes>,
    /// Fit an adapted head to each image (integer offsets of the network's outputs stored
    /// in the file, container version 4; no decoding cost): auto (when it pays, the
    /// default), always, or off (files readable by decoders of versions 1 to 3; a one-tile
    /// image also needs --no-compact).
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = parse_adapt_head)]
    adapt_head: nelloc::AdaptHead,
    /// Do not embed a preview (by default a 256- or 128-pixel copy of a large image is
    /// stored for fast thumbnails when it costs at most 0.5% of the file, docs/FORMAT.md
    /// section 10).
    #[arg(long, conflicts_with = "preview_size")]
    no_preview: bool,
    /// Embed a preview of this longest side (1 to 1024 pixels) whatever it costs, in every
    /// image larger than that.
    #[arg(long, value_name = "PIXELS", value_parser = clap::value_parser!(u32).range(1..=i64::from(nelloc::MAX_PREVIEW_SIZE)))]
    preview_size: Option<u32>,
    /// Write an image coded as one tile in the tiled container (versions 1 to 4, readable
    /// by older decoders) instead of the compact one (version 5, a header of a few bytes
    /// instead of about 120; docs/FORMAT.md section 11).
    #[arg(long)]
    no_compact: bool,
    /// Store the external model file (--model, --alpha-model) in every stream (a MODL
    /// chunk, container version 6 or 7), so that it decodes where the model is not
    /// available. Built-in models are never stored (every decoder has them): with them
    /// this changes nothing. In batch mode, no shared model file is written beside the
    /// streams.
    #[arg(long)]
    embed_model: bool,
}

impl Encoder {
    fn encode_options(&self, tile_size: u32, color: nelloc::ColorType) -> Result<EncodeOptions> {
        let mut o = self.models.encode_options(tile_size, color)?;
        if let Some(m) = self.modes {
            o.modes = m;
        }
        o.adapt_head = self.adapt_head;
        if self.no_preview {
            o.preview = nelloc::Preview::Off;
        }
        if let Some(size) = self.preview_size {
            o.preview = nelloc::Preview::Size(size);
        }
        o.compact = !self.no_compact;
        o.embed_models = self.embed_model;
        Ok(o)
    }
}

/// Everything a decode is told: external models and the largest image it accepts.
#[derive(Args, Clone)]
struct Decoder {
    #[command(flatten)]
    models: Models,
    /// Largest image, in pixels, accepted; larger streams fail at once. For callers such
    /// as image-tool delegates that must not spin for minutes on a tiny file claiming a
    /// huge image. Default: the library's, 2^28.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_pixels: Option<u64>,
}

impl Decoder {
    fn decode_options(&self) -> Result<DecodeOptions> {
        let mut o = self.models.decode_options()?;
        if let Some(n) = self.max_pixels {
            o.limits.max_pixels = n;
        }
        Ok(o)
    }
}

/// Errors of the tool: the library's, or a message.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Codec(#[from] nelloc::Error),
    #[error("{0}")]
    Msg(String),
}

type Result<T> = std::result::Result<T, CliError>;

fn parse_modes(s: &str) -> std::result::Result<nelloc::TileModes, String> {
    s.parse::<nelloc::TileModes>().map_err(|e| match e {
        nelloc::Error::InvalidArgument(m) => m,
        other => other.to_string(),
    })
}

fn parse_adapt_head(s: &str) -> std::result::Result<nelloc::AdaptHead, String> {
    s.parse().map_err(|e: nelloc::Error| match e {
        nelloc::Error::InvalidArgument(m) => m,
        other => other.to_string(),
    })
}

fn load_model(path: &Path) -> Result<Arc<Model>> {
    Model::from_file(path)
        .map(Arc::new)
        .map_err(|e| CliError::Msg(format!("{}: {e}", path.display())))
}

fn load_models(paths: &[PathBuf]) -> Result<Vec<Arc<Model>>> {
    paths.iter().map(|p| load_model(p)).collect()
}

/// A progress bar for `pixels` of work, unless `quiet`.
fn progress(quiet: bool, pixels: u64) -> Option<(Progress, indicatif::ProgressBar)> {
    // Only worth a bar for work of more than a few seconds, on a terminal.
    if quiet || pixels < (1 << 18) || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(pixels);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {percent}% eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let b = bar.clone();
    Some((Progress::new(move |done, _| b.set_position(done)), bar))
}

fn bpsp(bytes: usize, image: &nelloc::Image) -> f64 {
    bytes as f64 * 8.0 / image.pixels().len() as f64
}

fn cmd_info(input: &Path, tiles: bool, decoder: &Decoder) -> Result<()> {
    let data = io::read_file(input)?;
    let info = nelloc::info(&data, &beside(decoder.decode_options()?, input))?;
    outln!("file:        {}", input.display());
    outln!(
        "size:        {} bytes ({:.3} bpsp)",
        info.file_size,
        info.bits_per_subpixel()
    );
    outln!("dimensions:  {}x{}", info.width, info.height);
    outln!("color type:  {}", info.color);
    outln!("alpha:       {}", info.alpha);
    outln!(
        "tiles:       {} of {}x{}",
        info.tiles,
        info.tile_width,
        info.tile_height
    );
    let compact = if matches!(info.version, 5 | 6) {
        " (compact container)"
    } else {
        ""
    };
    outln!("version:     {}{compact}", info.version);
    let adapted: Vec<&str> = ["colour", "alpha"]
        .into_iter()
        .zip(info.adapted_heads)
        .filter_map(|(g, a)| a.then_some(g))
        .collect();
    if !adapted.is_empty() {
        outln!("adapted head: {}", adapted.join(", "));
    }
    if info.model_hash.bytes().all(|b| b == b'0') {
        outln!("model:       none (no tile is neural)");
    } else {
        outln!(
            "model:       {} ({})",
            info.model_hash,
            info.model_name.as_deref().unwrap_or("not available here")
        );
    }
    if let Some(h) = &info.alpha_model_hash {
        outln!("alpha model: {h}");
    }
    for h in &info.embedded_models {
        outln!("embedded:    model {h}");
    }
    let mut counts: Vec<(String, usize, u64)> = Vec::new();
    for t in &info.tile_details {
        let mode = match t.alpha_mode {
            Some(a) => format!("{}+{a}", t.color_mode),
            None => t.color_mode.to_string(),
        };
        match counts.iter_mut().find(|c| c.0 == mode) {
            Some(c) => {
                c.1 += 1;
                c.2 += u64::from(t.bytes);
            }
            None => counts.push((mode, 1, u64::from(t.bytes))),
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(m, n, b)| format!("{m} {n} ({b} bytes)"))
        .collect();
    outln!("tile modes:  {}", summary.join(", "));
    match info.preview {
        Some((w, h)) => outln!("preview:     {w}x{h}"),
        None => outln!("preview:     none"),
    }
    for (name, chunk) in [
        ("ICC", &info.metadata.icc),
        ("EXIF", &info.metadata.exif),
        ("XMP", &info.metadata.xmp),
    ] {
        if let Some(c) = chunk {
            outln!("metadata:    {name}, {} bytes", c.len());
        }
    }
    if tiles {
        outln!("tile   x      y      width  height mode            bytes   bpsp");
        let ch = info.color.channels() as f64;
        for (n, t) in info.tile_details.iter().enumerate() {
            let mode = match t.alpha_mode {
                Some(a) => format!("{}+{a}", t.color_mode),
                None => t.color_mode.to_string(),
            };
            outln!(
                "{n:<6} {:<6} {:<6} {:<6} {:<6} {mode:<15} {:<7} {:.3}",
                t.x,
                t.y,
                t.width,
                t.height,
                t.bytes,
                f64::from(t.bytes) * 8.0 / (f64::from(t.width) * f64::from(t.height) * ch)
            );
        }
    }
    Ok(())
}

fn cmd_models() {
    outln!("| name | channels | width | res blocks | means | MAC/pixel | parameters | sha256 |");
    outln!("|---|---|---|---|---|---|---|---|");
    for m in nelloc::model::builtin() {
        let a = m.arch();
        let means = match &a.mean_base {
            nelloc::model::MeanBase::Predicted(p) => format!("{} predictors", p.len()),
            _ => "absolute".to_string(),
        };
        outln!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            m.name(),
            a.channels,
            a.width,
            a.res_blocks,
            means,
            a.macs_per_pixel(),
            m.parameters(),
            m.hash_hex()
        );
    }
}

/// A real photograph (a crop of a Debian wallpaper, see fixtures/SOURCES.md) for `demo`.
const DEMO_PNG: &[u8] = include_bytes!("../../../fixtures/photos/demo.png");

fn cmd_demo(input: Option<&Path>, encoder: &Encoder, run: &Run) -> Result<()> {
    let image = match input {
        Some(p) => io::read_image(p)?,
        None => io::decode_image_bytes(DEMO_PNG, "built-in demo photo")?,
    };
    let mut opts = encoder.encode_options(nelloc::DEFAULT_TILE_SIZE, image.color())?;
    run.apply_encode(&mut opts);
    let mut dopts = encoder.models.files.decode_options()?;
    run.apply_decode(&mut dopts);
    let raw = image.pixels().len();
    let png = io::png_size(&image)?;
    let t = Instant::now();
    let bytes = nelloc::encode(image.as_ref(), &opts)?;
    let te = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back = nelloc::decode(&bytes, &dopts)?;
    let td = t.elapsed().as_secs_f64();
    if back.pixels() != image.pixels() {
        return Err(CliError::Msg(
            "decoded pixels differ from the original".into(),
        ));
    }
    let info = nelloc::info(&bytes, &dopts)?;
    let mp = f64::from(image.width()) * f64::from(image.height()) / 1e6;
    outln!(
        "image:   {} {}x{} {} ({} bytes raw)",
        input.map_or("built-in demo photo".into(), |p| p.display().to_string()),
        image.width(),
        image.height(),
        image.color(),
        raw
    );
    outln!(
        "model:   {} ({})",
        info.model_name.as_deref().unwrap_or("?"),
        info.model_hash
    );
    outln!(
        "PNG:     {png} bytes, {:.3} bpsp",
        png as f64 * 8.0 / raw as f64
    );
    outln!(
        "nelloc:  {} bytes, {:.3} bpsp ({:.1}% of PNG)",
        bytes.len(),
        bpsp(bytes.len(), &image),
        100.0 * bytes.len() as f64 / png as f64
    );
    outln!(
        "encode:  {te:.2} s ({:.2} s/MP)   decode: {td:.2} s ({:.2} s/MP)",
        te / mp,
        td / mp
    );
    outln!("roundtrip: bit-exact");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Encode {
            paths,
            tile_size,
            encoder,
            run,
            quiet,
            batch,
        } => batch::encode(paths, *tile_size, encoder, run, *quiet, batch),
        Command::Decode {
            paths,
            decoder,
            run,
            quiet,
            batch,
        } => batch::decode(paths, decoder, run, *quiet, batch),
        Command::Info {
            input,
            tiles,
            decoder,
        } => cmd_info(input, *tiles, decoder),
        Command::Demo {
            input,
            encoder,
            run,
        } => cmd_demo(input.as_deref(), encoder, run),
        Command::Bench(args) => bench::run(args),
        Command::ExportOnnx(args) => device::export_onnx(args),
        Command::Models => {
            cmd_models();
            Ok(())
        }
        Command::Score(args) => score::run(args),
        Command::Heatmap(args) => heatmap::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Adapt(args) => adapt::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nlc: error: {e}");
            ExitCode::from(1)
        }
    }
}
