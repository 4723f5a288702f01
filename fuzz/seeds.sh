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
    if f[8] in (5, 6):
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
def embedded_cases(f):
    # gray-28x28-embedded: magic, 6, flags 0x21, 27, 27, kind 3 + 32-byte hash (13..45),
    # chunk count 1 (45), "MODL" (46..50), varint length (2 bytes: 50..52), the model.
    body = f[:-4]
    assert body[8] == 6 and body[45] == 1 and body[46:50] == b"MODL"
    n = (body[50] & 0x7F) | (body[51] << 7)
    model = body[52:52 + n]
    rest = body[52 + n:]
    def with_chunks(chunks, count):
        out = body[:45] + bytes([count])
        for c in chunks:
            ln = len(c)
            out += b"MODL" + bytes([0x80 | (ln & 0x7F), ln >> 7]) + c
        return seal(out + rest)
    flipped = model[:100] + bytes([model[100] ^ 1]) + model[101:]
    v5 = bytearray(body)
    v5[8] = 5
    v5[12] = 4
    return {
        "flipped-byte": with_chunks([flipped], 1),
        "cut-short": seal(body[:52 + n // 2]),
        "second-copy": with_chunks([model, model], 2),
        "kind4-in-v5": seal(bytes(v5)),
    }
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
# container/decode: embedded models (MODL chunks, versions 6 and 7, FORMAT.md section 12)
# broken one way at a time, CRC re-sealed (fixtures/fuzz_corpus/decode/embedded-* are
# the same cases, replayed by the workspace tests): a byte of the model changed (its hash
# then names nothing), the model cut short, a second copy, kind 4 in version 5.
emb = open(f"{fx}/golden/embedded/gray-28x28-embedded.nlc", "rb").read()
for name, b in embedded_cases(emb).items():
    for t in ("container", "decode"):
        open(f"corpus/{t}/embedded-{name}", "wb").write(b)
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
