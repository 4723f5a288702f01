"""Pillow plugin: ``import nelloc.pillow`` and Pillow reads and writes ``.nlc``.

    >>> import nelloc.pillow
    >>> from PIL import Image
    >>> Image.open("photo.png").save("photo.nlc")     # by extension, or format="NLC"
    >>> Image.open("photo.nlc").size                   # by extension or by signature

Modes L, LA, RGB and RGBA are coded as they are; saving any other mode raises
``ValueError`` (convert it first: nothing is converted silently). The ICC profile
(``info["icc_profile"]``), EXIF (``info["exif"]``, with Pillow's ``Exif\\0\\0`` prefix)
and XMP (``info["xmp"]``) are carried both ways; on save, keyword arguments of the same
names override the image's own. Further save options: ``tile_size``, ``threads``,
``model``, ``modes`` (as ``nelloc.encode``). ``DECODE_THREADS`` sets the decoding threads.

A file with the ``.nlc`` signature that is damaged, truncated or of a newer version
raises Pillow's ``UnidentifiedImageError`` on open, its ``__cause__`` the ``nelloc``
error that explains it (``FormatError``, ``UnsupportedVersionError``...).
"""

from __future__ import annotations

import os
from typing import IO

from PIL import Image, ImageFile, UnidentifiedImageError

from . import _nelloc, encode, env_model_path

FORMAT = "NLC"
MIME = "image/x-nlc"
#: Worker threads for decoding (0: all cores; the pixels never depend on it).
DECODE_THREADS = 0

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_CHANNELS = {mode: c for c, mode in _MODES.items()}
_EXIF_PREFIX = b"Exif\x00\x00"
# Pillow >= 11 names tile descriptors; older versions take plain tuples.
_Tile = getattr(ImageFile, "_Tile", lambda *t: t)


def _accept(prefix: bytes) -> bool:
    return prefix[: len(_nelloc.MAGIC)] == _nelloc.MAGIC


class NlcImageFile(ImageFile.ImageFile):
    """A ``.nlc`` image: the header is read on open, the pixels on ``load()``."""

    format = FORMAT
    format_description = "nelloc neural lossless image"

    def _open(self) -> None:
        assert self.fp is not None
        # The metadata chunks sit in the header, which ends where the tile data starts:
        # the whole file is parsed (not decoded) so that info[] is complete after open.
        data = self.fp.read()
        try:
            header = _nelloc.info(data)
        except _nelloc.Error as e:
            # The signature matched (or the caller asked for NLC), so no other plugin
            # would read it: Pillow's "cannot identify" error, with nelloc's reason in the
            # message and chained as its cause. (A SyntaxError would make Pillow drop it.)
            name = self.filename if self.filename else self.fp
            raise UnidentifiedImageError(
                f"cannot identify image file {name!r}: not a valid .nlc file: {e}"
            ) from e
        self._mode = _MODES[header["channels"]]
        self._size = (header["width"], header["height"])
        if header["icc"] is not None:
            self.info["icc_profile"] = header["icc"]
        if header["exif"] is not None:
            self.info["exif"] = _EXIF_PREFIX + header["exif"]
        if header["xmp"] is not None:
            self.info["xmp"] = header["xmp"]
        self.tile = [_Tile("nlc", (0, 0) + self.size, 0, None)]


def _model_path(fd: IO[bytes]) -> list:
    """Where a stream's external model (not built in, not embedded) is looked for, as
    the ``nlc`` tool does: the directories of ``NELLOC_MODEL_PATH``, then the directory of
    the file being read (where batch encoding writes the shared model)."""
    dirs = env_model_path()
    name = getattr(fd, "name", None)
    if isinstance(name, str) and name:
        dirs.append(os.path.dirname(os.path.abspath(name)))
    return dirs


class NlcDecoder(ImageFile.PyDecoder):
    """Decodes the whole stream at once (tiles are decoded in parallel inside)."""

    _pulls_fd = True

    def decode(self, buffer):  # type: ignore[override]
        assert self.fd is not None
        self.fd.seek(0)
        width, height, channels, pixels, _, _, _ = _nelloc.decode(
            self.fd.read(), threads=DECODE_THREADS, model_path=_model_path(self.fd)
        )
        if (width, height) != (self.state.xsize, self.state.ysize):
            raise ValueError("the .nlc file changed while it was being read")
        self.set_as_raw(bytes(pixels), _MODES[channels])
        return -1, 0


def _save(im: Image.Image, fp: IO[bytes], filename) -> None:
    if im.mode not in _CHANNELS:
        raise ValueError(
            f"cannot write mode {im.mode} as NLC: nelloc codes modes L, LA, RGB and RGBA; "
            "convert the image first (e.g. im.convert('RGB'))"
        )
    import numpy as np

    opts = im.encoderinfo
    icc = opts.get("icc_profile", im.info.get("icc_profile"))
    exif = opts.get("exif", im.info.get("exif"))
    if isinstance(exif, Image.Exif):
        exif = exif.tobytes()
    xmp = opts.get("xmp", im.info.get("xmp"))
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    array = np.asarray(im)
    fp.write(
        encode(
            array,
            model=opts.get("model"),
            tile_size=opts.get("tile_size", _nelloc.DEFAULT_TILE_SIZE),
            threads=opts.get("threads", 0),
            modes=opts.get("modes"),
            icc=icc or None,
            exif=exif or None,
            xmp=xmp or None,
        )
    )


def register() -> None:
    """Registers the format with Pillow (done on import; calling again is harmless)."""
    Image.register_open(FORMAT, NlcImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".nlc")
    Image.register_mime(FORMAT, MIME)
    Image.register_decoder("nlc", NlcDecoder)


register()
