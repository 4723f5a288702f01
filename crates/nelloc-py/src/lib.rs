//! `nelloc._nelloc`: the native half of the `nelloc` Python package.
//!
//! It takes and returns plain bytes and ints; `python/nelloc/__init__.py` checks NumPy
//! arrays (dtype, shape) and builds them, so every message about array types is written
//! in one place. Coding runs with the GIL released, on the library's own thread pools.
//!
//! Pixels come in as `bytes`: the buffer protocol is not in the limited API before
//! Python 3.11 (this is an abi3-py39 module), and an immutable copy is also what makes
//! releasing the GIL sound (nobody can write to it while the codec reads it).
#![deny(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyTuple, PyType};

use nelloc::{
    Cancel, ColorType, DecodeOptions, EncodeOptions, ErrorKind, FormatError as NlcFormatError,
    Limits, Metadata, Model, OnRows, Progress, TileMode, TileModes,
};

pyo3::create_exception!(
    nelloc,
    Error,
    PyException,
    "Base class of the errors nelloc raises about data, models, limits and devices."
);
pyo3::create_exception!(
    nelloc,
    FormatError,
    Error,
    "The data is not a valid .nlc stream (corrupt, truncated or not .nlc)."
);
pyo3::create_exception!(
    nelloc,
    UnsupportedError,
    Error,
    "Valid input that this version does not support (or a device that is absent here)."
);
pyo3::create_exception!(
    nelloc,
    LimitsError,
    Error,
    "The input exceeds a configured limit (size, pixels, metadata)."
);
pyo3::create_exception!(
    nelloc,
    ModelError,
    Error,
    "A model could not be loaded, found, or does not fit the image."
);
pyo3::create_exception!(
    nelloc,
    DeviceError,
    Error,
    "The device failed while working, or its results are not bit-exact and it was refused."
);
pyo3::create_exception!(
    nelloc,
    ResourceError,
    Error,
    "The system refused a resource the call needs (worker threads)."
);

/// `UnsupportedVersionError(FormatError, UnsupportedError)`: a container version newer
/// than this library. It was a `FormatError` before errors were classified by
/// `ErrorKind` and is an unsupported input for the C API; both bases keep old `except`
/// clauses working. `create_exception!` takes one base, so it is made with `type()`.
fn unsupported_version_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let ty = TYPE.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        let bases = PyTuple::new(
            py,
            [
                py.get_type::<FormatError>(),
                py.get_type::<UnsupportedError>(),
            ],
        )?;
        let attrs = PyDict::new(py);
        attrs.set_item("__module__", "nelloc")?;
        attrs.set_item(
            "__doc__",
            "The container version is newer than this library (a FormatError and an \
             UnsupportedError).",
        )?;
        let class = py
            .get_type::<PyType>()
            .call1(("UnsupportedVersionError", bases, attrs))?;
        Ok(class.cast_into::<PyType>()?.unbind())
    })?;
    Ok(ty.bind(py))
}

/// The library's errors as Python exceptions: one class per `ErrorKind`, as the C status
/// and the JavaScript `kind` name them (docs/PYTHON.md has the table).
fn to_py(e: nelloc::Error) -> PyErr {
    let msg = e.to_string();
    py_error(e, msg)
}

/// `to_py` with the message given: I/O errors stay the `OSError` subclass of their errno
/// (`FileNotFoundError`, ...).
fn py_error(e: nelloc::Error, msg: String) -> PyErr {
    let kind = e.kind();
    if let nelloc::Error::Io(io) = e {
        return os_error(io, None);
    }
    match kind {
        ErrorKind::NotNlc | ErrorKind::Truncated | ErrorKind::Corrupt => FormatError::new_err(msg),
        ErrorKind::UnsupportedVersion => Python::attach(|py| {
            unsupported_version_error(py).map_or_else(|e| e, |ty| PyErr::from_type(ty.clone(), msg))
        }),
        ErrorKind::Unsupported | ErrorKind::DeviceUnavailable => UnsupportedError::new_err(msg),
        ErrorKind::LimitExceeded => LimitsError::new_err(msg),
        ErrorKind::ModelNotFound | ErrorKind::ModelInvalid => ModelError::new_err(msg),
        ErrorKind::InvalidArgument => PyValueError::new_err(msg),
        ErrorKind::Device => DeviceError::new_err(msg),
        ErrorKind::Resource => ResourceError::new_err(msg),
        // Python has no way to cancel; later kinds are plain `nelloc.Error` until they
        // get a class.
        ErrorKind::Io | ErrorKind::Cancelled => Error::new_err(msg),
        _ => Error::new_err(msg),
    }
}

/// An I/O error as Python's `OSError(errno, strerror, filename)`, which is the subclass
/// of its errno (`FileNotFoundError`, `PermissionError`...) with `errno`, `strerror` and
/// `filename` set. Errors without an errno keep PyO3's mapping by kind.
fn os_error(e: std::io::Error, filename: Option<&Path>) -> PyErr {
    let Some(code) = e.raw_os_error() else {
        return e.into();
    };
    let text = e.to_string();
    let strerror = text
        .strip_suffix(&format!(" (os error {code})"))
        .unwrap_or(&text)
        .to_string();
    Python::attach(|py| {
        let args = (code, strerror, filename.map(|p| p.as_os_str().to_owned()));
        match py.get_type::<PyOSError>().call1(args) {
            Ok(value) => PyErr::from_value(value),
            Err(e) => e,
        }
    })
}

/// `to_py`, with `path` as the `filename` of an I/O error.
fn file_error(e: nelloc::Error, path: &Path) -> PyErr {
    match e {
        nelloc::Error::Io(io) => os_error(io, Some(path)),
        e => to_py(e),
    }
}

/// Python callables as the library's callbacks: `progress(done, total)`, called on
/// worker threads, and `on_rows(start, stop, rows: bytes)` with the rows `start..stop`
/// that have just become final, called on the decoding thread; both with the GIL taken.
/// The first exception either raises cancels the call, which then raises it.
struct Hook {
    progress: Option<Progress>,
    on_rows: Option<OnRows>,
    cancel: Cancel,
    error: Arc<Mutex<Option<PyErr>>>,
}

impl Hook {
    fn new(progress: Option<Py<PyAny>>) -> Option<Hook> {
        Self::with_rows(progress, None)
    }

    fn with_rows(progress: Option<Py<PyAny>>, on_rows: Option<Py<PyAny>>) -> Option<Hook> {
        if progress.is_none() && on_rows.is_none() {
            return None;
        }
        let cancel = Cancel::new();
        let error: Arc<Mutex<Option<PyErr>>> = Arc::default();
        // Runs one Python call unless cancelled; its exception is kept and cancels.
        let guarded = {
            let (c, err) = (cancel.clone(), error.clone());
            move |call: &dyn Fn(Python<'_>) -> PyResult<()>| {
                if c.is_cancelled() {
                    return;
                }
                if let Err(e) = Python::attach(call) {
                    err.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_or_insert(e);
                    c.cancel();
                }
            }
        };
        let progress = progress.map(|callback| {
            let guarded = guarded.clone();
            Progress::new(move |done, total| {
                guarded(&|py| callback.call1(py, (done, total)).map(drop));
            })
        });
        let on_rows = on_rows.map(|callback| {
            // The library passes every final row so far; Python gets the new ones.
            let passed = Mutex::new(0u32);
            OnRows::new(move |done, pixels| {
                let mut start = passed.lock().unwrap_or_else(PoisonError::into_inner);
                let row = pixels.len() / done.max(1) as usize;
                let new = &pixels[*start as usize * row..];
                guarded(&|py| {
                    let rows = PyBytes::new(py, new);
                    callback.call1(py, (*start, done, rows)).map(drop)
                });
                *start = done;
            })
        });
        Some(Hook {
            progress,
            on_rows,
            cancel,
            error,
        })
    }

    /// The callback's exception, if it raised one (it is what cancelled the call).
    fn raised(hook: Option<Hook>) -> PyResult<()> {
        let raised = hook.and_then(|h| {
            h.error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        });
        raised.map_or(Ok(()), Err)
    }
}

fn color_type(channels: usize) -> PyResult<ColorType> {
    Ok(match channels {
        1 => ColorType::Gray8,
        2 => ColorType::GrayA8,
        3 => ColorType::Rgb8,
        4 => ColorType::Rgba8,
        n => {
            return Err(PyValueError::new_err(format!(
                "{n} channels: nelloc codes 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)"
            )))
        }
    })
}

/// A model: a built-in one by name, or a model file (read and validated without the GIL,
/// so other Python threads run meanwhile: a model file can be large or on a slow disk).
fn load_model(
    py: Python<'_>,
    name: Option<&str>,
    file: Option<PathBuf>,
) -> PyResult<Option<Arc<Model>>> {
    match (name, file) {
        (Some(_), Some(_)) => Err(PyValueError::new_err(
            "pass either model (a built-in name) or model_file, not both",
        )),
        (Some(n), None) => nelloc::model::builtin_by_name(n).map(Some).ok_or_else(|| {
            let names: Vec<String> = builtin_groups().into_iter().map(|g| g.0).collect();
            PyValueError::new_err(format!(
                "no built-in model {n:?}; the built-in models are {}",
                names.join(", ")
            ))
        }),
        (None, Some(p)) => py
            .detach(|| Model::from_file(&p))
            .map(|m| Some(Arc::new(m)))
            .map_err(|e| match e {
                nelloc::Error::Io(io) => os_error(io, Some(&p)),
                e => {
                    let msg = format!("{}: {e}", p.display());
                    py_error(e, msg)
                }
            }),
        (None, None) => Ok(None),
    }
}

fn limits(max_pixels: Option<u64>) -> Limits {
    let mut l = Limits::default();
    if let Some(p) = max_pixels {
        l.max_pixels = p;
    }
    l
}

fn decode_options(
    py: Python<'_>,
    threads: usize,
    models: Vec<PathBuf>,
    max_pixels: Option<u64>,
    model_path: Vec<PathBuf>,
) -> PyResult<DecodeOptions> {
    let mut o = DecodeOptions::default();
    o.threads = threads;
    // Searched for a model that is not built in, supplied or embedded (FORMAT.md §12).
    o.model_path = model_path;
    o.limits = limits(max_pixels);
    for p in models {
        if let Some(m) = load_model(py, None, Some(p))? {
            o.models.push(m);
        }
    }
    Ok(o)
}

fn opt_bytes(b: Option<&Bound<'_, PyBytes>>) -> Option<Vec<u8>> {
    b.map(|b| b.as_bytes().to_vec())
}

/// Encoder options from the keyword arguments shared by `encode` and `score`.
#[allow(clippy::too_many_arguments)]
fn encode_options(
    py: Python<'_>,
    model: Option<&str>,
    model_file: Option<PathBuf>,
    alpha_model_file: Option<PathBuf>,
    tile_size: u32,
    threads: usize,
    modes: Option<&str>,
    max_pixels: Option<u64>,
    preview: i64,
) -> PyResult<EncodeOptions> {
    let mut o = EncodeOptions::default();
    // -1: the default (auto), 0: none, else a longest side (checked by the encoder).
    o.preview = match preview {
        -1 => nelloc::Preview::Auto,
        0 => nelloc::Preview::Off,
        n => nelloc::Preview::Size(u32::try_from(n).map_err(|_| {
            PyValueError::new_err(format!(
                "preview is {n}: expected True, False or a size of 1 to {}",
                nelloc::MAX_PREVIEW_SIZE
            ))
        })?),
    };
    o.model = load_model(py, model, model_file)?;
    o.alpha_model = load_model(py, None, alpha_model_file)?;
    o.tile_size = tile_size;
    o.threads = threads;
    o.limits = limits(max_pixels);
    if let Some(m) = modes {
        o.modes = m.parse().map_err(to_py)?;
    }
    Ok(o)
}

/// encode(pixels, width, height, channels, *, ...) -> bytes: interleaved 8-bit samples,
/// row-major, to a complete .nlc file.
#[pyfunction]
#[pyo3(signature = (pixels, width, height, channels, *, model=None, model_file=None,
    alpha_model_file=None, tile_size=nelloc::DEFAULT_TILE_SIZE, threads=0, modes=None,
    icc=None, exif=None, xmp=None, max_pixels=None, progress=None, preview=-1,
    embed_model=false))]
#[allow(clippy::too_many_arguments)]
fn encode<'py>(
    py: Python<'py>,
    pixels: &Bound<'py, PyBytes>,
    width: u32,
    height: u32,
    channels: usize,
    model: Option<&str>,
    model_file: Option<PathBuf>,
    alpha_model_file: Option<PathBuf>,
    tile_size: u32,
    threads: usize,
    modes: Option<&str>,
    icc: Option<&Bound<'py, PyBytes>>,
    exif: Option<&Bound<'py, PyBytes>>,
    xmp: Option<&Bound<'py, PyBytes>>,
    max_pixels: Option<u64>,
    progress: Option<Py<PyAny>>,
    preview: i64,
    embed_model: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let color = color_type(channels)?;
    let mut options = encode_options(
        py,
        model,
        model_file,
        alpha_model_file,
        tile_size,
        threads,
        modes,
        max_pixels,
        preview,
    )?;
    options.embed_models = embed_model;
    let metadata = Metadata {
        icc: opt_bytes(icc),
        exif: opt_bytes(exif),
        xmp: opt_bytes(xmp),
    };
    let hook = Hook::new(progress);
    if let Some(h) = &hook {
        options.progress = h.progress.clone();
        options.cancel = Some(h.cancel.clone());
    }
    let data = pixels.as_bytes();
    let out = py.detach(|| {
        let image = nelloc::ImageRef::new(width, height, color, data)?.with_metadata(&metadata);
        nelloc::encode(image, &options)
    });
    Hook::raised(hook)?;
    Ok(PyBytes::new(py, &out.map_err(to_py)?))
}

/// score(pixels, width, height, channels, *, ...) -> float: the image's information
/// content under the model in bits per subpixel (8-bit sample): its negative
/// log2-likelihood divided by the sample count, every tile coded by the network.
#[pyfunction]
#[pyo3(signature = (pixels, width, height, channels, *, model=None, model_file=None,
    alpha_model_file=None, tile_size=nelloc::DEFAULT_TILE_SIZE, threads=0, max_pixels=None))]
#[allow(clippy::too_many_arguments)]
fn score(
    py: Python<'_>,
    pixels: &Bound<'_, PyBytes>,
    width: u32,
    height: u32,
    channels: usize,
    model: Option<&str>,
    model_file: Option<PathBuf>,
    alpha_model_file: Option<PathBuf>,
    tile_size: u32,
    threads: usize,
    max_pixels: Option<u64>,
) -> PyResult<f64> {
    let color = color_type(channels)?;
    let mut options = encode_options(
        py,
        model,
        model_file,
        alpha_model_file,
        tile_size,
        threads,
        None,
        max_pixels,
        0,
    )?;
    // Every tile through the network, so `model_bits` covers every coded sample.
    options.modes = TileModes::only(&[TileMode::Neural]);
    let data = pixels.as_bytes();
    let stats = py
        .detach(|| {
            let image = nelloc::ImageRef::new(width, height, color, data)?;
            nelloc::encode_with_stats(image, &options).map(|(_, s)| s)
        })
        .map_err(to_py)?;
    let samples = f64::from(width) * f64::from(height) * channels as f64;
    Ok(stats.model_bits / samples)
}

/// decode(data, *, threads=0, models=(), max_pixels=None, progress=None, model_path=(),
/// on_rows=None) -> (width, height, channels, pixels: bytearray, icc, exif, xmp)
#[pyfunction]
#[pyo3(signature = (data, *, threads=0, models=Vec::new(), max_pixels=None, progress=None,
    model_path=Vec::new(), on_rows=None))]
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn decode<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    threads: usize,
    models: Vec<PathBuf>,
    max_pixels: Option<u64>,
    progress: Option<Py<PyAny>>,
    model_path: Vec<PathBuf>,
    on_rows: Option<Py<PyAny>>,
) -> PyResult<(
    u32,
    u32,
    usize,
    Bound<'py, PyByteArray>,
    Option<Bound<'py, PyBytes>>,
    Option<Bound<'py, PyBytes>>,
    Option<Bound<'py, PyBytes>>,
)> {
    let mut options = decode_options(py, threads, models, max_pixels, model_path)?;
    let hook = Hook::with_rows(progress, on_rows);
    if let Some(h) = &hook {
        options.progress = h.progress.clone();
        options.on_rows = h.on_rows.clone();
        options.cancel = Some(h.cancel.clone());
    }
    let bytes = data.as_bytes();
    let image = py.detach(|| nelloc::decode(bytes, &options));
    Hook::raised(hook)?;
    let image = image.map_err(to_py)?;
    let m = image.metadata();
    let chunk = |c: &Option<Vec<u8>>| c.as_deref().map(|b| PyBytes::new(py, b));
    // A bytearray, so that the NumPy array made on it is writable without another copy.
    Ok((
        image.width(),
        image.height(),
        image.color().channels(),
        PyByteArray::new(py, image.pixels()),
        chunk(&m.icc),
        chunk(&m.exif),
        chunk(&m.xmp),
    ))
}

/// decode_preview(data, *, threads=0, models=(), max_pixels=None)
/// -> (width, height, channels, pixels: bytearray, embedded: bool): the embedded preview,
/// or the image itself when the stream has none (then under max_pixels).
#[pyfunction]
#[pyo3(signature = (data, *, threads=0, models=Vec::new(), max_pixels=None, model_path=Vec::new()))]
fn decode_preview<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    threads: usize,
    models: Vec<PathBuf>,
    max_pixels: Option<u64>,
    model_path: Vec<PathBuf>,
) -> PyResult<(u32, u32, usize, Bound<'py, PyByteArray>, bool)> {
    let options = decode_options(py, threads, models, max_pixels, model_path)?;
    let bytes = data.as_bytes();
    let p = py
        .detach(|| nelloc::decode_preview(bytes, &options))
        .map_err(to_py)?;
    Ok((
        p.image.width(),
        p.image.height(),
        p.image.color().channels(),
        PyByteArray::new(py, p.image.pixels()),
        p.embedded,
    ))
}

/// info(data, *, models=(), max_pixels=None) -> dict: the header, without decoding pixels.
#[pyfunction]
#[pyo3(signature = (data, *, models=Vec::new(), max_pixels=None, model_path=Vec::new()))]
fn info<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    models: Vec<PathBuf>,
    max_pixels: Option<u64>,
    model_path: Vec<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let options = decode_options(py, 0, models, max_pixels, model_path)?;
    let bytes = data.as_bytes();
    let i = py.detach(|| nelloc::info(bytes, &options)).map_err(to_py)?;
    info_dict(py, &i)
}

/// info_file(path, *, models=(), max_pixels=None) -> dict: the header, reading only as
/// much of the file as it takes (a partial file reports the size of the complete one).
#[pyfunction]
#[pyo3(signature = (path, *, models=Vec::new(), max_pixels=None, model_path=Vec::new()))]
fn info_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    models: Vec<PathBuf>,
    max_pixels: Option<u64>,
    model_path: Vec<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let options = decode_options(py, 0, models, max_pixels, model_path)?;
    let i = py
        .detach(|| read_header(&path, &options))
        .map_err(|e| file_error(e, &path))?;
    info_dict(py, &i)
}

/// `nelloc::info_header` of the start of a file: reads 64 KiB, and more only when the
/// header (metadata, tile index) is longer.
fn read_header(path: &Path, options: &DecodeOptions) -> nelloc::Result<nelloc::Info> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut head = Vec::new();
    let mut want: u64 = 64 << 10;
    loop {
        let have = head.len() as u64;
        (&mut file).take(want - have).read_to_end(&mut head)?;
        match nelloc::info_header(&head, options) {
            // The file has more bytes than were read: read as many as the header needs.
            Err(nelloc::Error::Format(NlcFormatError::Truncated {
                needed, available, ..
            })) if head.len() as u64 == want && want <= options.limits.max_input_bytes => {
                let total = (head.len() as u64 - available).saturating_add(needed);
                want = total.max(want.saturating_mul(2));
            }
            r => return r,
        }
    }
}

fn info_dict<'py>(py: Python<'py>, i: &nelloc::Info) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("width", i.width)?;
    d.set_item("height", i.height)?;
    d.set_item("channels", i.color.channels())?;
    d.set_item("color", i.color.name())?;
    d.set_item("tile_width", i.tile_width)?;
    d.set_item("tile_height", i.tile_height)?;
    d.set_item("tiles", i.tiles)?;
    d.set_item("model_hash", &i.model_hash)?;
    d.set_item("model_name", i.model_name.as_deref())?;
    d.set_item("alpha", i.alpha.to_string())?;
    d.set_item("alpha_model_hash", i.alpha_model_hash.as_deref())?;
    d.set_item("version", i.version)?;
    d.set_item("file_size", i.file_size)?;
    d.set_item("bits_per_subpixel", i.bits_per_subpixel())?;
    let chunk = |c: &Option<Vec<u8>>| c.as_deref().map(|b| PyBytes::new(py, b));
    d.set_item("icc", chunk(&i.metadata.icc))?;
    d.set_item("exif", chunk(&i.metadata.exif))?;
    d.set_item("xmp", chunk(&i.metadata.xmp))?;
    d.set_item("preview", i.preview)?;
    d.set_item("embedded_models", i.embedded_models.clone())?;
    Ok(d)
}

/// probe(head: bytes) -> (width, height, channels): the size and type from the first
/// PROBE_BYTES bytes, failing exactly as decode would on them.
#[pyfunction]
fn probe(head: &Bound<'_, PyBytes>) -> PyResult<(u32, u32, usize)> {
    let p = nelloc::probe(head.as_bytes()).map_err(to_py)?;
    Ok((p.width, p.height, p.color.channels()))
}

/// read_file(path, max_bytes) -> bytes: the whole file, refusing one above max_bytes.
#[pyfunction]
#[pyo3(signature = (path, max_bytes=None))]
fn read_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    max_bytes: Option<u64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut l = Limits::default();
    if let Some(m) = max_bytes {
        l.max_input_bytes = m;
    }
    let data = py
        .detach(|| {
            let f = std::fs::File::open(&path)?;
            nelloc::fs::read_limited(f, &l)
        })
        .map_err(|e| file_error(e, &path))?;
    Ok(PyBytes::new(py, &data))
}

/// write_file(path, data): atomically (temporary file beside it, flushed, renamed).
#[pyfunction]
fn write_file(py: Python<'_>, path: PathBuf, data: &Bound<'_, PyBytes>) -> PyResult<()> {
    let bytes = data.as_bytes();
    py.detach(|| nelloc::fs::write_atomic(&path, bytes))
        .map_err(|e| {
            // A missing directory is named as such (not the file that could not be made in it).
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let missing = e.kind() == std::io::ErrorKind::NotFound && !dir.is_dir();
            os_error(e, Some(if missing { dir } else { &path }))
        })
}

/// The built-in models by name, in order of first release: (name, channels, hex SHA-256,
/// multiply-adds per pixel) of the newest model of that name (the one `model=name`
/// codes with), and the hashes of all of them, oldest first (older files name those).
fn builtin_groups() -> Vec<(String, u32, String, u64, Vec<String>)> {
    let mut groups: Vec<(String, u32, String, u64, Vec<String>)> = Vec::new();
    for m in nelloc::model::builtin() {
        let (channels, hash, macs) = (m.arch().channels, m.hash_hex(), m.arch().macs_per_pixel());
        match groups.iter_mut().find(|g| g.0 == m.name()) {
            Some(g) => {
                (g.1, g.2, g.3) = (channels, hash.clone(), macs);
                g.4.push(hash);
            }
            None => groups.push((
                m.name().to_string(),
                channels,
                hash.clone(),
                macs,
                vec![hash],
            )),
        }
    }
    groups
}

/// builtin_models() -> list of (name, channels, hex SHA-256, multiply-adds per pixel,
/// hashes of every version, oldest first): one entry per name, described by its newest model.
#[pyfunction]
fn builtin_models() -> Vec<(String, u32, String, u64, Vec<String>)> {
    builtin_groups()
}

/// builtin_model_file(name) -> bytes of the built-in model file of that name (the newest
/// version), or None: the integer model exactly as shipped (`nelloc.adapt` starts from it).
#[pyfunction]
fn builtin_model_file<'py>(py: Python<'py>, name: &str) -> Option<Bound<'py, PyBytes>> {
    nelloc::model::builtin_file_by_name(name).map(|b| PyBytes::new(py, b))
}

#[pymodule]
fn _nelloc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("FormatError", py.get_type::<FormatError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("LimitsError", py.get_type::<LimitsError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("DeviceError", py.get_type::<DeviceError>())?;
    m.add("ResourceError", py.get_type::<ResourceError>())?;
    m.add("UnsupportedVersionError", unsupported_version_error(py)?)?;
    m.add("MAGIC", PyBytes::new(py, &nelloc::MAGIC))?;
    m.add("PROBE_BYTES", nelloc::PROBE_BYTES)?;
    m.add("FORMAT_VERSION", nelloc::FORMAT_VERSION)?;
    m.add("DEFAULT_TILE_SIZE", nelloc::DEFAULT_TILE_SIZE)?;
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(decode_preview, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_function(wrap_pyfunction!(info_file, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(probe, m)?)?;
    m.add_function(wrap_pyfunction!(read_file, m)?)?;
    m.add_function(wrap_pyfunction!(write_file, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_models, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_model_file, m)?)?;
    Ok(())
}
