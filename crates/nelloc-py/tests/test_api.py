import threading
import time

import numpy as np
import pytest
from PIL import Image

import nelloc


def test_installed_wheel_not_source_tree():
    # ci.sh runs pytest against the wheel installed in a fresh venv.
    assert "site-packages" in nelloc.__file__, nelloc.__file__


@pytest.mark.parametrize("c", [1, 2, 3, 4])
def test_round_trip_every_shape(image, c):
    a = image(23, 37, c, seed=c)
    data = nelloc.encode(a)
    assert data[:8] == nelloc.MAGIC
    b = nelloc.decode(data)
    assert b.dtype == np.uint8 and b.shape == a.shape
    assert np.array_equal(a, b)
    b[0, 0] = 1  # the result is an ordinary writable array
    i = nelloc.info(data)
    assert (i.width, i.height, i.channels, i.shape) == (37, 23, c, a.shape)
    assert i.file_size == len(data)
    assert i.bits_per_subpixel == pytest.approx(len(data) * 8 / a.size)


def test_strided_input_codes_like_its_contiguous_copy(image):
    a = image(40, 30, 3)
    view = a[::2, ::-1]
    assert not view.flags.c_contiguous
    assert nelloc.encode(view) == nelloc.encode(np.ascontiguousarray(view))
    assert np.array_equal(nelloc.decode(nelloc.encode(view)), view)


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        ([[1, 2], [3, 4]], TypeError, "numpy.ndarray"),
        (b"\x00" * 12, TypeError, "numpy.ndarray"),
        (np.zeros((4, 4), np.float32), TypeError, "uint8"),
        (np.zeros((4, 4, 3), np.uint16), TypeError, "uint8"),
        (np.zeros((4, 4), bool), TypeError, "uint8"),
        (np.zeros(16, np.uint8), ValueError, "(H, W, 3) RGB"),
        (np.zeros((4, 4, 1), np.uint8), ValueError, "(H, W) grey"),
        (np.zeros((4, 4, 5), np.uint8), ValueError, "(H, W, 4) RGBA"),
        (np.zeros((2, 4, 4, 3), np.uint8), ValueError, "shape (2, 4, 4, 3)"),
        (np.zeros((0, 4, 3), np.uint8), ValueError, "at least 1x1"),
    ],
)
def test_unsupported_arrays_are_refused_not_converted(bad, exc, words):
    with pytest.raises(exc, match=None) as e:
        nelloc.encode(bad)
    assert words in str(e.value)
    if isinstance(bad, np.ndarray):
        with pytest.raises(exc):
            nelloc.score(bad)


def test_bad_data_raises_the_right_exception(image, fixtures):
    good = nelloc.encode(image(16, 16, 3))
    with pytest.raises(nelloc.FormatError, match="signature"):
        nelloc.decode(b"\x89PNG\r\n\x1a\n" + good[8:])
    with pytest.raises(nelloc.FormatError, match="truncated"):
        nelloc.decode(good[: len(good) // 2])
    damaged = bytearray(good)
    damaged[-3] ^= 0x40
    with pytest.raises(nelloc.FormatError):
        nelloc.decode(damaged)
    with pytest.raises(nelloc.FormatError):
        nelloc.info(b"")
    with pytest.raises(TypeError, match="bytes"):
        nelloc.decode("not bytes")
    with pytest.raises(nelloc.LimitsError, match="limit"):
        nelloc.decode(good, max_pixels=100)
    with pytest.raises(nelloc.LimitsError):
        nelloc.encode(image(16, 16, 3), max_pixels=100)
    with pytest.raises(ValueError, match="tile_size"):
        nelloc.encode(image(16, 16, 3), tile_size=0)
    # The hierarchy: every codec error is a nelloc.Error.
    for e in (nelloc.FormatError, nelloc.UnsupportedError, nelloc.LimitsError, nelloc.ModelError):
        assert issubclass(e, nelloc.Error) and e.__module__ == "nelloc"
    for e in (nelloc.DeviceError, nelloc.ResourceError, nelloc.UnsupportedVersionError):
        assert issubclass(e, nelloc.Error) and e.__module__ == "nelloc"


def test_a_newer_container_version_is_format_and_unsupported(image):
    # UnsupportedVersionError is both: old `except FormatError` clauses still catch it, and
    # it is unsupported input as for the C API (NLC_ERROR_UNSUPPORTED).
    newer = bytearray(nelloc.encode(image(8, 8, 3)))
    newer[8] = nelloc.FORMAT_VERSION + 1
    for call in (nelloc.decode, nelloc.info):
        with pytest.raises(nelloc.UnsupportedVersionError, match="newer than this decoder") as e:
            call(bytes(newer))
        assert isinstance(e.value, nelloc.FormatError)
        assert isinstance(e.value, nelloc.UnsupportedError)


def test_models(image, fixtures, tmp_path):
    names = {m.name: m for m in nelloc.builtin_models()}
    assert {"default", "fast", "gray"} <= set(names)
    assert names["gray"].channels == 1 and len(names["default"].sha256) == 64
    a = image(20, 24, 3)
    fast = nelloc.encode(a, model="fast", modes="neural")
    assert nelloc.info(fast).model_name == "fast"
    assert np.array_equal(nelloc.decode(fast), a)
    with pytest.raises(ValueError, match="built-in models are"):
        nelloc.encode(a, model="no-such-model")
    with pytest.raises(nelloc.ModelError, match="channel"):
        nelloc.encode(a[..., 0], model="default")
    with pytest.raises(FileNotFoundError):
        nelloc.encode(a, model_file=tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(nelloc.ModelError):
        nelloc.encode(a, model_file=bad)
    # A stream coded with a model that is not built in needs it to decode.
    model = fixtures / "models" / "test-rgb-pred.safetensors"  # not built in
    data = nelloc.encode(a, model_file=model, modes="neural")
    with pytest.raises(nelloc.ModelError, match="not built in .*, not supplied, not embedded"):
        nelloc.decode(data)
    assert np.array_equal(nelloc.decode(data, models=[model]), a)


def test_modes_and_metadata(image):
    a = image(30, 20, 4)
    pure = nelloc.encode(a, modes="neural")
    assert nelloc.info(pure).version == 5  # one tile: the compact container
    assert nelloc.info(nelloc.encode(a, modes="neural", tile_size=16)).version == 1
    assert nelloc.encode(a, modes=["neural"]) == pure
    with pytest.raises(ValueError):
        nelloc.encode(a, modes="constant")  # cannot code every tile
    icc, exif, xmp = b"icc-profile" * 10, b"II*\x00\x08\x00\x00\x00\x00\x00", b"<x:xmpmeta/>"
    data = nelloc.encode(a, icc=icc, exif=b"Exif\x00\x00" + exif, xmp=bytearray(xmp))
    i = nelloc.info(data)
    assert (i.icc, i.exif, i.xmp) == (icc, exif, xmp)
    assert np.array_equal(nelloc.decode(data), a)


def test_preview(image):
    a = image(200, 300, 3)  # 300 wide, 200 high
    data = nelloc.encode(a, modes="png", preview=64)
    assert nelloc.info(data).preview == (64, 43)
    p = nelloc.decode_preview(data)
    assert p.embedded and p.array.shape == (43, 64, 3)
    # The preview is the area average, within the 6-bit quantization (FORMAT.md section 10).
    mean = a.astype(np.float64).mean(axis=(0, 1))
    assert np.all(np.abs(p.array.astype(np.float64).mean(axis=(0, 1)) - mean) < 3)
    assert np.array_equal(nelloc.decode(data), a)
    plain = nelloc.encode(a, modes="png", preview=False)
    assert nelloc.info(plain).preview is None and len(plain) < len(data)
    p = nelloc.decode_preview(plain)
    assert not p.embedded and np.array_equal(p.array, a)
    # Grey images come back (H, W), like decode.
    g = image(300, 200, 1)
    p = nelloc.decode_preview(nelloc.encode(g, modes="png", preview=50))
    assert p.embedded and p.array.shape == (50, 33)
    for bad in (0, 1025, -1, "big"):
        with pytest.raises(ValueError):
            nelloc.encode(a, preview=bad)
    with pytest.raises(nelloc.FormatError):
        nelloc.decode_preview(data[:-1])


def test_cli_files_bit_exact(nlc, fixtures, tmp_path):
    """Golden files and CLI encodes: Python decodes what the CLI decodes, and encodes
    byte for byte what it encodes."""
    golden = sorted((fixtures / "golden").glob("*.nlc")) + sorted(
        (fixtures / "golden" / "modes").glob("*.nlc")
    )
    assert len(golden) >= 20
    for g in golden:
        out = tmp_path / (g.stem + ".png")
        nlc("decode", g, out)
        with Image.open(out) as im:
            expected = np.asarray(im)
        assert np.array_equal(nelloc.read(g), expected), g.name
    for name in ("boats_128x128.png", "dune_77x53.png", "wood_gray_64x64.png"):
        src = fixtures / "photos" / name
        out = tmp_path / (name + ".nlc")
        nlc("encode", src, out)
        with Image.open(src) as im:
            pixels = np.asarray(im)
        assert nelloc.encode(pixels) == out.read_bytes(), name
        assert np.array_equal(nelloc.read(out), pixels)


def test_threads_do_not_change_output(image):
    a = image(70, 90, 3)
    one = nelloc.encode(a, threads=1, tile_size=32)
    assert nelloc.encode(a, threads=2, tile_size=32) == one
    assert nelloc.encode(a, threads=0, tile_size=32) == one
    assert np.array_equal(nelloc.decode(one, threads=1), nelloc.decode(one, threads=3))


def test_model_file_is_read_without_the_gil(fixtures, tmp_path):
    # The model file is a FIFO that another Python thread fills while encode reads it:
    # with the GIL held during the read, that thread could never write (a deadlock, so
    # it runs in a child process with a timeout). No timing is measured.
    import os
    import subprocess
    import sys

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    model = fixtures / "models" / "test-rgb-pred.safetensors"
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    script = f"""
import threading, numpy as np, nelloc
model = open({str(model)!r}, "rb").read()
def feed():
    with open({str(fifo)!r}, "wb") as f:  # waits for encode to open the FIFO
        f.write(model)
threading.Thread(target=feed).start()
a = np.arange(20 * 24 * 3, dtype=np.uint8).reshape(20, 24, 3)
got = nelloc.encode(a, model_file={str(fifo)!r}, modes="neural")
assert got == nelloc.encode(a, model_file={str(model)!r}, modes="neural")
print("ok")
"""
    try:
        r = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("encode holds the GIL while it reads the model file (deadlock)")
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_gil_is_released_and_concurrent_calls_agree(image):
    a = image(256, 256, 3, seed=5)
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = ticks[0]
        data = nelloc.encode(a, threads=1, modes="neural")
        during = ticks[0] - before
    finally:
        stop.set()
        t.join()
    # With the GIL held for the whole call the other thread could not count at all.
    assert during > 1000, during

    from concurrent.futures import ThreadPoolExecutor

    small = [image(48, 40, 3, seed=s) for s in range(6)]
    expected = [nelloc.encode(x, threads=1) for x in small]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda x: nelloc.encode(x, threads=1), small))
        back = list(pool.map(nelloc.decode, got))
    assert got == expected
    assert all(np.array_equal(x, y) for x, y in zip(small, back))
    assert np.array_equal(nelloc.decode(data), a)


def test_read_write_files_atomically(image, tmp_path):
    a = image(20, 20, 2)
    path = tmp_path / "x.nlc"
    n = nelloc.write(path, a, tile_size=8)
    assert n == path.stat().st_size and nelloc.info(path.read_bytes()).tile_width == 8
    assert np.array_equal(nelloc.read(str(path)), a)
    sub = tmp_path / "dir"
    sub.mkdir()
    (sub / "keep").write_bytes(b"x")
    with pytest.raises(OSError):
        nelloc.write(sub, a)  # renaming over a non-empty directory fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "x.nlc"]
    with pytest.raises(FileNotFoundError):
        nelloc.read(tmp_path / "missing.nlc")
    with pytest.raises(nelloc.FormatError):
        nelloc.read(sub / "keep")


def test_score(image):
    smooth = image(64, 64, 3)
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    s, n = nelloc.score(smooth), nelloc.score(noise)
    # The model expects smooth images: uniform noise costs more than its 8 raw bits.
    assert 0 < s < 8 < n
    assert nelloc.score(smooth, threads=1) == s
    # The score is the neural model's information content, so it tracks pure NeLLoC files.
    assert s == pytest.approx(
        len(nelloc.encode(smooth, modes="neural")) * 8 / smooth.size, rel=0.05
    )
    assert nelloc.score(smooth[..., 0]) > 0


def test_calls_from_two_threads_are_inside_the_library_at_once(image):
    # Each call's progress callback waits for the other call's: both must be running at
    # once (with one shared 1-thread pool the second waited for the first, whose barrier
    # then broke). No timing is measured.
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(2, timeout=30)

    def meet():
        waited = []

        def progress(done, total):
            assert 0 < done <= total
            if not waited:
                waited.append(True)
                barrier.wait()

        return progress

    a = image(40, 48, 3)
    data = nelloc.encode(a)
    with ThreadPoolExecutor(2) as pool:
        enc = pool.submit(nelloc.encode, a, threads=1, progress=meet())
        dec = pool.submit(nelloc.decode, data, threads=1, progress=meet())
        assert enc.result() == data
        assert np.array_equal(dec.result(), a)


def test_an_exception_in_progress_stops_the_call(image):
    class Stop(Exception):
        pass

    def progress(done, total):
        raise Stop(f"{done}/{total}")

    a = image(64, 64, 3)
    with pytest.raises(Stop):
        nelloc.encode(a, tile_size=16, progress=progress)
    with pytest.raises(Stop):
        nelloc.decode(nelloc.encode(a, tile_size=16), progress=progress)
    with pytest.raises(TypeError, match="callable"):
        nelloc.encode(a, progress=1)


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("threads", [1, 2])
def test_on_rows_passes_every_row_once_top_to_bottom(image, c, threads):
    a = image(70, 53, c)
    data = nelloc.encode(a, tile_size=16)
    calls: list = []
    main = threading.get_ident()

    def on_rows(start, stop, rows):
        assert threading.get_ident() == main
        calls.append((start, stop, rows.copy()))

    out = nelloc.decode(data, threads=threads, on_rows=on_rows)
    assert np.array_equal(out, a)
    # Contiguous bands (how many depends on when the workers finish their groups of
    # tiles), each already the final pixels.
    assert calls[0][0] == 0 and calls[-1][1] == a.shape[0]
    for (s0, e0, _), (s1, _, _) in zip(calls, calls[1:]):
        assert e0 == s1 and e0 > s0
    for start, stop, rows in calls:
        assert rows.shape == a[start:stop].shape
        assert np.array_equal(rows, a[start:stop])


def test_an_exception_in_on_rows_stops_the_decode(image):
    class Stop(Exception):
        pass

    def on_rows(start, stop, rows):
        raise Stop(f"{start}:{stop}")

    data = nelloc.encode(image(64, 64, 3), tile_size=16)
    with pytest.raises(Stop, match="^0:"):
        nelloc.decode(data, on_rows=on_rows)
    with pytest.raises(TypeError, match="callable"):
        nelloc.decode(data, on_rows=1)


def test_file_errors_name_the_file_with_errno(image, tmp_path):
    import errno

    a = image(8, 8, 3)
    missing = tmp_path / "missing.nlc"
    for call in (nelloc.read, nelloc.info):
        with pytest.raises(FileNotFoundError) as e:
            call(missing)
        assert (e.value.errno, e.value.filename) == (errno.ENOENT, str(missing)), call
    with pytest.raises(FileNotFoundError) as e:
        nelloc.encode(a, model_file=tmp_path / "missing.safetensors")
    assert e.value.errno == errno.ENOENT
    assert e.value.filename == str(tmp_path / "missing.safetensors")
    # A missing output directory is named, not the temporary file made in it.
    with pytest.raises(FileNotFoundError) as e:
        nelloc.write(tmp_path / "no" / "such" / "x.nlc", a)
    assert (e.value.errno, e.value.filename) == (errno.ENOENT, str(tmp_path / "no" / "such"))
    assert ".nlc-tmp" not in str(e.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda a, d: nelloc.encode(a, threads=-1),
        lambda a, d: nelloc.encode(a, tile_size=-8),
        lambda a, d: nelloc.encode(a, max_pixels=-1),
        lambda a, d: nelloc.score(a, threads=-2),
        lambda a, d: nelloc.decode(d, threads=-1),
        lambda a, d: nelloc.decode(d, max_pixels=-5),
        lambda a, d: nelloc.info(d, max_pixels=-5),
    ],
)
def test_negative_arguments_are_value_errors(image, call):
    a = image(8, 8, 3)
    with pytest.raises(ValueError, match="at least 0"):
        call(a, nelloc.encode(a))


def test_builtin_models_once_per_name_with_versions():
    models = nelloc.builtin_models()
    names = [m.name for m in models]
    assert len(names) == len(set(names)) and {"default", "fast", "gray"} <= set(names)
    for m in models:
        assert m.versions[-1] == m.sha256 and len(set(m.versions)) == len(m.versions)
    default = next(m for m in models if m.name == "default")
    assert len(default.versions) > 1
    with pytest.raises(ValueError) as e:
        nelloc.encode(np.zeros((4, 4, 3), np.uint8), model="nope")
    listed = str(e.value).split("built-in models are ")[1]
    assert sorted(listed.split(", ")) == sorted(names)


def test_new_files_get_the_umask_mode_and_replaced_ones_keep_theirs(image, tmp_path):
    import os
    import stat

    a = image(8, 8, 3)
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    out = tmp_path / "x.nlc"
    nelloc.write(out, a)
    assert mode(out) == mode(plain)
    os.chmod(out, 0o640)
    nelloc.write(out, a, tile_size=4)
    assert mode(out) == 0o640 and nelloc.info(out).tile_width == 4


def test_info_of_a_path_reads_the_header_only(image, tmp_path):
    a = image(30, 50, 3)
    data = nelloc.encode(a, tile_size=16, icc=b"profile")
    path = tmp_path / "partial.nlc"
    path.write_bytes(data[: len(data) - 40])  # still downloading
    i = nelloc.info(path)
    assert (i.width, i.height, i.tiles, i.icc) == (50, 30, 8, b"profile")
    assert i.file_size == len(data) == nelloc.info(data).file_size
    with pytest.raises(nelloc.FormatError, match="truncated"):
        nelloc.info(path.read_bytes())  # bytes are checked whole
    damaged = bytearray(data)
    damaged[-2] ^= 4
    with pytest.raises(nelloc.FormatError, match="checksum"):
        nelloc.info(bytes(damaged))
    path.write_bytes(data[:50])
    with pytest.raises(nelloc.FormatError, match="truncated"):
        nelloc.info(path)


def test_read_write_file_objects_and_metadata(image):
    import io

    a = image(12, 14, 4)
    buf = io.BytesIO()
    n = nelloc.write(buf, a, icc=b"icc", exif=b"Exif\x00\x00II*\x00", xmp=b"<x/>")
    assert n == len(buf.getvalue())
    buf.seek(0)
    assert np.array_equal(nelloc.read(buf), a)
    buf.seek(0)
    back, meta = nelloc.read(buf, with_metadata=True)
    assert np.array_equal(back, a)
    assert meta == nelloc.Metadata(icc=b"icc", exif=b"II*\x00", xmp=b"<x/>")
    again = nelloc.encode(back, **meta._asdict())
    assert again == buf.getvalue()
    _, none = nelloc.decode(nelloc.encode(a), with_metadata=True)
    assert none == (None, None, None)
    with pytest.raises(TypeError, match="file object"):
        nelloc.read(42)
