"""Type stubs of the native module (crates/nelloc-py/src/lib.rs). Use the wrappers in
``nelloc``: they check NumPy arrays and build them."""

from typing import Any, Callable, List, Optional, Sequence, Tuple

MAGIC: bytes
PROBE_BYTES: int
FORMAT_VERSION: int
DEFAULT_TILE_SIZE: int

class Error(Exception): ...
class FormatError(Error): ...
class UnsupportedError(Error): ...
class LimitsError(Error): ...
class ModelError(Error): ...
class DeviceError(Error): ...
class ResourceError(Error): ...
class UnsupportedVersionError(FormatError, UnsupportedError): ...

def encode(
    pixels: bytes,
    width: int,
    height: int,
    channels: int,
    *,
    model: Optional[str] = None,
    model_file: Optional[str] = None,
    alpha_model_file: Optional[str] = None,
    tile_size: int = ...,
    threads: int = 0,
    modes: Optional[str] = None,
    icc: Optional[bytes] = None,
    exif: Optional[bytes] = None,
    xmp: Optional[bytes] = None,
    max_pixels: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    preview: int = -1,
    embed_model: bool = False,
) -> bytes: ...
def score(
    pixels: bytes,
    width: int,
    height: int,
    channels: int,
    *,
    model: Optional[str] = None,
    model_file: Optional[str] = None,
    alpha_model_file: Optional[str] = None,
    tile_size: int = ...,
    threads: int = 0,
    max_pixels: Optional[int] = None,
) -> float: ...
def decode(
    data: bytes,
    *,
    threads: int = 0,
    models: Sequence[str] = ...,
    max_pixels: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    model_path: Sequence[str] = ...,
    on_rows: Optional[Callable[[int, int, bytes], Any]] = None,
) -> Tuple[int, int, int, bytearray, Optional[bytes], Optional[bytes], Optional[bytes]]: ...
def decode_preview(
    data: bytes,
    *,
    threads: int = 0,
    models: Sequence[str] = ...,
    max_pixels: Optional[int] = None,
    model_path: Sequence[str] = ...,
) -> Tuple[int, int, int, bytearray, bool]: ...
def info(
    data: bytes,
    *,
    models: Sequence[str] = ...,
    max_pixels: Optional[int] = None,
    model_path: Sequence[str] = ...,
) -> dict: ...
def info_file(
    path: str,
    *,
    models: Sequence[str] = ...,
    max_pixels: Optional[int] = None,
    model_path: Sequence[str] = ...,
) -> dict: ...
def probe(head: bytes) -> Tuple[int, int, int]: ...
def read_file(path: str, max_bytes: Optional[int] = None) -> bytes: ...
def write_file(path: str, data: bytes) -> None: ...
def builtin_models() -> List[Tuple[str, int, str, int, List[str]]]: ...
