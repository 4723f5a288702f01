import csv
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

import nelloc
from nelloc import dataset


@pytest.fixture
def tree(tmp_path, fixtures):
    """Photos in nested folders, a palette image, a 16-bit image and a broken file."""
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    for name, where in [
        ("dune_77x53.png", "a"),
        ("wood_gray_64x64.png", "a/b"),
        ("bark_64x96.png", "."),
    ]:
        shutil.copy(fixtures / "photos" / name, src / where / name)
    Image.open(fixtures / "photos" / "dune_77x53.png").convert("P").save(src / "a" / "palette.png")
    Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 999).save(src / "deep16.png")
    (src / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (src / "notes.txt").write_text("not an image")
    return src


def test_plan_mirrors_the_tree(tree, tmp_path):
    jobs = dataset.plan(tree, tmp_path / "out")
    rel = [j.dst[len(str(tmp_path / "out")) + 1 :] for j in jobs]
    assert rel == [
        "a/b/wood_gray_64x64.png.nlc",
        "a/broken.png.nlc",
        "a/dune_77x53.png.nlc",
        "a/palette.png.nlc",
        "bark_64x96.png.nlc",
        "deep16.png.nlc",
    ]
    listed = dataset.plan([j.src for j in jobs], tmp_path / "out")
    assert listed == jobs
    with pytest.raises(ValueError, match="not under"):
        dataset.plan(
            [str(tree / "a" / "dune_77x53.png")], tmp_path / "o", base=str(tmp_path / "elsewhere")
        )


def test_compress_verify_score_resume(tree, tmp_path):
    out = tmp_path / "out"
    jobs = dataset.plan(tree, out)
    seen = []
    report = tmp_path / "report.csv"
    s = dataset.run(
        jobs, "compress", chunk_size=1, progress=seen.append, report=str(report), threads=1
    )
    assert (s.files, s.done, s.failed, s.skipped) == (6, 4, 2, 0)
    assert len(seen) == 6 and seen[-1] is s
    assert {src.rsplit("/", 1)[1] for src, _ in s.failures} == {"broken.png", "deep16.png"}
    assert any("UnsupportedError" in e and "I;16" in e for _, e in s.failures)
    assert not (out / "deep16.png.nlc").exists()
    assert 0 < s.bpsp < 8 and s.bytes_out == sum(p.stat().st_size for p in out.rglob("*.nlc"))
    rows = list(csv.DictReader(report.open()))
    assert len(rows) == 6 and {r["status"] for r in rows} == {"done", "failed"}
    for j in jobs:
        if j.src.endswith(("dune_77x53.png", "wood_gray_64x64.png", "palette.png")):
            with Image.open(j.src) as im:
                exact = np.asarray(im.convert("RGB") if im.mode == "P" else im)
            assert np.array_equal(nelloc.read(j.dst), exact), j.src
    assert str(s).count("failed:") == 2 and "bpsp" in s.line()

    # A second run does nothing but report; a lost, truncated or damaged output is
    # redone (its header alone is valid: resume checks sizes and tile CRCs).
    (out / "a" / "dune_77x53.png.nlc").unlink()
    cut = out / "a" / "b" / "wood_gray_64x64.png.nlc"
    cut.write_bytes(cut.read_bytes()[:-10])
    flipped = out / "bark_64x96.png.nlc"
    damaged = bytearray(flipped.read_bytes())
    damaged[-1] ^= 1
    flipped.write_bytes(bytes(damaged))
    # One tile, so a compact stream (version 5): its one CRC covers the whole file, so a
    # cut one is truncated even for a header-only read.
    with pytest.raises(nelloc.FormatError, match="truncated"):
        nelloc.info(cut)
    again = dataset.run(jobs, progress=False, threads=1)
    assert (again.done, again.skipped, again.failed) == (3, 1, 2)
    assert again.bytes_out == s.bytes_out and again.samples == s.samples
    assert nelloc.info(cut.read_bytes()).file_size == cut.stat().st_size

    v = dataset.run(jobs, "verify", progress=False)
    assert (v.ok, v.failed) == (4, 2)
    (out / "bark_64x96.png.nlc").write_bytes(nelloc.encode(np.zeros((96, 64, 3), np.uint8)))
    v = dataset.run(jobs, "verify", progress=False)
    assert (v.ok, v.failed) == (3, 3) and any("differ" in e for _, e in v.failures)

    sc = dataset.run(jobs, "score", progress=False, threads=1)
    assert sc.ok == 4 and len(sc.scores) == 4 and all(0 < x < 8 for x in sc.scores)


def test_thread_pool_executor_and_chunks(tree, tmp_path):
    jobs = dataset.plan(tree, tmp_path / "out")
    serial = dataset.run(jobs, progress=False, threads=1)
    with ThreadPoolExecutor(2) as ex:
        pooled = dataset.run(
            jobs,
            executor=ex,
            chunk_size=1,
            max_in_flight=2,
            progress=False,
            overwrite=True,
            threads=1,
        )
    assert (pooled.done, pooled.failed) == (4, 2)
    assert pooled.bytes_out == serial.bytes_out


def test_uris_through_fsspec(fixtures):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe("/nlc-src/x/dune.png", (fixtures / "photos" / "dune_77x53.png").read_bytes())
    fs.pipe("/nlc-src/wood.png", (fixtures / "photos" / "wood_gray_64x64.png").read_bytes())
    jobs = dataset.plan("memory://nlc-src", "memory://nlc-dst")
    assert [j.dst for j in jobs] == [
        "memory://nlc-dst/wood.png.nlc",
        "memory://nlc-dst/x/dune.png.nlc",
    ]
    s = dataset.run(jobs, progress=False, threads=1)
    assert (s.done, s.failed) == (2, 0), s.failures
    assert dataset.run(jobs, progress=False).skipped == 2
    with Image.open(fixtures / "photos" / "dune_77x53.png") as im:
        assert np.array_equal(nelloc.decode(fs.cat("/nlc-dst/x/dune.png.nlc")), np.asarray(im))
    listed = dataset.plan(["memory://nlc-src/wood.png"], "memory://d2", base="memory://nlc-src")
    assert listed[0].dst == "memory://d2/wood.png.nlc"
    with pytest.raises(ValueError, match="base="):
        dataset.plan(["memory://nlc-src/wood.png"], "memory://d2")


def test_a_lost_chunk_fails_its_images_not_the_run(tree, tmp_path, monkeypatch):
    jobs = dataset.plan(tree, tmp_path / "out")
    real = dataset.ACTIONS["compress"]

    def flaky(chunk, **options):
        if any(j.src.endswith("bark_64x96.png") for j in chunk):
            raise RuntimeError("worker lost")
        return real(chunk, **options)

    monkeypatch.setitem(dataset.ACTIONS, "compress", flaky)
    with ThreadPoolExecutor(2) as ex:
        s = dataset.run(jobs, executor=ex, chunk_size=2, progress=False, threads=1)
    assert s.files == 6
    lost = [src for src, err in s.failures if "worker lost" in err]
    assert len(lost) == 2 and any(x.endswith("bark_64x96.png") for x in lost)
