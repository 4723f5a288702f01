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
from typing import Iterable, NamedTuple, Optional, Sequence, Tuple, Union

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
    "BuiltinModel",
    "encode",
    "decode",
    "info",
    "score",
    "read",
    "write",
    "builtin_models",
]

__version__ = "0.1.0"

PathLike = Union[str, "os.PathLike[str]"]
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


def _opt_bytes(data: object, what: str) -> Optional[bytes]:
    return None if data is None else _bytes(data, what)


def _modes(modes: Union[None, str, Iterable[str]]) -> Optional[str]:
    if modes is None or isinstance(modes, str):
        return modes
    return ",".join(modes)


def _paths(models: Sequence[PathLike]) -> list:
    if isinstance(models, (str, bytes, os.PathLike)):
        raise TypeError("models must be a sequence of model file paths, not one path")
    return [os.fspath(m) for m in models]


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
    """
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
        tile_size=tile_size,
        threads=threads,
        modes=_modes(modes),
        icc=_opt_bytes(icc, "icc"),
        exif=exif_b,
        xmp=_opt_bytes(xmp, "xmp"),
        max_pixels=max_pixels,
    )


def decode(
    data: bytes,
    *,
    threads: int = 0,
    models: Sequence[PathLike] = (),
    max_pixels: Optional[int] = None,
) -> np.ndarray:
    """Decodes ``.nlc`` bytes into a writable ``uint8`` array, (H, W) for grey images and
    (H, W, C) otherwise, bit-exact. ``models``: model files to look up by hash before the
    built-in ones. ``max_pixels`` bounds the image size accepted (default 2**28)."""
    w, h, c, pixels, _, _, _ = _nelloc.decode(
        _bytes(data, "data"), threads=threads, models=_paths(models), max_pixels=max_pixels
    )
    return _array(w, h, c, pixels)


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

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape ``decode`` returns."""
        if self.channels == 1:
            return (self.height, self.width)
        return (self.height, self.width, self.channels)


def info(data: bytes, *, models: Sequence[PathLike] = (), max_pixels: Optional[int] = None) -> Info:
    """The header of ``.nlc`` bytes: size, colour type, tiles, models, metadata."""
    return Info(**_nelloc.info(_bytes(data, "data"), models=_paths(models), max_pixels=max_pixels))


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
        tile_size=tile_size,
        threads=threads,
        max_pixels=max_pixels,
    )


def read(
    path: PathLike,
    *,
    threads: int = 0,
    models: Sequence[PathLike] = (),
    max_pixels: Optional[int] = None,
) -> np.ndarray:
    """Decodes a ``.nlc`` file into an array (as ``decode``)."""
    return decode(
        _nelloc.read_file(os.fspath(path)),
        threads=threads,
        models=models,
        max_pixels=max_pixels,
    )


def write(path: PathLike, array: np.ndarray, **options) -> int:
    """Encodes ``array`` (as ``encode``, same keyword options) into the file ``path``
    atomically: a temporary file beside it, flushed, then renamed, so a failure never
    leaves a partial file or clobbers an existing one. Returns the bytes written."""
    data = encode(array, **options)
    _nelloc.write_file(os.fspath(path), data)
    return len(data)


class BuiltinModel(NamedTuple):
    """A model compiled into the library."""

    name: str
    channels: int
    sha256: str
    macs_per_pixel: int


def builtin_models() -> list:
    """The built-in models (``model=`` takes their names)."""
    return [BuiltinModel(*m) for m in _nelloc.builtin_models()]
