"""nelloc: neural lossless image compression (NeLLoC) for NumPy arrays and Pillow.

    >>> import numpy as np, nelloc
    >>> pixels = np.zeros((48, 64, 3), dtype=np.uint8)
    >>> data = nelloc.encode(pixels)              # bytes of a complete .nlc file
    >>> bool((nelloc.decode(data) == pixels).all())
    True

Arrays are ``uint8`` of shape (H, W) for grey, (H, W, 2) grey+alpha, (H, W, 3) RGB or
(H, W, 4) RGBA; anything else raises ``TypeError`` (wrong type or dtype) or
``ValueError`` (wrong shape) rather than being converted. Coding releases the GIL and
runs on the library's own thread pool (``threads=0``: all cores; the output never
depends on it). ``import nelloc.pillow`` registers ``.nlc`` with Pillow, and
``nelloc.dataset`` compresses directory trees, on one machine or a Dask cluster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _nelloc
from ._nelloc import (
    DEFAULT_TILE_SIZE,
    FORMAT_VERSION,
    MAGIC,
    PROBE_BYTES,
    DeviceError,
    Error,
    FormatError,
    LimitsError,
    ModelError,
    ResourceError,
    UnsupportedError,
    UnsupportedVersionError,
)

__all__ = [
    "DEFAULT_TILE_SIZE",
    "FORMAT_VERSION",
    "MAGIC",
    "PROBE_BYTES",
    "DeviceError",
    "Error",
    "FormatError",
    "LimitsError",
    "ModelError",
    "ResourceError",
    "UnsupportedError",
    "UnsupportedVersionError",
    "Info",
    "Metadata",
    "BuiltinModel",
    "encode",
    "decode",
    "decode_preview",
    "Preview",
    "info",
    "score",
    "read",
    "write",
    "builtin_models",
    "env_model_path",
]

__version__ = "0.1.0"

PathLike = Union[str, "os.PathLike[str]"]
#: ``progress(done, total)``: pixels coded so far and in all, called from worker threads
#: as tiles finish; an exception it raises stops the call and is raised from it.
ProgressCallback = Callable[[int, int], Any]
RowsCallback = Callable[[int, int, np.ndarray], Any]
_SHAPES = "(H, W) grey, (H, W, 2) grey+alpha, (H, W, 3) RGB or (H, W, 4) RGBA"
_EXIF_PREFIX = b"Exif\x00\x00"


def _pixels(array: np.ndarray) -> Tuple[bytes, int, int, int]:
    """Checks an image array; returns its C-order samples, width, height, channels."""
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"expected a numpy.ndarray of dtype uint8, shaped {_SHAPES}; got {type(array).__name__}"
        )
    if array.dtype != np.uint8:
        raise TypeError(
            f"expected dtype uint8, got {array.dtype}: nelloc codes 8-bit samples only "
            "(convert explicitly, e.g. with astype, if that is what you mean)"
        )
    if array.ndim == 2:
        (height, width), channels = array.shape, 1
    elif array.ndim == 3 and array.shape[2] in (2, 3, 4):
        height, width, channels = array.shape
    else:
        raise ValueError(f"expected an array shaped {_SHAPES}; got shape {array.shape}")
    # tobytes() gives C order whatever the strides: a copy the codec can read without
    # the GIL while the caller keeps using (or modifying) the array.
    return array.tobytes(), width, height, channels


def _bytes(data: object, what: str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes, bytearray or memoryview, got {type(data).__name__}")


def _count(value: object, what: str, *, optional: bool = False) -> Optional[int]:
    """A non-negative int argument (``None`` too when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must be at least 0, got {value}")
    return value


def _progress(progress: object) -> Optional[ProgressCallback]:
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    return progress  # type: ignore[return-value]


def _is_path(target: object) -> bool:
    return isinstance(target, (str, os.PathLike))


def _opt_bytes(data: object, what: str) -> Optional[bytes]:
    return None if data is None else _bytes(data, what)


def _modes(modes: Union[None, str, Iterable[str]]) -> Optional[str]:
    if modes is None or isinstance(modes, str):
        return modes
    return ",".join(modes)


def _paths(models: Sequence[PathLike], what: str = "models") -> list:
    if isinstance(models, (str, bytes, os.PathLike)):
        raise TypeError(f"{what} must be a sequence of paths, not one path")
    return [os.fspath(m) for m in models]


def env_model_path() -> list:
    """The directories of the ``NELLOC_MODEL_PATH`` environment variable (separated as
    ``PATH`` is: ``:`` on Unix, ``;`` on Windows), for ``model_path=``. The library reads
    the variable only through this function."""
    value = os.environ.get("NELLOC_MODEL_PATH", "")
    return [d for d in value.split(os.pathsep) if d]


def _array(width: int, height: int, channels: int, pixels: bytearray) -> np.ndarray:
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.frombuffer(pixels, dtype=np.uint8).reshape(shape)


def encode(
    array: np.ndarray,
    *,
    model: Optional[str] = None,
    model_file: Optional[PathLike] = None,
    alpha_model_file: Optional[PathLike] = None,
    tile_size: int = DEFAULT_TILE_SIZE,
    threads: int = 0,
    modes: Union[None, str, Iterable[str]] = None,
    icc: Optional[bytes] = None,
    exif: Optional[bytes] = None,
    xmp: Optional[bytes] = None,
    max_pixels: Optional[int] = None,
    progress: Optional[ProgressCallback] = None,
    preview: Union[bool, int] = True,
    embed_model: bool = False,
) -> bytes:
    """Compresses an image array losslessly into the bytes of a complete ``.nlc`` file.

    ``array``: ``uint8``, shaped (H, W), (H, W, 2), (H, W, 3) or (H, W, 4).
    ``model``: a built-in model by name (``builtin_models()``; default: ``"default"`` for
    RGB, ``"gray"`` for grey); ``model_file`` / ``alpha_model_file``: a model file
    instead (decoding then needs it in ``models=``). ``tile_size``: tile edge in pixels.
    ``threads``: worker threads, 0 for all cores (the output does not depend on it).
    ``modes``: the per-tile coding modes allowed, e.g. ``"neural"`` or
    ``["neural", "png"]`` (default: all). ``icc``, ``exif`` (TIFF structure, with or
    without the ``Exif\\0\\0`` prefix), ``xmp``: metadata stored with the image.
    ``max_pixels``: the largest image accepted (default 2**28). ``progress``: called as
    ``progress(done, total)`` (pixels) from worker threads as tiles finish; an exception
    it raises stops the encode and is raised here. ``preview``: embed a small copy for
    fast thumbnails (``decode_preview``): ``True`` (the default: 256 or 128 pixels on the
    longer side where it costs at most 0.5% of the file), ``False`` for none, or a
    longest side of 1 to 1024 pixels written whatever it costs. ``embed_model=True``
    stores the model files given by ``model_file`` / ``alpha_model_file`` in the stream
    (built-in models are never stored), so that it decodes where they are not available.
    """
    if not isinstance(embed_model, bool):
        raise TypeError(f"embed_model must be True or False, not {embed_model!r}")
    pixels, width, height, channels = _pixels(array)
    exif_b = _opt_bytes(exif, "exif")
    if exif_b is not None and exif_b.startswith(_EXIF_PREFIX):
        exif_b = exif_b[len(_EXIF_PREFIX) :]
    return _nelloc.encode(
        pixels,
        width,
        height,
        channels,
        model=model,
        model_file=None if model_file is None else os.fspath(model_file),
        alpha_model_file=None if alpha_model_file is None else os.fspath(alpha_model_file),
        tile_size=_count(tile_size, "tile_size"),
        threads=_count(threads, "threads"),
        modes=_modes(modes),
        icc=_opt_bytes(icc, "icc"),
        exif=exif_b,
        xmp=_opt_bytes(xmp, "xmp"),
        max_pixels=_count(max_pixels, "max_pixels", optional=True),
        progress=_progress(progress),
        preview=_preview(preview),
        embed_model=embed_model,
    )


def _preview(preview: object) -> int:
    """``encode``'s ``preview`` as the binding takes it: -1 auto, 0 none, else a size."""
    if preview is True:
        return -1
    if preview is False:
        return 0
    if isinstance(preview, int) and 1 <= preview <= 1024:
        return preview
    raise ValueError(f"preview must be True, False or a size of 1 to 1024, not {preview!r}")


class Metadata(NamedTuple):
    """The metadata stored with an image (``None`` where absent): the ICC profile, EXIF
    (the TIFF structure, without the ``Exif\\0\\0`` prefix) and XMP, as ``encode``
    takes them."""

    icc: Optional[bytes]
    exif: Optional[bytes]
    xmp: Optional[bytes]


def decode(
    data: bytes,
    *,
    threads: int = 0,
    models: Sequence[PathLike] = (),
    max_pixels: Optional[int] = None,
    with_metadata: bool = False,
    progress: Optional[ProgressCallback] = None,
    model_path: Sequence[PathLike] = (),
    on_rows: Optional[RowsCallback] = None,
) -> Any:
    """Decodes ``.nlc`` bytes into a writable ``uint8`` array, (H, W) for grey images and
    (H, W, C) otherwise, bit-exact. ``models``: model files to look up by hash before the
    built-in ones. ``model_path``: directories searched for the ``*.safetensors`` file of
    a model that is not built in, not in ``models`` and not embedded in the stream (e.g.
    ``env_model_path()``). ``max_pixels`` bounds the image size accepted (default 2**28).
    ``with_metadata=True`` returns ``(array, Metadata(icc, exif, xmp))`` instead, the
    metadata ready to pass back to ``encode(array, **metadata._asdict())``.
    ``progress``: as for ``encode``. ``on_rows(start, stop, rows)``: called as rows of the
    image become final (tiles decode top to bottom), on the calling thread, with
    ``stop`` strictly increasing, the last call ending at the height; ``rows`` is a new
    ``uint8`` array of rows ``start:stop``, shaped as the result. An exception it raises
    stops the decode and is raised."""
    data = _bytes(data, "data")
    rows_cb = None
    if on_rows is not None:
        if not callable(on_rows):
            raise TypeError(f"on_rows must be callable, got {type(on_rows).__name__}")
        # The fixed header fields only (no model files read, no checksum pass): decode
        # validates the stream itself and fails on the same bytes.
        width, _, channels = _nelloc.probe(data)

        def rows_cb(start: int, stop: int, band: bytes) -> None:
            shape = (stop - start, width) + (() if channels == 1 else (channels,))
            on_rows(start, stop, np.frombuffer(band, dtype=np.uint8).reshape(shape))

    w, h, c, pixels, icc, exif, xmp = _nelloc.decode(
        data,
        threads=_count(threads, "threads"),
        models=_paths(models),
        max_pixels=_count(max_pixels, "max_pixels", optional=True),
        progress=_progress(progress),
        model_path=_paths(model_path, "model_path"),
        on_rows=rows_cb,
    )
    array = _array(w, h, c, pixels)
    return (array, Metadata(icc, exif, xmp)) if with_metadata else array


class Preview(NamedTuple):
    """What ``decode_preview`` returns: the pixels (as ``decode`` shapes them) and whether
    they are the embedded preview (``False``: the stream has none, this is the image)."""

    array: np.ndarray
    embedded: bool


def decode_preview(
    data: bytes,
    *,
    threads: int = 0,
    models: Sequence[PathLike] = (),
    max_pixels: Optional[int] = None,
    model_path: Sequence[PathLike] = (),
) -> Preview:
    """Decodes the embedded preview of ``.nlc`` bytes (a small copy of the image, at most
    1024 pixels per side, that decodes in milliseconds without the network), or the image
    itself when the stream has none (``embedded`` is then ``False``, and ``max_pixels``
    applies as in ``decode``; it does not bound a preview). A damaged preview raises
    ``FormatError``."""
    w, h, c, pixels, embedded = _nelloc.decode_preview(
        _bytes(data, "data"),
        threads=_count(threads, "threads"),
        models=_paths(models),
        max_pixels=_count(max_pixels, "max_pixels", optional=True),
        model_path=_paths(model_path, "model_path"),
    )
    return Preview(_array(w, h, c, pixels), embedded)


@dataclass(frozen=True)
class Info:
    """A ``.nlc`` header, read without decoding pixels (see ``info``)."""

    width: int
    height: int
    channels: int
    color: str
    tile_width: int
    tile_height: int
    tiles: int
    model_hash: str
    model_name: Optional[str]
    alpha: str
    alpha_model_hash: Optional[str]
    version: int
    file_size: int
    bits_per_subpixel: float
    icc: Optional[bytes]
    exif: Optional[bytes]
    xmp: Optional[bytes]
    #: (width, height) of the embedded preview (``decode_preview``), ``None`` without one.
    preview: Optional[Tuple[int, int]] = None
    #: Hex SHA-256 of each model file embedded in the stream (format versions 6 and 7).
    embedded_models: Tuple[str, ...] = ()

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape ``decode`` returns."""
        if self.channels == 1:
            return (self.height, self.width)
        return (self.height, self.width, self.channels)


def info(
    data: "bytes | PathLike",
    *,
    models: Sequence[PathLike] = (),
    max_pixels: Optional[int] = None,
    model_path: Sequence[PathLike] = (),
) -> Info:
    """The header of a ``.nlc`` stream: size, colour type, tiles, models, metadata.

    Given bytes (the whole stream), the stream is checked too: the header, the tile
    index and every tile's CRC-32, without decoding pixels; a truncated or damaged stream
    raises ``FormatError``. Given a path, only the header is read (a few KiB, more when
    the metadata is large) and the tile data is not checked: a partly written or
    downloaded file reports its header, ``file_size`` being the size of the complete file
    (compare it with the file's size on disk). A compact stream (format version 5, an
    image coded as one tile) has one CRC over the whole file, so it is read whole, and a
    partial one raises ``FormatError`` (truncated)."""
    paths, limit = _paths(models), _count(max_pixels, "max_pixels", optional=True)
    dirs = _paths(model_path, "model_path")
    if _is_path(data):
        header = _nelloc.info_file(
            os.fspath(data),  # type: ignore[arg-type]
            models=paths,
            max_pixels=limit,
            model_path=dirs,
        )
    else:
        header = _nelloc.info(_bytes(data, "data"), models=paths, max_pixels=limit, model_path=dirs)
    header["embedded_models"] = tuple(header["embedded_models"])
    return Info(**header)


def score(
    array: np.ndarray,
    *,
    model: Optional[str] = None,
    model_file: Optional[PathLike] = None,
    alpha_model_file: Optional[PathLike] = None,
    tile_size: int = DEFAULT_TILE_SIZE,
    threads: int = 0,
    max_pixels: Optional[int] = None,
) -> float:
    """The image's information content under the model, in bits per subpixel (8-bit
    sample): its negative log2-likelihood over the sample count, every tile coded by
    the network. Higher means less like what the model was trained on (the NeLLoC
    out-of-distribution score)."""
    pixels, width, height, channels = _pixels(array)
    return _nelloc.score(
        pixels,
        width,
        height,
        channels,
        model=model,
        model_file=None if model_file is None else os.fspath(model_file),
        alpha_model_file=None if alpha_model_file is None else os.fspath(alpha_model_file),
        tile_size=_count(tile_size, "tile_size"),
        threads=_count(threads, "threads"),
        max_pixels=_count(max_pixels, "max_pixels", optional=True),
    )


def read(
    file: "PathLike | IO[bytes]",
    *,
    threads: int = 0,
    models: Sequence[PathLike] = (),
    max_pixels: Optional[int] = None,
    with_metadata: bool = False,
    progress: Optional[ProgressCallback] = None,
) -> Any:
    """Decodes a ``.nlc`` file, a path or a binary file object read to its end, into an
    array (as ``decode``, same options)."""
    if _is_path(file):
        data = _nelloc.read_file(os.fspath(file))  # type: ignore[arg-type]
    elif hasattr(file, "read"):
        data = _bytes(file.read(), "the data read from the file")  # type: ignore[union-attr]
    else:
        raise TypeError(f"expected a path or a binary file object, got {type(file).__name__}")
    return decode(
        data,
        threads=threads,
        models=models,
        max_pixels=max_pixels,
        with_metadata=with_metadata,
        progress=progress,
    )


def write(file: "PathLike | IO[bytes]", array: np.ndarray, **options) -> int:
    """Encodes ``array`` (as ``encode``, same keyword options) into ``file`` and returns
    the bytes written. A path is written atomically: a temporary file beside it, flushed,
    then renamed, so a failure never leaves a partial file or clobbers an existing one
    (a new file gets the usual mode under the umask, a replaced one keeps its mode). A
    binary file object gets the bytes with one ``write``, after encoding succeeded."""
    if not _is_path(file) and not hasattr(file, "write"):
        raise TypeError(f"expected a path or a binary file object, got {type(file).__name__}")
    data = encode(array, **options)
    if _is_path(file):
        _nelloc.write_file(os.fspath(file), data)  # type: ignore[arg-type]
    else:
        file.write(data)  # type: ignore[union-attr]
    return len(data)


class BuiltinModel(NamedTuple):
    """A model compiled into the library, by name: ``channels``, ``sha256`` and
    ``macs_per_pixel`` are those of its newest version (what ``model=name`` codes with);
    ``versions`` the SHA-256 of every version, oldest first (files coded with an older
    one name it and keep decoding)."""

    name: str
    channels: int
    sha256: str
    macs_per_pixel: int
    versions: Tuple[str, ...]


def builtin_models() -> list:
    """The built-in models, one per name (``model=`` takes the names)."""
    return [
        BuiltinModel(name, channels, sha, macs, tuple(versions))
        for name, channels, sha, macs, versions in _nelloc.builtin_models()
    ]
