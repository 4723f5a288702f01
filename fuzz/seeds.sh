#!/usr/bin/env bash
# Builds the seed corpora under fuzz/corpus/<target> from fixtures/ (and the findings, so
# a fuzzer starts from every known hard case). Idempotent; cargo fuzz adds to these dirs.
set -euo pipefail
cd "$(dirname "$0")"
fx=../fixtures
for t in container decode abi; do
  mkdir -p corpus/$t
  find $fx/golden -name '*.nlc' -exec cp {} corpus/$t/ \;
done
mkdir -p corpus/model corpus/structured corpus/roundtrip
cp $fx/models/*.safetensors corpus/model/
# structured: [base, tile] + a real tile stream (version 2 golden tiles bring mode bytes).
python3 - "$fx" <<'PY'
import glob, struct, sys, os
fx = sys.argv[1]
n = 0
for path in sorted(glob.glob(f"{fx}/golden/**/*.nlc", recursive=True)):
    f = open(path, "rb").read()
    if f[8] == 5:
        continue  # the compact container has no tile index (its tile is the rest)
    chunks, tiles = struct.unpack_from("<II", f, 92)
    at = 100
    for _ in range(chunks):
        at += 8 + struct.unpack_from("<I", f, at + 4)[0]
    data = f[at + 16 * tiles + 4:]
    for t in range(min(tiles, 4)):
        off, ln, _ = struct.unpack_from("<QII", f, at + 16 * t)
        open(f"corpus/structured/seed-{n:03}", "wb").write(bytes([n % 16, t]) + data[off:off + ln])
        n += 1
# container/decode: compact streams (version 5) broken one rule at a time, CRC re-sealed
# so the fuzzer starts past the checksum: reserved flag bits, bad colour/alpha, long and
# non-minimal varints, unknown model kinds and indices, chunk counts, a header cut short.
import zlib
def seal(b):
    return b + struct.pack("<I", zlib.crc32(b) & 0xFFFFFFFF)
k = 0
for path in sorted(glob.glob(f"{fx}/golden/compact/*.nlc")):
    f = open(path, "rb").read()
    if len(f) > 4096:
        continue
    body = f[:-4]
    edits = [(9, 1, b"\xe0"), (9, 1, b"\x07"), (9, 1, b"\x19"), (10, 1, b"\x80\x00"),
             (10, 1, b"\xff\xff\xff\xff\x0f"), (11, 1, b"\x80\x80\x01"),
             (12, 1, b"\x07"), (12, 1, b"\x01\xff\xff\xff\xff\x0f"), (12, 1, b"\x03")]
    for at, n, new in edits:
        for t in ("container", "decode"):
            open(f"corpus/{t}/compact-{k:03}", "wb").write(seal(body[:at] + new + body[at + n:]))
        k += 1
    for t in ("container", "decode"):
        open(f"corpus/{t}/compact-{k:03}", "wb").write(seal(body[:12]))
    k += 1
# roundtrip: [selector, w, h, tile] + samples: flat, gradient, noise, stripes.
import random
rnd = random.Random(15)
for i in range(32):
    sel, w, h, t = i, (i * 7) % 64, (i * 5 + 3) % 64, i % 8
    kind = i % 4
    if kind == 0: px = bytes([i * 8 % 256])
    elif kind == 1: px = bytes(range(256))
    elif kind == 2: px = bytes(rnd.randrange(256) for _ in range(500))
    else: px = bytes([0, 0, 0, 255, 255, 255] * 8)
    open(f"corpus/roundtrip/seed-{i:03}", "wb").write(bytes([sel, w, h, t]) + px)
PY
# Every finding so far, for its target.
for d in $fx/fuzz_findings/*/; do
  [ -d "$d" ] || continue
  t=$(basename "$d"); mkdir -p corpus/$t; cp "$d"* corpus/$t/ 2>/dev/null || true
done
