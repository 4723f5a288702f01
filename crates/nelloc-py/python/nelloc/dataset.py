"""Dataset-scale compression, verification and scoring, one image per task.

Compressing millions of images is embarrassingly parallel per image, so this module has
no scheduler of its own: ``plan`` lists the work, ``compress_chunk`` / ``verify_chunk`` /
``score_chunk`` do it (plain functions, picklable, safe to retry), and ``run`` hands
chunks to any executor with ``submit`` — a ``dask.distributed.Client`` (a laptop's
``LocalCluster`` or a real cluster), a ``concurrent.futures`` executor, or none (this
process) — keeping a bounded number in flight, with a progress report and a ``Summary``.

Outputs mirror the input tree: ``SRC/a/b.png`` becomes ``DST/a/b.png.nlc`` (the full
name is kept, so ``b.png`` and ``b.jpg`` never collide). Runs are idempotent and
resumable: an output that exists and passes ``nelloc.info``'s integrity check (header,
size, every tile's CRC; no decoding) is skipped, and any other is redone (outputs are
written atomically, so an interrupted run leaves none half-written), and a failed image is
reported in the summary without stopping the others. Paths may be local or fsspec URIs
(``s3://bucket/x``, ``gs://...``, ``memory://...``), where fsspec and its backend are
installed. docs/PYTHON.md explains running this on a cluster.

Images are read with Pillow. Modes L, LA, RGB and RGBA are coded as they are; palette
images (P, PA) are expanded to RGB(A) and bilevel (1) to L, which is exact. Other modes
(16-bit, float, CMYK) fail with ``UnsupportedError``: nothing is converted lossily.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Iterable, List, Optional, Sequence

import numpy as np

from . import (
    Error,
    UnsupportedError,
    _nelloc,
    decode,
    encode,
    score,
)

#: File name endings read as images (case-insensitive).
IMAGE_SUFFIXES = (
    ".png",
    ".tif",
    ".tiff",
    ".ppm",
    ".pgm",
    ".pnm",
    ".bmp",
    ".webp",
    ".jpg",
    ".jpeg",
)
OUTPUT_SUFFIX = ".nlc"


@dataclass(frozen=True)
class Job:
    """One image: where it is read from and where its ``.nlc`` goes."""

    src: str
    dst: str


@dataclass
class Record:
    """The outcome of one job. ``status``: ``done``, ``skipped`` (output already there),
    ``ok`` (verified or scored) or ``failed`` (``error`` says why)."""

    src: str
    dst: str
    action: str
    status: str
    bytes_in: int = 0
    bytes_out: int = 0
    samples: int = 0
    seconds: float = 0.0
    score: Optional[float] = None
    error: Optional[str] = None


def _is_uri(path: str) -> bool:
    return "://" in path


def _fs(path: str):
    """(fsspec filesystem, path inside it) for a URI."""
    import fsspec

    return fsspec.core.url_to_fs(path)


def _join(root: str, rel: str) -> str:
    return root.rstrip("/") + "/" + rel if _is_uri(root) else os.path.join(root, rel)


def _walk(root: str, suffixes: Sequence[str]) -> List[str]:
    """Paths of the images under ``root``, relative to it, with ``/`` separators."""
    suffixes = tuple(s.lower() for s in suffixes)
    if _is_uri(root):
        fs, base = _fs(root)
        base = base.rstrip("/")
        rels = [p[len(base) :].lstrip("/") for p in fs.find(base)]
        return sorted(r for r in rels if r.lower().endswith(suffixes))
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for f in sorted(filenames):
            if f.lower().endswith(suffixes):
                out.append(f if rel_dir == "." else os.path.join(rel_dir, f).replace(os.sep, "/"))
    return sorted(out)


def plan(
    source: "str | os.PathLike[str] | Iterable[str]",
    dest: "str | os.PathLike[str]",
    *,
    base: Optional[str] = None,
    suffixes: Sequence[str] = IMAGE_SUFFIXES,
) -> List[Job]:
    """The jobs for a directory tree (or URI prefix) ``source``, or for a list of image
    paths/URIs relative to ``base`` (default: the common directory of local paths),
    mirrored under ``dest``. Sorted, so that every run sees the same order."""
    dest = os.fspath(dest)
    if isinstance(source, (str, os.PathLike)):
        root = os.fspath(source)
        return [Job(_join(root, r), _join(dest, r + OUTPUT_SUFFIX)) for r in _walk(root, suffixes)]
    srcs = sorted(str(s) for s in source)
    if not srcs:
        return []
    if base is None:
        if any(_is_uri(s) for s in srcs):
            raise ValueError("a list of URIs needs base=, the prefix to mirror under dest")
        base = os.path.commonpath([os.path.dirname(os.path.abspath(s)) for s in srcs])
    jobs = []
    for s in srcs:
        key = s if _is_uri(s) else os.path.abspath(s)
        root = base if _is_uri(base) else os.path.abspath(base)
        rel = key[len(root.rstrip("/")) :].lstrip("/")
        if not key.startswith(root.rstrip("/") + "/") or not rel:
            raise ValueError(f"{s} is not under {base}")
        jobs.append(Job(s, _join(dest, rel.replace(os.sep, "/") + OUTPUT_SUFFIX)))
    return jobs


def _size(path: str) -> int:
    if _is_uri(path):
        fs, p = _fs(path)
        return fs.size(p)
    return os.path.getsize(path)


def _read(path: str) -> bytes:
    if _is_uri(path):
        fs, p = _fs(path)
        return fs.cat_file(p)
    with open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes) -> None:
    if _is_uri(path):
        # Object stores replace an object whole: a PUT is already atomic.
        fs, p = _fs(path)
        fs.pipe_file(p, data)
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    _nelloc.write_file(path, data)


def _existing(path: str) -> Optional[tuple]:
    """(bytes, samples) of a complete, undamaged output, or None. ``nelloc.info`` checks
    the header, that the file has exactly the bytes its tile index describes and every
    tile's CRC-32, without decoding pixels (a pass over the file's bytes): a truncated
    or damaged output is redone, not skipped."""
    try:
        if _is_uri(path):
            fs, p = _fs(path)
            if not fs.exists(p):
                return None
        elif not os.path.exists(path):
            return None
        data = _read(path)
        header = _nelloc.info(data)
    except (OSError, Error):
        return None
    return len(data), header["width"] * header["height"] * header["channels"]


def load_image(data: bytes):
    """(pixels, icc, exif, xmp) of an image file's bytes, read with Pillow; exact mode
    expansions only (see the module's docstring)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode == "PA":
            im = im.convert("RGBA")
        elif im.mode == "1":
            im = im.convert("L")
        if im.mode not in ("L", "LA", "RGB", "RGBA"):
            raise UnsupportedError(
                f"image mode {im.mode}: nelloc codes 8-bit L, LA, RGB and RGBA (and exact "
                "expansions of P and 1)"
            )
        xmp = im.info.get("xmp")
        if isinstance(xmp, str):
            xmp = xmp.encode("utf-8")
        exif = im.info.get("exif")
        return np.asarray(im), im.info.get("icc_profile") or None, exif or None, xmp or None


def _failed(job: Job, action: str, e: BaseException, t0: float) -> Record:
    return Record(
        job.src,
        job.dst,
        action,
        "failed",
        seconds=time.perf_counter() - t0,
        error=f"{type(e).__name__}: {e}",
    )


def compress_one(
    job: Job, *, overwrite: bool = False, verify: bool = True, **options: Any
) -> Record:
    """Compresses one image unless its output exists (``overwrite=False``); with
    ``verify``, decodes the result and compares it with the source pixels before writing
    it. ``options`` go to ``nelloc.encode`` (``threads``, ``model``, ``tile_size``...).
    Never raises for a bad image: the record says what failed."""
    t0 = time.perf_counter()
    try:
        if not overwrite:
            existing = _existing(job.dst)
            if existing is not None:
                return Record(
                    job.src,
                    job.dst,
                    "compress",
                    "skipped",
                    _size(job.src),
                    existing[0],
                    existing[1],
                    time.perf_counter() - t0,
                )
        raw = _read(job.src)
        pixels, icc, exif, xmp = load_image(raw)
        data = encode(pixels, icc=icc, exif=exif, xmp=xmp, **options)
        if verify and not np.array_equal(decode(data, threads=options.get("threads", 0)), pixels):
            raise Error("decoded pixels differ from the source: not written")
        _write(job.dst, data)
        return Record(
            job.src,
            job.dst,
            "compress",
            "done",
            len(raw),
            len(data),
            pixels.size,
            time.perf_counter() - t0,
        )
    except Exception as e:  # noqa: BLE001 - one bad image must not stop a dataset
        return _failed(job, "compress", e, t0)


def verify_one(job: Job, *, threads: int = 0) -> Record:
    """Decodes ``job.dst`` and compares it with the pixels of ``job.src``."""
    t0 = time.perf_counter()
    try:
        data = _read(job.dst)
        pixels, _, _, _ = load_image(raw := _read(job.src))
        if not np.array_equal(decode(data, threads=threads), pixels):
            raise Error("decoded pixels differ from the source")
        return Record(
            job.src,
            job.dst,
            "verify",
            "ok",
            len(raw),
            len(data),
            pixels.size,
            time.perf_counter() - t0,
        )
    except Exception as e:  # noqa: BLE001
        return _failed(job, "verify", e, t0)


def score_one(job: Job, **options: Any) -> Record:
    """Scores the source image (``nelloc.score``: bits per subpixel under the model)."""
    t0 = time.perf_counter()
    try:
        raw = _read(job.src)
        pixels, _, _, _ = load_image(raw)
        s = score(pixels, **options)
        return Record(
            job.src,
            job.dst,
            "score",
            "ok",
            len(raw),
            0,
            pixels.size,
            time.perf_counter() - t0,
            score=s,
        )
    except Exception as e:  # noqa: BLE001
        return _failed(job, "score", e, t0)


def compress_chunk(jobs: Sequence[Job], **options: Any) -> List[Record]:
    """``compress_one`` over a chunk (one task: fewer, larger tasks for the scheduler)."""
    return [compress_one(j, **options) for j in jobs]


def verify_chunk(jobs: Sequence[Job], **options: Any) -> List[Record]:
    """``verify_one`` over a chunk."""
    return [verify_one(j, **options) for j in jobs]


def score_chunk(jobs: Sequence[Job], **options: Any) -> List[Record]:
    """``score_one`` over a chunk."""
    return [score_one(j, **options) for j in jobs]


ACTIONS = {"compress": compress_chunk, "verify": verify_chunk, "score": score_chunk}


@dataclass
class Summary:
    """Totals over records. ``bytes_in``: source files; ``samples``: 8-bit samples
    (the raw size in bytes); ``bytes_out``: ``.nlc`` files (done and skipped)."""

    files: int = 0
    done: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    samples: int = 0
    seconds: float = 0.0
    failures: List[tuple] = field(default_factory=list)
    scores: List[float] = field(default_factory=list)

    def add(self, r: Record) -> None:
        self.files += 1
        setattr(self, r.status, getattr(self, r.status) + 1)
        if r.status == "failed":
            self.failures.append((r.src, r.error))
            return
        self.bytes_in += r.bytes_in
        self.bytes_out += r.bytes_out
        self.samples += r.samples
        if r.score is not None:
            self.scores.append(r.score)

    @property
    def bpsp(self) -> float:
        """Bits per subpixel of the ``.nlc`` files counted (0 when none)."""
        return 8.0 * self.bytes_out / self.samples if self.bytes_out and self.samples else 0.0

    def line(self) -> str:
        parts = [f"{self.files} files"]
        parts += [
            f"{n} {k}"
            for k, n in (
                ("done", self.done),
                ("skipped", self.skipped),
                ("ok", self.ok),
                ("failed", self.failed),
            )
            if n
        ]
        text = ", ".join(parts)
        text += f"; {self.bytes_in / 1e6:.2f} MB in, {self.samples / 1e6:.2f} MB raw"
        if self.bytes_out:
            text += f", {self.bytes_out / 1e6:.2f} MB out, {self.bpsp:.3f} bpsp"
        if self.scores:
            text += f"; mean score {sum(self.scores) / len(self.scores):.3f} bpsp"
        return text + f"; {self.seconds:.1f} s"

    def __str__(self) -> str:
        lines = [self.line()]
        lines += [f"  failed: {src}: {err}" for src, err in self.failures]
        return "\n".join(lines)


def _chunks(jobs: Sequence[Job], size: int) -> List[List[Job]]:
    return [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]


def run(
    jobs: Sequence[Job],
    action: str = "compress",
    *,
    executor: Any = None,
    chunk_size: int = 8,
    max_in_flight: Optional[int] = None,
    progress: "bool | Callable[[Summary], None]" = True,
    report: Optional[str] = None,
    **options: Any,
) -> Summary:
    """Runs ``action`` (``compress``, ``verify`` or ``score``) over ``jobs`` and returns
    the ``Summary``.

    ``executor``: a ``dask.distributed.Client``, a ``concurrent.futures`` executor, or
    ``None`` to work in this process. Jobs go out in chunks of ``chunk_size``, at most
    ``max_in_flight`` chunks at once (default: four per worker thread), so the driver
    and scheduler hold a bounded amount of state for any number of images.
    ``progress``: a line on stderr as chunks finish (``True``), or a callable given the
    running ``Summary``. ``report``: a CSV file with one row per image. ``options`` go to
    the action (e.g. ``threads``, ``model``, ``overwrite``, ``verify``).
    """
    if action not in ACTIONS:
        raise ValueError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
    fn = ACTIONS[action]
    chunks = _chunks(list(jobs), max(1, chunk_size))
    summary = Summary()
    t0 = time.perf_counter()
    last = [0.0]
    out = open(report, "w", newline="") if report else None
    writer = csv.DictWriter(out, [f.name for f in fields(Record)]) if out else None
    if writer:
        writer.writeheader()

    def take(records: List[Record]) -> None:
        for r in records:
            summary.add(r)
            if writer:
                writer.writerow(asdict(r))
        summary.seconds = time.perf_counter() - t0
        if callable(progress):
            progress(summary)
        elif progress and (time.perf_counter() - last[0] > 1.0 or summary.files == len(jobs)):
            last[0] = time.perf_counter()
            print(f"[{summary.files}/{len(jobs)}] {summary.line()}", file=sys.stderr, flush=True)

    try:
        if executor is None:
            for c in chunks:
                take(fn(c, **options))
        else:
            _run_executor(executor, action, fn, chunks, options, max_in_flight, take)
    finally:
        if out:
            out.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _run_executor(executor, action, fn, chunks, options, max_in_flight, take) -> None:
    dask = hasattr(executor, "scheduler_info")
    if dask:
        from distributed import wait

        workers = executor.scheduler_info().get("workers", {})
        threads = sum(w.get("nthreads", 1) for w in workers.values()) or 1

        def submit(c):
            # pure=False: a retried run must really check its outputs again.
            return executor.submit(fn, c, pure=False, **options)

        def first_done(pending):
            done = wait(pending, return_when="FIRST_COMPLETED").done
            return done, pending - done
    else:
        import concurrent.futures as cf

        threads = getattr(executor, "_max_workers", None) or os.cpu_count() or 1

        def submit(c):
            return executor.submit(fn, c, **options)

        def first_done(pending):
            done, rest = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            return done, rest

    limit = max_in_flight or 4 * threads
    todo = iter(chunks)
    chunk_of = {}
    for c in todo:
        chunk_of[submit(c)] = c
        if len(chunk_of) >= limit:
            break
    pending = set(chunk_of)
    while pending:
        done, pending = first_done(pending)
        pending = set(pending)
        for f in done:
            c = chunk_of.pop(f)
            try:
                records = f.result()
            except Exception as e:  # noqa: BLE001 - a lost worker fails its chunk, not the run
                records = [_failed(j, action, e, time.perf_counter()) for j in c]
            take(records)
            nxt = next(todo, None)
            if nxt is not None:
                fut = submit(nxt)
                chunk_of[fut] = nxt
                pending.add(fut)
