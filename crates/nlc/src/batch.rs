//! Many files at once (`--out-dir`), verified writes and the decoding bounds of `encode`
//! and `decode`: no input may cost unbounded time or memory, and no user data is lost
//! (an existing output is never replaced in batch mode without `--force`, an encoded file
//! is decoded back from disk before it replaces anything, a bad file never stops the rest).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::Args;
use nelloc::{DecodeOptions, Image, Limits};

use crate::{io, progress, CliError, Decoder, Encoder, Result, Run};

/// Batch mode and safety options shared by `encode` and `decode`.
#[derive(Args, Clone)]
pub(crate) struct Batch {
    /// Batch mode: every path is an input (a directory stands for the image files, or the
    /// .nlc files, directly inside it) and outputs go to DIR under the input's name. Files
    /// run in parallel; a bad file is reported and skipped; the exit status is 1 if any
    /// failed.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// In batch mode, replace outputs that already exist (by default they are left alone
    /// and reported as failures).
    #[arg(long)]
    force: bool,
    /// Files processed at once in batch mode (0 = one per core).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
}

/// Batch and safety options of `encode`.
#[derive(Args, Clone)]
pub(crate) struct EncodeBatch {
    #[command(flatten)]
    batch: Batch,
    /// Do not decode the written file back before it replaces anything (verification is
    /// on by default and costs about one decode).
    #[arg(long)]
    no_verify: bool,
}

/// Batch and decoding-bound options of `decode`.
#[derive(Args, Clone)]
pub(crate) struct DecodeBatch {
    #[command(flatten)]
    batch: Batch,
    /// Output format in batch mode: png, tif, ppm, pgm or pam.
    #[arg(long, value_name = "EXT", default_value = "png")]
    format: String,
    /// Largest decoding work: pixels decoded through the network or the context model (the
    /// CPU-time bound; a
    /// few bytes may claim hours of it). Default: 536870912 (no bound beyond the pixel
    /// limit) for one file, 16777216 (2^24, tens of seconds of one core) in batch mode.
    #[arg(long, value_name = "N")]
    max_work: Option<u64>,
}

impl DecodeBatch {
    /// Limits for decoding: [`Limits::strict`] in batch mode, where nobody watches each
    /// file, else `base` (the library's defaults and `--max-pixels`); the flags win.
    fn limits(&self, base: Limits, max_pixels: Option<u64>) -> Limits {
        let mut l = base;
        if self.batch.out_dir.is_some() {
            let strict = Limits::strict();
            if max_pixels.is_none() {
                l.max_pixels = strict.max_pixels;
                l.max_output_bytes = strict.max_output_bytes;
            }
            l.max_neural_pixels = strict.max_neural_pixels;
        }
        if let Some(p) = max_pixels {
            // The output-byte limit follows, at 4 bytes per pixel.
            l.max_output_bytes = l.max_output_bytes.max(p.saturating_mul(4));
        }
        if let Some(w) = self.max_work {
            l.max_neural_pixels = w;
        }
        l
    }
}

/// `nlc encode`: `INPUT OUTPUT`, or `INPUTS... --out-dir DIR`.
pub(crate) fn encode(
    paths: &[PathBuf],
    tile_size: u32,
    encoder: &Encoder,
    run: &Run,
    quiet: bool,
    b: &EncodeBatch,
) -> Result<()> {
    let one = |input: &Path, output: &Path, replace: bool| {
        encode_one(input, output, tile_size, encoder, run, quiet, b, replace)
    };
    let Some(dir) = &b.batch.out_dir else {
        let [input, output] = two(paths, "encode")?;
        return one(input, output, true).map(|_| ());
    };
    const IMAGES: [&str; 9] = [
        "png", "tif", "tiff", "ppm", "pgm", "pam", "pnm", "jpg", "jpeg",
    ];
    let inputs = expand(paths, &IMAGES)?;
    let jobs = plan(&inputs, dir, "nlc");
    run_batch(&jobs, &b.batch, quiet, |input, output| {
        one(input, output, b.batch.force)
    })?;
    if !encoder.embed_model {
        share_models(encoder, dir, quiet)?;
    }
    Ok(())
}

/// Batch mode: one copy of each external model file (--model, --alpha-model) beside the
/// streams, `DIR/<name>-<first 8 hex digits of its hash>.safetensors`, so that decoding
/// the directory (which searches the stream's own directory) needs no flag. An existing
/// file of that name is kept if it is the same model and an error otherwise.
fn share_models(encoder: &Encoder, dir: &Path, quiet: bool) -> Result<()> {
    let mut files = encoder.models.files.models.clone();
    files.extend(encoder.models.files.alpha_model.iter().cloned());
    for path in files {
        let model = crate::load_model(&path)?;
        if nelloc::model::builtin()
            .iter()
            .any(|m| m.hash() == model.hash())
        {
            continue;
        }
        let stem: String = model
            .name()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let out = dir.join(format!("{stem}-{}.safetensors", &model.hash_hex()[..8]));
        match std::fs::read(&out) {
            Ok(existing) if existing == model.file_bytes() => continue,
            Ok(_) => {
                return Err(CliError::Msg(format!(
                    "{} exists and is another file; the streams need model {} (remove it, or                      encode with --embed-model)",
                    out.display(),
                    model.hash_hex()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CliError::Msg(format!("{}: {e}", out.display()))),
        }
        write_file(&out, model.file_bytes(), None, false)?;
        if !quiet {
            eprintln!("nlc: {}: the model the streams need", out.display());
        }
    }
    Ok(())
}

/// `nlc decode`: `INPUT OUTPUT`, or `INPUTS... --out-dir DIR`.
pub(crate) fn decode(
    paths: &[PathBuf],
    decoder: &Decoder,
    run: &Run,
    quiet: bool,
    b: &DecodeBatch,
) -> Result<()> {
    let one = |input: &Path, output: &Path, replace: bool| {
        decode_one(input, output, decoder, run, quiet, b, replace)
    };
    let Some(dir) = &b.batch.out_dir else {
        let [input, output] = two(paths, "decode")?;
        return one(input, output, true).map(|_| ());
    };
    let ext = b.format.to_ascii_lowercase();
    let inputs = expand(paths, &["nlc"])?;
    let jobs = plan(&inputs, dir, &ext);
    run_batch(&jobs, &b.batch, quiet, |input, output| {
        one(input, output, b.batch.force)
    })
}

/// The two paths of the single-file form, or a usage error (exit status 2).
fn two<'a>(paths: &'a [PathBuf], cmd: &str) -> Result<[&'a PathBuf; 2]> {
    match paths {
        [i, o] => Ok([i, o]),
        _ => clap::Error::raw(
            clap::error::ErrorKind::WrongNumberOfValues,
            format!(
                "`nlc {cmd}` takes INPUT OUTPUT, or several inputs with --out-dir DIR \
                 ({} path(s) given)\n",
                paths.len()
            ),
        )
        .exit(),
    }
}

/// Inputs in order: files as given, directories replaced by their files with one of
/// `exts` (sorted; not recursive).
fn expand(paths: &[PathBuf], exts: &[&str]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let entries =
            std::fs::read_dir(p).map_err(|e| CliError::Msg(format!("{}: {e}", p.display())))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| {
                f.is_file()
                    && f.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// (input, output) pairs; an output that two inputs would share goes to the first only
/// (the others fail: `a.png` and `a.tif` must not overwrite each other's `a.nlc`).
fn plan(inputs: &[PathBuf], dir: &Path, ext: &str) -> Vec<(PathBuf, Option<PathBuf>)> {
    let mut seen = std::collections::HashSet::new();
    inputs
        .iter()
        .map(|i| {
            let stem = i.file_stem().unwrap_or(i.as_os_str());
            let o = dir.join(stem).with_extension(ext);
            let o = seen.insert(o.clone()).then_some(o);
            (i.clone(), o)
        })
        .collect()
}

/// Runs `one` over the jobs on `--jobs` threads with a progress bar; every failure is
/// reported at the end and makes the whole run fail.
fn run_batch(
    jobs: &[(PathBuf, Option<PathBuf>)],
    b: &Batch,
    quiet: bool,
    one: impl Fn(&Path, &Path) -> Result<String> + Sync,
) -> Result<()> {
    if let Some(dir) = &b.out_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Msg(format!("{}: {e}", dir.display())))?;
    }
    let threads = match b.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(jobs.len().max(1));
    let bar = if quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(jobs.len() as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("[{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some((input, output)) = jobs.get(n) else {
                    break;
                };
                let result = match output {
                    Some(o) => one(input, o),
                    None => Err(CliError::Msg(
                        "another input of this batch has the same output name".into(),
                    )),
                };
                match result {
                    Ok(line) if !quiet => bar.suspend(|| eprintln!("{line}")),
                    Ok(_) => {}
                    Err(e) => {
                        bar.suspend(|| eprintln!("nlc: {}: {e}", input.display()));
                        failures
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((n, input.clone(), e.to_string()));
                    }
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let mut failures = failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failures.sort();
    let done = jobs.len() - failures.len();
    if failures.is_empty() {
        if !quiet {
            eprintln!(
                "nlc: {done} file(s) in {:.1} s",
                start.elapsed().as_secs_f64()
            );
        }
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "nlc: {} of {} file(s) failed:",
        failures.len(),
        jobs.len()
    );
    for (_, input, e) in &failures {
        let _ = writeln!(err, "  {}: {e}", input.display());
    }
    Err(CliError::Msg(format!(
        "{} file(s) failed, {done} done",
        failures.len()
    )))
}

/// An output path that may not be replaced, refused before any work.
fn check_free(output: &Path, replace: bool) -> Result<()> {
    if !replace && output.exists() {
        return Err(CliError::Msg(format!(
            "{} exists (use --force to replace it)",
            output.display()
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn encode_one(
    input: &Path,
    output: &Path,
    tile_size: u32,
    encoder: &Encoder,
    run: &Run,
    quiet: bool,
    b: &EncodeBatch,
    replace: bool,
) -> Result<String> {
    check_free(output, replace)?;
    let image = io::read_image(input)?;
    let mut opts = encoder.encode_options(tile_size, image.color())?;
    run.apply_encode(&mut opts);
    let bar = match b.batch.out_dir {
        None => progress(quiet, u64::from(image.width()) * u64::from(image.height())),
        Some(_) => None,
    };
    opts.progress = bar.as_ref().map(|b| b.0.clone());
    let t = Instant::now();
    let bytes = nelloc::encode(image.as_ref(), &opts)?;
    if let Some((_, b)) = bar {
        b.finish_and_clear();
    }
    let verify = match b.no_verify {
        true => None,
        false => {
            let mut d = encoder.models.files.decode_options()?;
            run.apply_decode(&mut d);
            d.models
                .extend(opts.model.iter().chain(&opts.alpha_model).cloned());
            if opts.embed_models {
                // The stream must decode from what it carries: no model but the built-in
                // ones (and no search path).
                d.models.clear();
                d.model_path.clear();
            }
            d.limits = Limits::unlimited(); // the encoder's own output, already bounded
            Some(d)
        }
    };
    write_file(
        output,
        &bytes,
        verify.as_ref().map(|d| (&image, d)),
        replace,
    )?;
    let line = format!(
        "{}: {}x{} {} -> {} bytes, {:.3} bpsp, {:.2} s{}",
        output.display(),
        image.width(),
        image.height(),
        image.color(),
        bytes.len(),
        bytes.len() as f64 * 8.0 / image.pixels().len() as f64,
        t.elapsed().as_secs_f64(),
        if verify.is_some() { ", verified" } else { "" }
    );
    if b.batch.out_dir.is_none() {
        eprintln!("{line}");
    }
    Ok(line)
}

fn decode_one(
    input: &Path,
    output: &Path,
    decoder: &Decoder,
    run: &Run,
    quiet: bool,
    b: &DecodeBatch,
    replace: bool,
) -> Result<String> {
    check_free(output, replace)?;
    let data = io::read_file(input)?;
    let mut opts = crate::beside(decoder.decode_options()?, input);
    run.apply_decode(&mut opts);
    opts.limits = b.limits(opts.limits, decoder.max_pixels);
    let info = nelloc::info(&data, &opts)?;
    // Refuse an output format that cannot hold the image before spending time decoding.
    io::check_output_format(output, info.color)?;
    let bar = match b.batch.out_dir {
        None => progress(quiet, u64::from(info.width) * u64::from(info.height)),
        Some(_) => None,
    };
    opts.progress = bar.as_ref().map(|b| b.0.clone());
    let image = nelloc::decode(&data, &opts)?;
    if let Some((_, b)) = bar {
        b.finish_and_clear();
    }
    let bytes = io::image_bytes(output, &image)?;
    write_file(output, &bytes, None, replace)?;
    Ok(format!(
        "{}: {}x{} {}",
        output.display(),
        image.width(),
        image.height(),
        image.color()
    ))
}

/// Writes `bytes` to a temporary file beside `path` (synced), decodes it back from the
/// file when `verify` holds the original and its decoder options, and only then renames
/// it to `path` (over an existing file only if `replace`). Any failure leaves `path` as
/// it was and no temporary file behind.
fn write_file(
    path: &Path,
    bytes: &[u8],
    verify: Option<(&Image, &DecodeOptions)>,
    replace: bool,
) -> Result<()> {
    let err = |e: std::io::Error| CliError::Msg(format!("{}: {e}", path.display()));
    // The mode a plain write gives (or the replaced file's), not the temporary file's 0600.
    let mut tmp = nelloc::fs::temp_file_beside(path).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.sync().map_err(err)?;
    if let Some((original, opts)) = verify {
        inject_fault(tmp.path());
        let written = std::fs::read(tmp.path()).map_err(err)?;
        let same = match nelloc::decode(&written, opts) {
            Ok(back) => {
                back.width() == original.width()
                    && back.height() == original.height()
                    && back.color() == original.color()
                    && back.pixels() == original.pixels()
                    && back.metadata() == original.metadata()
            }
            Err(e) => {
                return Err(CliError::Msg(format!(
                    "{}: verification failed, the written file does not decode ({e}); \
                     nothing was replaced",
                    path.display()
                )))
            }
        };
        if !same {
            return Err(CliError::Msg(format!(
                "{}: verification failed, the written file decodes to other pixels; \
                 nothing was replaced",
                path.display()
            )));
        }
    }
    if replace {
        tmp.persist(path).map_err(err)?;
    } else {
        // Atomic no-clobber: an output created meanwhile by someone else is kept.
        tmp.persist_noclobber(path).map_err(err)?;
    }
    Ok(())
}

/// Test hook: `NLC_TEST_CORRUPT_WRITES=1` flips one byte of each written file before it is
/// verified, standing in for a disk or memory fault (crates/nlc/tests/batch.rs proves that
/// verification catches it and replaces nothing).
fn inject_fault(path: &Path) {
    if std::env::var_os("NLC_TEST_CORRUPT_WRITES").is_none() {
        return;
    }
    if let Ok(mut data) = std::fs::read(path) {
        if let Some(last) = data.last_mut() {
            *last ^= 0x10;
            let _ = std::fs::write(path, &data);
        }
    }
}
