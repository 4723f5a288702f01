import io

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import nelloc
import nelloc.pillow  # noqa: F401  (registers the plugin)


@pytest.mark.parametrize("mode, c", [("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4)])
def test_open_save_by_extension(image, tmp_path, mode, c):
    a = image(21, 34, c, seed=c)
    im = (
        Image.fromarray(a, mode)
        if int(Image.__version__.split(".")[0]) < 11
        else Image.fromarray(a)
    )
    assert im.mode == mode
    path = tmp_path / "x.nlc"
    im.save(path)
    assert path.read_bytes()[:8] == nelloc.MAGIC
    assert np.array_equal(nelloc.read(path), a)
    with Image.open(path) as back:
        assert back.format == "NLC" and back.mode == mode and back.size == (34, 21)
        assert Image.MIME[back.format] == "image/x-nlc"
        assert np.array_equal(np.asarray(back), a)


def test_open_by_signature_without_extension(image, tmp_path):
    a = image(16, 20, 3)
    data = nelloc.encode(a)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "NLC"
        assert np.array_equal(np.asarray(im), a)
    other = tmp_path / "image.bin"
    other.write_bytes(data)
    with Image.open(other) as im:
        assert np.array_equal(np.asarray(im), a)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="NLC", tile_size=8, modes="neural")
    assert nelloc.info(buf.getvalue()).tile_width == 8


def test_icc_exif_xmp_carried(image, tmp_path):
    im = Image.fromarray(image(12, 10, 3))
    exif = Image.Exif()
    exif[0x010F] = "nelloc test camera"  # Make
    icc = b"\x00\x00\x02\x0cfake icc profile" * 4
    path = tmp_path / "meta.nlc"
    im.save(path, icc_profile=icc, exif=exif, xmp=b"<x:xmpmeta>nelloc</x:xmpmeta>")
    i = nelloc.info(path.read_bytes())
    assert i.icc == icc and i.exif[:4] in (b"II*\x00", b"MM\x00*")
    with Image.open(path) as back:
        assert back.info["icc_profile"] == icc
        assert back.getexif()[0x010F] == "nelloc test camera"
        assert back.info["xmp"] == b"<x:xmpmeta>nelloc</x:xmpmeta>"
        # Re-saving an opened image keeps its metadata.
        back.save(tmp_path / "again.nlc")
    assert nelloc.info((tmp_path / "again.nlc").read_bytes()).icc == icc


def test_from_png_with_icc(fixtures, tmp_path):
    src = Image.open(fixtures / "photos" / "bark_64x96.png")
    src.info["icc_profile"] = b"profile from png"
    src.save(tmp_path / "bark.nlc")
    with Image.open(tmp_path / "bark.nlc") as im:
        assert im.info["icc_profile"] == b"profile from png"
        assert np.array_equal(np.asarray(im), np.asarray(src))


@pytest.mark.parametrize("mode", ["P", "1", "I;16", "F", "CMYK"])
def test_unsupported_modes_are_refused(tmp_path, mode):
    im = Image.new(mode, (4, 4))
    with pytest.raises(ValueError, match="L, LA, RGB and RGBA"):
        im.save(tmp_path / "x.nlc")
    assert not (tmp_path / "x.nlc").exists() or (tmp_path / "x.nlc").stat().st_size == 0


def test_not_nlc_data(tmp_path, fixtures):
    fake = tmp_path / "fake.nlc"
    fake.write_bytes(b"hello, not an image at all")
    with pytest.raises(UnidentifiedImageError):
        Image.open(fake)
    # A damaged or truncated .nlc file is Pillow's error, chained to nelloc's reason.
    good = (fixtures / "golden" / "boats_128x128.nlc").read_bytes()
    damaged = bytearray(good)
    damaged[-5] ^= 1
    for data, words in [(bytes(damaged), "checksum"), (good[:-9], "truncated")]:
        with pytest.raises(UnidentifiedImageError, match=words) as e:
            Image.open(io.BytesIO(data))
        assert isinstance(e.value.__cause__, nelloc.FormatError), e.value.__cause__
        assert words in str(e.value.__cause__)
    newer = bytearray(nelloc.encode(np.zeros((4, 4, 3), np.uint8)))
    newer[8] = nelloc.FORMAT_VERSION + 1
    path = tmp_path / "newer.nlc"
    path.write_bytes(bytes(newer))
    with pytest.raises(UnidentifiedImageError, match="newer.nlc") as e:
        Image.open(path)
    assert isinstance(e.value.__cause__, nelloc.UnsupportedVersionError)
