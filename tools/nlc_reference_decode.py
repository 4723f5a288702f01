#!/usr/bin/env python3
"""Independent reference decoder for the `.nlc` image format, versions 1 to 7 (tile modes,
adapted heads, the compact container).

Written from docs/FORMAT.md alone (the lookup tables of section 4 are rebuilt from their
formulas and checked against the SHA-256 given there), to check that the specification is
precise enough to reproduce every pixel bit for bit. It does not share code with the Rust
implementation. Python 3.11, numpy and Pillow only.

    python3 tools/nlc_reference_decode.py IN.nlc OUT.png --model M1.safetensors --model M2...
    python3 tools/nlc_reference_decode.py IN.nlc --check REF.png --model ...
    python3 tools/nlc_reference_decode.py --decode-only A.nlc B.nlc ... --model ...
    python3 tools/nlc_reference_decode.py --conformance fixtures/conformance/X.json --model ...

Section references (§) are to docs/FORMAT.md.
"""
import argparse
import hashlib
import json
import os
import re
import struct
import sys
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TABLES_SHA256 = "b5e04a116bd1b4ffd8ffff04fc0cda5ca5e92690774ebf940af58ec4ebb2b78c"

SIGNATURE = bytes([0x8B, 0x4E, 0x4C, 0x43, 0x0D, 0x0A, 0x1A, 0x0A])
MAX_DIM = 65535
MAX_PIXELS = 1 << 28
MAX_METADATA = 16 << 20
MAX_CHUNKS = 64
KNOWN_CHUNKS = (b"ICCP", b"EXIF", b"XMP ", b"PRVW")  # PRVW: the preview, §10
PREC = 24
ONE = 1 << PREC            # 2^24, total of the quantised CDF
SONE = 1 << 20             # 2^20, top of a component CDF


class NlcError(Exception):
    pass


# ----------------------------------------------------------------------------- tables (§4)

def _tables_from_formulas():
    import math
    sig = [round((1 << 20) * (1.0 / (1.0 + math.exp(-((i - 4096) / 256.0))))) for i in range(8193)]
    expn = [max(1, round(65536 * math.exp(-d / 256.0))) for d in range(4097)]
    inv = [round(65536 * math.exp(-(i - 768) / 256.0)) for i in range(2305)]
    tanh = [round(16384 * math.tanh((i - 2048) / 256.0)) for i in range(4097)]
    return {"SIGMOID": sig, "EXP_NEG": expn, "INV_SCALE": inv, "TANH": tanh}


def load_tables():
    """The four normative tables, built from the formulas of §4 (Python's round()) and
    checked against the SHA-256 given in §4 (no Rust source is read)."""
    names = ["SIGMOID", "EXP_NEG", "INV_SCALE", "TANH"]
    sizes = {"SIGMOID": 8193, "EXP_NEG": 4097, "INV_SCALE": 2305, "TANH": 4097}
    tabs = _tables_from_formulas()
    h = hashlib.sha256()
    for n in names:
        if len(tabs[n]) != sizes[n]:
            raise NlcError(f"table {n} has {len(tabs[n])} entries, expected {sizes[n]}")
        for v in tabs[n]:
            h.update(int(v).to_bytes(4, "little", signed=True))
    if h.hexdigest() != TABLES_SHA256:
        raise NlcError("lookup tables do not match the SHA-256 of FORMAT.md section 4")
    return {n: np.array(tabs[n], dtype=np.int64) for n in names}


# ----------------------------------------------------------------------------- models (§6, §3)

_ST_DTYPES = {"I8": np.int8, "I32": np.int32, "I64": np.int64, "U8": np.uint8}


def read_safetensors(data):
    if len(data) < 8:
        raise NlcError("model: too short")
    n = struct.unpack_from("<Q", data, 0)[0]
    if 8 + n > len(data):
        raise NlcError("model: header past end of file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        dt = _ST_DTYPES.get(info["dtype"])
        if dt is None:
            raise NlcError(f"model: tensor {name} has unsupported dtype {info['dtype']}")
        a, b = info["data_offsets"]
        shape = tuple(info["shape"])
        arr = np.frombuffer(data[base + a:base + b], dtype=np.dtype(dt).newbyteorder("<"))
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise NlcError(f"model: tensor {name} size does not match its shape")
        tensors[name] = arr.reshape(shape)
    return meta, tensors


class Layer:
    def __init__(self, tensors, name, n_in, n_out):
        w = tensors.get(name + ".weight")
        if w is None or w.dtype != np.int8 or w.shape != (n_out, n_in):
            raise NlcError(f"model: {name}.weight must be I8 [{n_out}, {n_in}]")
        if w.min() < -64 or w.max() > 63:
            raise NlcError(f"model: {name}.weight outside [-64, 63]")
        vec = {}
        for part in ("bias", "mult", "shift"):
            t = tensors.get(f"{name}.{part}")
            if t is None or t.dtype != np.int32 or t.shape != (n_out,):
                raise NlcError(f"model: {name}.{part} must be I32 [{n_out}]")
            vec[part] = t.astype(np.int64)
        if np.abs(vec["bias"]).max() > (1 << 24):
            raise NlcError(f"model: {name}.bias out of range")
        if vec["mult"].min() < 0:
            raise NlcError(f"model: {name}.mult out of range")
        if vec["shift"].min() < 1 or vec["shift"].max() > 62:
            raise NlcError(f"model: {name}.shift out of range")
        # float64 matmul is exact here: every product and partial sum is an integer well
        # below 2^53 (|acc| <= 1024*255*64 + 2^24), so the order of additions is irrelevant.
        self.wt = w.astype(np.float64).T.copy()          # [in, out]
        self.bias = vec["bias"]
        self.mult = vec["mult"]
        self.shift = vec["shift"]
        self.round = np.left_shift(np.int64(1), self.shift - 1)

    def rq(self, x):
        """x: [N, in] int64 -> rq(acc) [N, out] int64 (§3 'Layer')."""
        acc = (x.astype(np.float64) @ self.wt).astype(np.int64) + self.bias
        return (acc * self.mult + self.round) >> self.shift


ARCH_FIELDS = ("horizon", "channels", "width", "res_blocks", "mixtures", "output_frac_bits")
ARCH_RANGES = {"horizon": (1, 7), "channels": (1, 3), "width": (1, 1024), "res_blocks": (0, 16),
               "mixtures": (1, 32), "output_frac_bits": (8, 8)}
# §4 "Mean base": predictor name -> horizon it needs
PREDICTORS = {"W": 1, "N": 1, "NE": 1, "NW": 1, "avg_W_N": 1, "avg_W_NE": 1,
              "med_W_N_NW": 1, "grad_W_N_NW": 1, "lin_W_WW": 2, "lin_N_NN": 2}


def _no_duplicate_keys(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise NlcError(f"duplicate field {k!r}")
        d[k] = v
    return d


def parse_arch(text):
    """§6: nelloc.arch must have exactly the six fields plus, optionally, mean_base.
    Returns (H, C, W, R, K, mean_base) with mean_base None (absolute) or a list of names."""
    try:
        arch = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as e:
        raise NlcError(f"nelloc.arch is not valid JSON: {e}")
    if not isinstance(arch, dict):
        raise NlcError("nelloc.arch is not a JSON object")
    unknown = sorted(set(arch) - set(ARCH_FIELDS) - {"mean_base"})
    if unknown:
        raise NlcError(f"nelloc.arch has unknown field(s) {unknown}")
    for f in ARCH_FIELDS:
        if f not in arch:
            raise NlcError(f"nelloc.arch lacks {f!r}")
        v = arch[f]
        lo, hi = ARCH_RANGES[f]
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi \
                or (f == "channels" and v not in (1, 3)):
            raise NlcError(f"nelloc.arch: {f} = {v!r} not allowed")
    H, K = arch["horizon"], arch["mixtures"]
    mb = arch.get("mean_base", "absolute")
    if mb == "absolute":
        mb = None
    elif isinstance(mb, list):
        if len(mb) != K:
            raise NlcError(f"mean_base lists {len(mb)} predictors, mixtures = {K}")
        for name in mb:
            if not isinstance(name, str) or name not in PREDICTORS:
                raise NlcError(f"mean_base: unknown predictor {name!r}")
            if PREDICTORS[name] > H:
                raise NlcError(f"mean_base: {name} needs horizon {PREDICTORS[name]}, model has {H}")
    else:
        raise NlcError(f"mean_base must be \"absolute\" or a list of predictor names, not {mb!r}")
    return H, arch["channels"], arch["width"], arch["res_blocks"], K, mb


def predictor(name, nb):
    """§4 predictor table, on Q8 neighbour arrays."""
    Wn, Nn = nb["W"], nb["N"]
    if name in ("W", "N", "NE", "NW"):
        return nb[name]
    if name == "avg_W_N":
        return (Wn + Nn) >> 1
    if name == "avg_W_NE":
        return (Wn + nb["NE"]) >> 1
    if name == "med_W_N_NW":
        NW = nb["NW"]
        lo, hi = np.minimum(Wn, Nn), np.maximum(Wn, Nn)
        return np.where(NW >= hi, lo, np.where(NW <= lo, hi, Wn + Nn - NW))
    if name == "grad_W_N_NW":
        return np.clip(Wn + Nn - nb["NW"], 0, 65280)
    if name == "lin_W_WW":
        return np.clip(2 * Wn - nb["WW"], 0, 65280)
    if name == "lin_N_NN":
        return np.clip(2 * Nn - nb["NN"], 0, 65280)
    raise NlcError(f"unknown predictor {name!r}")


class Model:
    """A model file (§6). An invalid model keeps its hash and the reason in .invalid, so that
    only a stream that needs it fails (§6: 'a stream needing it cannot be decoded')."""

    def __init__(self, path, data=None):
        if data is None:
            data = open(path, "rb").read()
        self.path = path
        self.sha256 = hashlib.sha256(data).digest()
        self.invalid = None
        try:
            self._load(data)
        except NlcError as e:
            self.invalid = str(e)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            self.invalid = f"unreadable: {e!r}"

    def _load(self, data):
        meta, t = read_safetensors(data)
        if meta.get("nelloc.format") != "nelloc-model" or meta.get("nelloc.version") != "1":
            raise NlcError("not a nelloc model version 1")
        if "nelloc.arch" not in meta:
            raise NlcError("no nelloc.arch metadata")
        self.name = meta.get("nelloc.name", "?")
        H, C, W, R, K, mb = parse_arch(meta["nelloc.arch"])
        self.H, self.C, self.W, self.R, self.K = H, C, W, R, K
        self.mean_base = mb
        self.n_pos = H * (2 * H + 1) + H
        self.Q = C * (C - 1) // 2
        self.n_out = K * (1 + 2 * C + self.Q)
        self.conv_in = Layer(t, "conv_in", self.n_pos * C, W)
        self.res = [[Layer(t, f"res{b}_{k}", W, W) for k in range(3)] for b in range(R)]
        self.hidden = Layer(t, "hidden", W, W)
        self.out = Layer(t, "out", W, self.n_out)
        # input position p of the context (§3 'Input') of each neighbour of §4
        def pos(dy, dx):
            if dy < 0:
                return (dy + H) * (2 * H + 1) + (dx + H)
            return H * (2 * H + 1) + (dx + H)
        self.nb_pos = {"W": pos(0, -1), "N": pos(-1, 0), "NW": pos(-1, -1), "NE": pos(-1, 1)}
        if H >= 2:
            self.nb_pos.update(WW=pos(0, -2), NN=pos(-2, 0))

    def bases(self, X):
        """X: [B, n_pos*C] network inputs -> (b, ref), each int64 [B, C, K] in Q8 (§4 'Mean
        base'). A context element v is 2*x-255 inside the tile and 0 outside, so the
        neighbour in Q8 is 128*(v+255): 256*x inside, 32640 outside, as §4 requires."""
        B, C, K = X.shape[0], self.C, self.K
        if self.mean_base is None:
            return np.zeros((B, C, K), np.int64), np.full((B, C, K), 32640, np.int64)
        Xr = X.reshape(B, self.n_pos, C)
        nb = {k: 128 * (Xr[:, p, :] + 255) for k, p in self.nb_pos.items()}   # [B, C]
        out = np.empty((B, C, K), np.int64)
        for k, name in enumerate(self.mean_base):
            out[:, :, k] = predictor(name, nb)
        return out, out

    def forward(self, x):
        """x: [N, n_pos*C] int64 network inputs (2*v-255 or 0) -> head o [N, n_out] int64."""
        a = np.clip(self.conv_in.rq(x), 0, 255)
        for l0, l1, l2 in self.res:
            h = np.clip(l0.rq(a), 0, 255)
            h = np.clip(l1.rq(h), 0, 255)
            r = np.clip(l2.rq(h), -255, 255)
            a = np.clip(a + r, 0, 255)
        a = np.clip(self.hidden.rq(a), 0, 255)
        return np.clip(self.out.rq(a), -(1 << 23), 1 << 23)


# ----------------------------------------------------------------------------- mixture (§4)

class Mixture:
    def __init__(self, tables):
        self.SIG = tables["SIGMOID"]
        self.EXPN = tables["EXP_NEG"]
        self.INV = tables["INV_SCALE"]
        self.TANH = tables["TANH"]
        self.bins = np.arange(257, dtype=np.int64)
        self.lower = 256 * self.bins - 128          # 256*x - 128

    def pixel_params(self, o, K, C, base):
        """o: head [n_out]; base: b[c][k] [C, K] (§4 'Mean base')."""
        Q = C * (C - 1) // 2
        l = np.clip(o[:K], -8192, 8192)
        m = l.max()
        w = self.EXPN[np.minimum(m - l, 4096)]
        mu = np.clip(base + o[K:K + C * K].reshape(C, K), -65536, 131072)
        inv = self.INV[np.clip(o[K + C * K:K + 2 * C * K].reshape(C, K), -768, 1536) + 768]
        a = self.TANH[np.clip(o[K + 2 * C * K:K + 2 * C * K + Q * K].reshape(Q, K), -2048, 2048) + 2048] \
            if Q else None
        return w, mu, inv, a

    def coupled_means(self, mu_c, a, ref, c, xs_prev):
        """m_k of §4 for channel c; ref: ref[c'][k] [C, K] (32640 everywhere for absolute
        means, where this equals the first release's (sum a*(2x-255) + 64) >> 7)."""
        if c == 0:
            return mu_c
        tot = np.zeros_like(mu_c)
        for cp in range(c):
            q = c * (c - 1) // 2 + cp
            tot = tot + a[q] * (256 * xs_prev[cp] - ref[cp])
        return np.clip(mu_c + ((tot + (1 << 13)) >> 14), -65536, 131072)

    def channel_cdf(self, w, mu_c, inv_c, a, ref, c, xs_prev):
        """Component CDFs S [K, 257] and the quantised cumulative F [257] for channel c."""
        mk = self.coupled_means(mu_c, a, ref, c, xs_prev)
        d = self.lower[None, :] - mk[:, None]
        z = (d * inv_c[:, None] + (1 << 15)) >> 16
        S = self.SIG[np.clip(z, -4096, 4096) + 4096]
        S[:, 0] = 0
        S[:, 256] = SONE
        T = int(w.sum()) * SONE
        R = (((ONE - 256) << 32) // T)
        num = w @ S                                   # <= T < 2^41, int64
        F = ((num * R) >> 32) + self.bins             # num*R <= (2^24-256)*2^32 < 2^63
        F[256] = ONE
        return S, F


# ----------------------------------------------------------------------------- ANS (§5)

class AnsDecoder:
    def __init__(self, data):
        if len(data) % 4:
            raise NlcError("tile stream length is not a multiple of 4")
        n = len(data) // 4
        self.words = list(struct.unpack(f"<{n}I", data)) if n else []
        if n == 0:
            self.s, self.pos = 0, 0
        else:
            if self.words[n - 1] == 0:
                raise NlcError("corrupt stream: last word is zero")
            self.s, self.pos = self.words[n - 1], n - 1
            while self.pos > 0 and self.s < (1 << 32):
                self.s = (self.s << 32) | self.words[self.pos - 1]
                self.pos -= 1

    def pop(self, F):
        q = self.s & (ONE - 1)
        x = int(np.searchsorted(F, q, side="right")) - 1
        left = int(F[x])
        freq = int(F[x + 1]) - left
        self.s = (self.s >> PREC) * freq + (q - left)
        if self.s < (1 << 32) and self.pos > 0:
            self.s = (self.s << 32) | self.words[self.pos - 1]
            self.pos -= 1
        return x

    def final_ok(self):
        return self.s == 0 and self.pos == 0


def ans_encode(intervals):
    """§5 'Encoding': push (left, freq) in reverse order; returns the u32 word list."""
    s, words = 0, []
    for left, freq in reversed(intervals):
        if (s >> 40) >= freq:
            words.append(s & 0xFFFFFFFF)
            s >>= 32
        s = ((s // freq) << PREC) | (left + s % freq)
    if s:
        words.append(s & 0xFFFFFFFF)
        if s >> 32:
            words.append(s >> 32)
    return words


# ----------------------------------------------------------------------------- container (§1, §7)

class Container:
    pass


def parse_adpt(data):
    """§9: an ADPT chunk -> (plane group, offsets D as an int64 array)."""
    if len(data) < 4:
        raise NlcError("ADPT chunk: shorter than 4 bytes")
    g, shift = data[0], data[1]
    count = struct.unpack_from("<H", data, 2)[0]
    if g > 1:
        raise NlcError(f"ADPT chunk: plane group {g}")
    if shift > 8:
        raise NlcError(f"ADPT chunk: shift {shift}")
    if not 1 <= count <= 320:
        raise NlcError(f"ADPT chunk: {count} values")
    pos, vals = 4, []
    for n in range(count):
        z, k = 0, 0
        while True:
            if pos >= len(data):
                raise NlcError(f"ADPT chunk: value {n} is cut off")
            b = data[pos]
            pos += 1
            z |= (b & 0x7F) << (7 * k)
            k += 1
            if not b & 0x80:
                break
            if k == 3:
                raise NlcError(f"ADPT chunk: value {n} is longer than 3 bytes")
        q = (z >> 1) ^ -(z & 1)
        v = q * (1 << shift)
        if abs(v) > 65536:
            raise NlcError(f"ADPT chunk: value {n} is {v}, above 65536")
        vals.append(v)
    if pos != len(data):
        raise NlcError("ADPT chunk: bytes after the last value")
    return g, np.array(vals, dtype=np.int64)


# §11: SHA-256 of the built-in model of each index (append-only)
BUILTIN_HASHES = [bytes.fromhex(h) for h in (
    "de37adb2de6773521e647cd1f00c5cccab71244dcb7bdf78ea3b31cacc6c569a",  # 0 default-v1
    "8553130f59bdf39d048ab59a0ad92c2ebf3d25696a4ed5c7c07e7b9ea29c3d55",  # 1 gray-v1
    "823ac78df1461f3c32104bcf6354c3e5b59b90f9bb4d385cc8c65800cb5d0be1",  # 2 default-v2
    "6c8a22253c4085784daabebd6a9173a3f50c63c668a12274f6b9ce158296a3c0",  # 3 fast-v1
    "3a725400471dabdcf1c06595cedb576dbb3382377f60fca713742500c4dc4d34",  # 4 gray-v2
    "ab8b4b51560023914e61e4fb6851a62522c1e04b23875d7fd0f8c794c0963f70",  # 5 fast-v2
    "708739afafd58b1ea748a7ab463519029f8175533b7723da2fb6410cd0a1aaaa",  # 6 gray-v3
    "c9504b977b77b446d600807a5075415afa4797215bbd5447f765e80472a5af86",  # 7 default-v3
    "0a68622d507f98800c4dde4141b401f6e2d7be1eadf91397b735ddb5f5c58c19",  # 8 default-v4
    "e04a2f6d95d381867bb8f4a668de91836abcd7b217adeb29afb39a8aa70d5fe8",  # 9 default-v5
    "2661e807e5da7ed9e5356998dc57d6c3d4e4fb21bede802ed9804663d792ccf0",  # 10 default-v6
    "4e6a3834b3ca26eb1ba7e8587cbbfd9a25f6b23ea33d8e40b7661f7fd8750d4e",  # 11 default-v7
)]


MAX_MODEL = 64 << 20  # §7: the default limit on one embedded model file


def parse_modl(c, chunks):
    """§12: in versions 6 and 7 each MODL chunk is a model file the header names (by its
    full hash or a prefix of it), each one distinct; before, an unknown tag, skipped."""
    if c.version < 6:
        return []
    out = []
    for tag, data in chunks:
        if tag != b"MODL":
            continue
        if len(data) > MAX_MODEL:
            raise NlcError(f"limit: embedded model of {len(data)} bytes above {MAX_MODEL}")
        h = hashlib.sha256(data).digest()
        if any(m.sha256 == h for m in out):
            raise NlcError(f"MODL chunk: a second copy of model {h.hex()}")
        refs = [c.color_model] + ([c.alpha_model] if c.alpha_mode == 2 else [])
        if not any(r != bytes(32) and h.startswith(r) for r in refs):
            raise NlcError(f"MODL chunk: model {h.hex()} is not named by the header")
        out.append(Model(f"<embedded {h.hex()[:16]}>", bytes(data)))
    return out


def parse_compact(buf):
    """§11: the compact container (version 5). Model references become a 32-byte hash
    (all zero: none) or an 8-byte prefix, resolved when decoding."""
    n = len(buf)
    if n < 14:
        raise NlcError(f"truncated: a compact stream needs at least 14 bytes, only {n}")
    end = n - 4
    crc = struct.unpack_from("<I", buf, end)[0]
    if zlib.crc32(buf[:end]) & 0xFFFFFFFF != crc:
        raise NlcError("file CRC mismatch (damaged or truncated)")
    pos = 9

    def byte(what):
        nonlocal pos
        if pos >= end:
            raise NlcError(f"truncated: {what}")
        pos += 1
        return buf[pos - 1]

    def take(k, what):
        nonlocal pos
        if pos + k > end:
            raise NlcError(f"truncated: {what}")
        pos += k
        return bytes(buf[pos - k:pos])

    def varint(what, most):
        v = 0
        for i in range(5):
            b = byte(what)
            v |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if b == 0 and i > 0:
                    raise NlcError(f"{what}: varint not minimal")
                if v > most:
                    raise NlcError(f"{what}: {v} above {most}")
                return v
        raise NlcError(f"{what}: varint longer than 5 bytes")

    def model_ref(what):
        kind = byte(what)
        if kind == 4 and version == 6:
            return take(4, what)  # §12: a 4-byte hash prefix
        if kind == 0:
            return bytes(32)
        if kind == 1:
            i = varint(what, 2**32 - 1)
            if i >= len(BUILTIN_HASHES):
                raise NlcError(f"{what}: unknown built-in model index {i}")
            return BUILTIN_HASHES[i]
        if kind == 2:
            return take(8, what)
        if kind == 3:
            h = take(32, what)
            if h == bytes(32):
                raise NlcError(f"{what}: all-zero hash in a kind-3 reference")
            return h
        raise NlcError(f"{what}: unknown model reference kind {kind}")

    version = buf[8]
    c = Container()
    c.version = version
    flags = byte("flags")
    if flags & 0xC0:
        raise NlcError(f"flags {flags:#04x}: reserved bits set")
    c.color_type, c.alpha_mode = flags & 7, (flags >> 3) & 3
    if c.color_type not in (1, 2, 3, 4):
        raise NlcError(f"bad colour type {c.color_type}")
    has_alpha = c.color_type in (2, 4)
    if c.alpha_mode not in (0, 1, 2) or (c.alpha_mode == 0) == has_alpha:
        raise NlcError(f"bad alpha mode {c.alpha_mode} for colour type {c.color_type}")
    c.alpha_value = byte("alpha_value") if c.alpha_mode == 1 else 0
    c.width = varint("width", 16383) + 1
    c.height = varint("height", 16383) + 1
    if c.width > MAX_DIM or c.height > MAX_DIM:
        raise NlcError(f"limit: {c.width}x{c.height} above {MAX_DIM} per side")
    if c.width * c.height > MAX_PIXELS:
        raise NlcError(f"limit: {c.width * c.height} pixels above {MAX_PIXELS}")
    c.tile_width, c.tile_height = c.width, c.height
    c.color_model = model_ref("colour model")
    c.alpha_model = model_ref("alpha model") if c.alpha_mode == 2 else bytes(32)
    chunks = []
    if flags & 0x20:
        count = varint("chunk_count", MAX_CHUNKS)
        if count == 0:
            raise NlcError("chunk_count 0 with the has-chunks flag")
        for _ in range(count):
            tag = take(4, "chunk tag")
            length = varint("chunk length", 2**32 - 1)
            chunks.append((tag, take(length, "chunk data")))
    c.chunk_count = len(chunks)
    seen = set()
    for tag, _ in chunks:
        if tag in KNOWN_CHUNKS:
            if tag in seen:
                raise NlcError(f"duplicate chunk {tag!r}")
            seen.add(tag)
    if sum(len(d) for t, d in chunks if t in KNOWN_CHUNKS) > MAX_METADATA:
        raise NlcError("limit: metadata above 16 MiB")
    c.chunks = [(t, d) for t, d in chunks if t in KNOWN_CHUNKS]
    c.embedded = parse_modl(c, chunks)
    c.heads = {}
    for tag, data in chunks:
        if tag == b"ADPT":
            g, D = parse_adpt(data)
            if g in c.heads:
                raise NlcError(f"ADPT chunk: a second one for plane group {g}")
            if g == 1 and c.alpha_mode != 2:
                raise NlcError("ADPT chunk: for the alpha group, but alpha is not coded")
            c.heads[g] = D
    if pos >= end:
        raise NlcError("tile 0: a compact stream has no tile bytes (no mode byte)")
    # one tile from here to the CRC; the file CRC covered it (no tile CRC of its own)
    c.tiles_x, c.tiles_y, c.tile_count = 1, 1, 1
    c.tiles = [(pos, end - pos, zlib.crc32(buf[pos:end]) & 0xFFFFFFFF)]
    c.buf = buf
    return c


def parse_container(buf):
    n = len(buf)
    # 1. signature. FORMAT.md: "a reader that finds NLC at bytes 1..4 with damaged
    #    surroundings reports a damaged transfer". The Rust decoder does so only when byte 0
    #    is 8B or 0B (high bit stripped), and calls an input shorter than 8 bytes that is a
    #    prefix of the signature "truncated".
    if n < 8 and buf == SIGNATURE[:n]:
        raise NlcError(f"truncated: signature needs 8 bytes, only {n} available")
    if buf[:8] != SIGNATURE:
        if n >= 4 and buf[1:4] == b"NLC" and buf[0] in (0x8B, 0x0B):
            raise NlcError("damaged transfer: NLC signature with damaged surroundings")
        raise NlcError("not an .nlc file (bad signature)")
    # 2. the fixed header must be complete before the version is looked at (Rust order;
    #    FORMAT.md puts the version check before any truncation check)
    if n > 8 and buf[8] in (5, 6):
        return parse_compact(buf)
    if n > 8 and buf[8] > 7:
        raise NlcError(f"unsupported version {buf[8]} (newer)")
    if n < 100:
        raise NlcError(f"truncated: fixed header needs 92 bytes after the signature, only {n - 8} available")
    if buf[8] not in (1, 2, 3, 4, 7):
        raise NlcError(f"unsupported version {buf[8]}")
    # 3. structural lengths against the input length
    c = Container()
    c.version = buf[8]
    c.color_type, c.alpha_mode, c.alpha_value = buf[9], buf[10], buf[11]
    c.width, c.height, c.tile_width, c.tile_height = struct.unpack_from("<4I", buf, 12)
    c.color_model = bytes(buf[28:60])
    c.alpha_model = bytes(buf[60:92])
    c.chunk_count, c.tile_count = struct.unpack_from("<2I", buf, 92)
    # chunk_count is bounded before it is used to walk the header (the Rust decoder
    # reports this before the header CRC; FORMAT.md does not place this check)
    if c.chunk_count > MAX_CHUNKS:
        raise NlcError(f"chunk_count {c.chunk_count} above {MAX_CHUNKS}")
    pos = 100
    chunks = []
    for _ in range(c.chunk_count):
        if pos + 8 > n:
            raise NlcError("truncated: chunk header")
        tag = bytes(buf[pos:pos + 4])
        length = struct.unpack_from("<I", buf, pos + 4)[0]
        pos += 8
        if pos + length > n:
            raise NlcError("truncated: chunk data")
        chunks.append((tag, bytes(buf[pos:pos + length])))
        pos += length
    index_pos = pos
    if pos + 16 * c.tile_count + 4 > n:
        raise NlcError("truncated: tile index / header CRC")
    pos += 16 * c.tile_count
    # 4. header CRC
    crc = struct.unpack_from("<I", buf, pos)[0]
    if zlib.crc32(buf[:pos]) & 0xFFFFFFFF != crc:
        raise NlcError("header CRC mismatch")
    data_start = pos + 4
    # 5. field values, in the order the Rust decoder reports them (FORMAT.md lists
    #    "colour type, alpha mode, zero sizes, limits, tile_count"; see the report)
    if c.color_type not in (1, 2, 3, 4):
        raise NlcError(f"bad colour type {c.color_type}")
    if c.width == 0 or c.height == 0:
        raise NlcError("zero width/height")
    if c.tile_width == 0 or c.tile_height == 0:
        raise NlcError("zero tile width/height")
    if c.tile_width > 16384 or c.tile_height > 16384:
        raise NlcError(f"tile {c.tile_width}x{c.tile_height} above 16384 per side")
    if c.width > MAX_DIM or c.height > MAX_DIM:
        raise NlcError(f"limit: {c.width}x{c.height} above {MAX_DIM} per side")
    if c.width * c.height > MAX_PIXELS:
        raise NlcError(f"limit: {c.width * c.height} pixels above {MAX_PIXELS}")
    has_alpha = c.color_type in (2, 4)
    if c.alpha_mode not in (0, 1, 2) or (c.alpha_mode == 0) == has_alpha \
            or (c.alpha_mode != 1 and c.alpha_value != 0):
        raise NlcError(f"bad alpha mode {c.alpha_mode} / alpha value {c.alpha_value} "
                       f"for colour type {c.color_type}")
    if c.alpha_mode != 2 and c.alpha_model != bytes(32):
        raise NlcError("alpha_model must be zero unless alpha_mode = 2")
    c.tiles_x = -(-c.width // c.tile_width)
    c.tiles_y = -(-c.height // c.tile_height)
    if c.tile_count != c.tiles_x * c.tiles_y:
        raise NlcError("tile_count does not match the tile grid")
    seen = set()
    for tag, _ in chunks:
        if tag in KNOWN_CHUNKS:
            if tag in seen:
                raise NlcError(f"duplicate chunk {tag!r}")
            seen.add(tag)
    # the metadata limit counts the known chunks only (unknown ones are skipped, not kept)
    if sum(len(d) for t, d in chunks if t in KNOWN_CHUNKS) > MAX_METADATA:
        raise NlcError("limit: metadata above 16 MiB")
    c.chunks = [(t, d) for t, d in chunks if t in KNOWN_CHUNKS]
    c.embedded = parse_modl(c, chunks)
    # §9: in version 4, ADPT chunks are adapted heads (before, an unknown tag, skipped)
    c.heads = {}
    if c.version >= 4:
        for tag, data in chunks:
            if tag == b"ADPT":
                g, D = parse_adpt(data)
                if g in c.heads:
                    raise NlcError(f"ADPT chunk: a second one for plane group {g}")
                if g == 1 and c.alpha_mode != 2:
                    raise NlcError("ADPT chunk: for the alpha group, but alpha is not coded")
                c.heads[g] = D
    # 6. tile index bounds and contiguity (and the multiple-of-4 length, entry by entry)
    tiles = []
    expect = 0
    for t in range(c.tile_count):
        off, length, tcrc = struct.unpack_from("<QII", buf, index_pos + 16 * t)
        if off != expect:
            raise NlcError(f"tile {t}: offset {off} not contiguous (expected {expect})")
        if data_start + off + length > n:
            raise NlcError(f"truncated: tile {t} ends past the end of the file")
        if c.version == 1 and length % 4:
            raise NlcError(f"tile {t}: length {length} not a multiple of 4")
        if c.version >= 2 and length == 0:
            raise NlcError(f"tile {t}: a version-{c.version} tile needs its mode byte(s)")
        tiles.append((data_start + off, length, tcrc))
        expect += length
    # 7. trailing bytes
    if data_start + expect != n:
        raise NlcError("trailing bytes after the tile data")
    c.tiles = tiles
    c.buf = buf
    return c


# ----------------------------------------------------------------------------- decoding (§2)

def wavefront_steps(w, h, H):
    """For a w x h tile: list over t of [(i, j), ...] with row i ascending."""
    steps = []
    for t in range((H + 1) * (h - 1) + (w - 1) + 1):
        px = []
        for i in range(h):
            j = t - (H + 1) * i
            if 0 <= j < w:
                px.append((i, j))
        steps.append(px)
    return steps


def decode_group(model, mix, tiles_geom, decoders, C, out_planes, head=None):
    """Decodes one plane group of every tile. tiles_geom: list of (x0, y0, w, h);
    out_planes: uint8 array [height, width, C] written in place; head: the group's
    adapted-head offsets (§9) or None."""
    H, K = model.H, model.K
    # per tile, the network-scale values padded by H zeros on top, left and right
    pads = [np.zeros((h + H, w + 2 * H, C), dtype=np.int64) for (_, _, w, h) in tiles_geom]
    steps = [wavefront_steps(w, h, H) for (_, _, w, h) in tiles_geom]
    n_steps = max(len(s) for s in steps)
    for t in range(n_steps):
        batch = []
        for ti, st in enumerate(steps):
            if t < len(st):
                for (i, j) in st[t]:
                    batch.append((ti, i, j))
        if not batch:
            continue
        X = np.empty((len(batch), model.n_pos * C), dtype=np.int64)
        for b, (ti, i, j) in enumerate(batch):
            P = pads[ti]
            above = P[i:i + H, j:j + 2 * H + 1, :].reshape(-1)      # dy=-H..-1, dx=-H..H
            left = P[i + H, j:j + H, :].reshape(-1)                # dy=0, dx=-H..-1
            X[b, :above.size] = above
            X[b, above.size:] = left
        O = model.forward(X)
        if head is not None:
            O = O + head[None, :]                              # §9: o' = o + D
        base, ref = model.bases(X)
        for b, (ti, i, j) in enumerate(batch):
            w_, mu, inv, a = mix.pixel_params(O[b], K, C, base[b])
            dec = decoders[ti]
            xs = []
            for c in range(C):
                S, F = mix.channel_cdf(w_, mu[c], inv[c], a, ref[b], c, xs)
                x = dec.pop(F)
                xs.append(x)
                if c + 1 < C:
                    p = w_ * np.maximum(S[:, x + 1] - S[:, x], 1)
                    sh = max(0, int(p.max()).bit_length() - 17)
                    w_ = np.maximum(p >> sh, 1)
            x0, y0, _, _ = tiles_geom[ti]
            out_planes[y0 + i, x0 + j, :] = xs
            pads[ti][i + H, j + H, :] = [2 * v - 255 for v in xs]


# ----------------------------------------------------------------------------- tile modes (§8)

MODE_NAMES = {0: "neural", 1: "constant", 2: "png", 3: "palette", 4: "gray", 5: "context"}


def parse_tile_v2(t, data, group_channels, version):
    """§8 tile layout: returns ([(mode, payload), ...] per plane group, ans_bytes)."""
    pos = 0
    n = len(group_channels)

    def take(k, what):
        nonlocal pos
        if pos + k > len(data):
            raise NlcError(f"tile {t}: ends inside {what}")
        pos += k
        return bytes(data[pos - k:pos])

    def take_sized(what_len, what):
        """A u32 length, then that many bytes."""
        return take(struct.unpack("<I", take(4, what_len))[0], what)

    def take_palette(per):
        """The byte n - 1, then n entries of `per` bytes: (n, entries)."""
        count = take(1, "a palette size")[0] + 1
        return count, take(count * per, "its palette")

    modes = list(take(n, "its mode bytes"))
    groups = []
    for g, (m, C) in enumerate(zip(modes, group_channels)):
        if m not in MODE_NAMES or (m == 5 and version < 3):
            raise NlcError(f"tile {t}: unknown mode {m} for plane group {g}")
        if m == 0:
            groups.append((0, None))
        elif m == 1:
            groups.append((1, take(C, "a constant value")))
        elif m in (2, 4):
            groups.append((m, take_sized("a deflate length", "its deflate data")))
        elif m == 5:
            flags = take(1, "context flags")[0]
            grey, direct = bool(flags & 1), bool(flags & 2)
            if flags > 3 or (grey and C == 1):
                raise NlcError(f"tile {t}: context flags {flags} invalid for {C} channel(s)")
            P = 1 if grey else C
            entries = None if direct else take_palette(P)[1]
            stream = take_sized("a context stream length", "its context stream")
            groups.append((5, (grey, direct, P, entries, stream)))
        else:
            count, entries = take_palette(C)
            groups.append((3, (count, entries, take_sized("a deflate length", "its deflate data"))))
    ans = bytes(data[pos:])
    if len(ans) % 4:
        raise NlcError(f"tile {t}: neural stream length not a multiple of 4")
    if ans and not any(m == 0 for m, _ in groups):
        raise NlcError(f"tile {t}: bytes after the payloads and no neural plane group")
    return groups, ans


def inflate_exact(t, z, expected):
    """A complete zlib stream (RFC 1950) inflating to exactly `expected` bytes, nothing after it."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(z, expected + 1)   # bounded: never more than the tile needs + 1
    except zlib.error as e:
        raise NlcError(f"tile {t}: invalid deflate data ({e})")
    if len(out) > expected:
        raise NlcError(f"tile {t}: deflate data inflates to more than the tile")
    if not d.eof:
        raise NlcError(f"tile {t}: deflate data is truncated or inflates to less than the tile")
    if d.unused_data or d.unconsumed_tail:
        raise NlcError(f"tile {t}: bytes after the end of the deflate data")
    if len(out) != expected:
        raise NlcError(f"tile {t}: deflate data inflates to less than the tile")
    return out


def png_unfilter(t, data, row_bytes, h, bpp):
    """PNG filter types 0-4 reversed (each row: filter byte, then row_bytes bytes); bytes out."""
    out = bytearray(row_bytes * h)
    prev = bytearray(row_bytes)
    for y in range(h):
        ft = data[y * (row_bytes + 1)]
        f = data[y * (row_bytes + 1) + 1:(y + 1) * (row_bytes + 1)]
        cur = bytearray(row_bytes)
        for i in range(row_bytes):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 0:
                p = 0
            elif ft == 1:
                p = a
            elif ft == 2:
                p = b
            elif ft == 3:
                p = (a + b) // 2
            elif ft == 4:
                q = a + b - c
                pa, pb, pc = abs(q - a), abs(q - b), abs(q - c)
                p = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
            else:
                raise NlcError(f"tile {t}: PNG filter type {ft} above 4")
            cur[i] = (f[i] + p) & 0xFF
        out[y * row_bytes:(y + 1) * row_bytes] = cur
        prev = cur
    return out


NONE = (1 << 32) - 1


def bitlen(v):
    return v.bit_length()


def context_keys(t, stream, w, h, alphabet):
    """§8.1: the w x h keys of a context group, decoded from its ANS stream (list of rows).
    alphabet is ("palette", n) or ("direct", P)."""
    dec = AnsDecoder(stream)
    ONE24 = 1 << 24

    def bit(model):
        z, o = model
        f0 = ((2 * z + 1) << 24) // (2 * (z + o) + 2)
        b = dec.pop([0, f0, ONE24]) == 1
        if b:
            o += 1
        else:
            z += 1
        if z + o > 1023:
            z, o = (z + 1) // 2, (o + 1) // 2
        model[0], model[1] = z, o
        return b

    def tree(models, base, d, n):
        node = 1
        for b in range(d - 1, -1, -1):
            one = 0
            if ((2 * node + 1) << b) - (1 << d) < n:
                one = 1 if bit(models[base + node]) else 0
            node = 2 * node + one
        return node - (1 << d)

    def hsh(vals, tb):
        hv = 0x811C9DC5
        for v in vals:
            hv = ((hv ^ v) * 0x01000193) & 0xFFFFFFFF
        return ((hv * 0x9E3779B1) & 0xFFFFFFFF) >> (32 - tb)

    def act(v):
        return 0 if v == 0 else 1 if v <= 2 else 2 if v <= 8 else 3 if v <= 32 else 4

    kind, n = alphabet
    tb = min(max(bitlen(w * h - 1) + 1, 8), 20)
    tables = [[[NONE, 0] for _ in range(1 << tb)] for _ in range(2)]
    predicted = [[0, 0] for _ in range(4096)]
    repeats = [[0, 0] for _ in range(1024)]
    if kind == "palette":
        d = 0 if n == 1 else bitlen(n - 1)
        escape = [[0, 0] for _ in range(4 << d)]
    else:
        P = n
        escape = [[0, 0] for _ in range(P * 5 * 256)]
    K = [[0] * w for _ in range(h)]

    def at(y, x):
        return NONE if (y < 0 or x < 0 or x >= w) else K[y][x]

    for y in range(h):
        for x in range(w):
            W, WW, N, NW, NE = at(y, x - 1), at(y, x - 2), at(y - 1, x), at(y - 1, x - 1), at(y - 1, x + 1)
            NN, NNE, NWW = at(y - 2, x), at(y - 2, x + 1), at(y - 1, x - 2)
            pattern = (W == N) + 2 * (W == NW) + 4 * (N == NE) + 8 * (N == NW) + 16 * (W == WW) \
                + 32 * (N == NN) + 64 * (NW == NE)
            slots = [hsh([W, N, NW, NE, WW, NN, NNE, NWW], tb), hsh([W, N, NW, NE], tb)]
            cands = []
            X = None
            for o in range(2):
                cnd, hits = tables[o][slots[o]]
                if cnd == NONE or cnd in cands:
                    continue
                cands.append(cnd)
                k = len(cands)
                ctx = (((o * 4 + hits) * 2 + (cnd == W)) * 2 + (k > 1)) * 128 + pattern
                if bit(predicted[ctx]):
                    X = cnd
                    break
            if X is None:
                tried = 1 if cands else 0
                j = 0
                for cnd in (W, N, NE, NW):
                    if cnd == NONE or cnd in cands:
                        continue
                    cands.append(cnd)
                    if bit(repeats[(tried * 128 + pattern) * 4 + j]):
                        X = cnd
                        break
                    j += 1
            if X is None:
                if kind == "palette":
                    r = W if W != NONE else (N if N != NONE else 0)
                    bucket = r >> max(d - 2, 0)
                    X = tree(escape, bucket << d, d, n)
                else:
                    X, e = 0, 0
                    for ch in range(P):
                        def val(k):
                            return (k >> (8 * (P - 1 - ch))) & 255
                        a = val(W) if W != NONE else (val(N) if N != NONE else 0)
                        b = val(N) if N != NONE else a
                        cc = val(NW) if NW != NONE else b
                        if cc >= max(a, b):
                            base = min(a, b)
                        elif cc <= min(a, b):
                            base = max(a, b)
                        else:
                            base = a + b - cc
                        level = act(abs(a - cc) + abs(b - cc)) if ch == 0 else act(abs(e))
                        pred = min(max(base + e, 0), 255)
                        z = tree(escape, (ch * 5 + level) * 256, 8, 256)
                        r = z // 2 if z % 2 == 0 else 256 - (z + 1) // 2
                        v = (pred + r) % 256
                        e = v - base
                        X = X * 256 + v
            for o in range(2):
                slot = tables[o][slots[o]]
                if slot[0] == X:
                    slot[1] = min(slot[1] + 1, 3)
                else:
                    slot[0], slot[1] = X, 0
            K[y][x] = X
    if not dec.final_ok():
        raise NlcError(f"tile {t}: context stream fails its final-state check")
    return K


def decode_payload(t, mode, payload, w, h, C):
    """A non-neural plane group (§8) as a uint8 array [h, w, C]."""
    if mode == 5:
        grey, direct, P, entries, stream = payload
        if direct:
            keys = np.array(context_keys(t, stream, w, h, ("direct", P)), dtype=np.int64)
            vals = np.stack([(keys >> (8 * (P - 1 - ch))) & 255 for ch in range(P)], axis=2)
        else:
            count = len(entries) // P
            keys = np.array(context_keys(t, stream, w, h, ("palette", count)), dtype=np.int64)
            pal = np.frombuffer(entries, dtype=np.uint8).reshape(count, P)
            vals = pal[keys]
        vals = vals.astype(np.uint8).reshape(h, w, P)
        return np.repeat(vals, C, axis=2) if grey else vals
    if mode == 1:
        return np.broadcast_to(np.frombuffer(payload, dtype=np.uint8), (h, w, C)).copy()
    if mode == 2:
        rb = w * C
        raw = png_unfilter(t, inflate_exact(t, payload, (rb + 1) * h), rb, h, C)
        return np.frombuffer(bytes(raw), dtype=np.uint8).reshape(h, w, C).copy()
    if mode == 4:
        raw = png_unfilter(t, inflate_exact(t, payload, (w + 1) * h), w, h, 1)
        grey = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(h, w, 1)
        return np.repeat(grey, C, axis=2)
    count, entries, z = payload
    depth = 1 if count <= 2 else 2 if count <= 4 else 4 if count <= 16 else 8
    rb = (w * depth + 7) // 8
    packed = png_unfilter(t, inflate_exact(t, z, (rb + 1) * h), rb, h, 1)
    pal = np.frombuffer(entries, dtype=np.uint8).reshape(count, C)
    out = np.empty((h, w, C), dtype=np.uint8)
    for y in range(h):
        row = packed[y * rb:(y + 1) * rb]
        bits = np.unpackbits(np.frombuffer(bytes(row), dtype=np.uint8))   # MSB first
        if bits[w * depth:].any():
            raise NlcError(f"tile {t}: palette row padding bits are not zero")
        idx = bits[:w * depth].reshape(w, depth)
        idx = (idx.astype(np.int64) << np.arange(depth - 1, -1, -1)).sum(axis=1)
        if (idx >= count).any():
            raise NlcError(f"tile {t}: palette index beyond the palette")
        out[y] = pal[idx]
    return out


def decode(buf, models, tables):
    c = parse_container(buf)
    models = list(models) + c.embedded  # §12: the stream's own models count as given
    by_hash = {m.sha256: m for m in models}
    n_color = 3 if c.color_type in (3, 4) else 1

    def need_model(h, role, C):
        # §8: a version-2 stream names no model (all-zero hash) if no tile codes that
        # plane group with the network
        if c.version >= 2 and h == bytes(32):
            return None
        if len(h) < 32:
            # §11 kind 2 (8 bytes), §12 kind 4 (4 bytes): a hash prefix, unique among the
            # models given
            hits = {mm.sha256: mm for mm in models if mm.sha256.startswith(h)}
            if len(hits) > 1:
                raise NlcError(f"{role} model prefix {h.hex()} is ambiguous ({len(hits)} models)")
            m = next(iter(hits.values()), None)
        else:
            m = by_hash.get(h)
        if m is None:
            raise NlcError(f"{role} model {h.hex()} not available")
        if m.invalid:
            raise NlcError(f"{role} model {m.path} is invalid: {m.invalid}")
        if m.C != C:
            raise NlcError(f"{role} model has {m.C} channels, the {role} plane group needs {C}")
        return m

    cmodel = need_model(c.color_model, "colour", n_color)
    amodel = need_model(c.alpha_model, "alpha", 1) if c.alpha_mode == 2 else None
    group_channels = [n_color] + ([1] if c.alpha_mode == 2 else [])
    group_models = [cmodel, amodel]
    for g, D in c.heads.items():
        if group_models[g] is None:
            raise NlcError(f"ADPT chunk for plane group {g}, for which the stream names no model")
        if len(D) != group_models[g].n_out:
            raise NlcError(f"ADPT chunk: {len(D)} values, the model has {group_models[g].n_out} head values")
    # per tile: CRC, then the tile layout (§8) and the stream framing (last word non-zero);
    # all tiles before any decoding
    geoms, decoders, layouts = [], [], []
    for t, (start, length, tcrc) in enumerate(c.tiles):
        data = c.buf[start:start + length]
        if zlib.crc32(data) & 0xFFFFFFFF != tcrc:
            raise NlcError(f"tile {t}: CRC mismatch")
        if c.version == 1:
            groups, ans = [(0, None)] * len(group_channels), data
        else:
            groups, ans = parse_tile_v2(t, data, group_channels, c.version)
        for g, (m, _) in enumerate(groups):
            if m == 0 and group_models[g] is None:
                raise NlcError(f"tile {t}: neural plane group {g} but the header names no model")
        try:
            decoders.append(AnsDecoder(ans))
        except NlcError as e:
            raise NlcError(f"tile {t}: {e}")
        layouts.append(groups)
        ty, tx = divmod(t, c.tiles_x)
        x0, y0 = tx * c.tile_width, ty * c.tile_height
        geoms.append((x0, y0, min(c.tile_width, c.width - x0), min(c.tile_height, c.height - y0)))
    mix = Mixture(tables)
    planes = [np.zeros((c.height, c.width, C), dtype=np.uint8) for C in group_channels]
    for g, C in enumerate(group_channels):
        # non-neural groups directly; the neural ones of all tiles as one wavefront batch,
        # colour before alpha (the shared ANS stream holds colour symbols, then alpha)
        nt = [t for t in range(len(geoms)) if layouts[t][g][0] == 0]
        for t in range(len(geoms)):
            m, payload = layouts[t][g]
            if m != 0:
                x0, y0, w, h = geoms[t]
                planes[g][y0:y0 + h, x0:x0 + w, :] = decode_payload(t, m, payload, w, h, C)
        if nt:
            decode_group(group_models[g], mix, [geoms[t] for t in nt], [decoders[t] for t in nt],
                         C, planes[g], c.heads.get(g))
    color = planes[0]
    alpha = None
    if c.alpha_mode == 2:
        alpha = planes[1]
    elif c.alpha_mode == 1:
        alpha = np.full((c.height, c.width, 1), c.alpha_value, dtype=np.uint8)
    for t, dec in enumerate(decoders):
        if not dec.final_ok():
            raise NlcError(f"tile {t}: corrupt (final state s={dec.s}, pos={dec.pos})")
    img = color if alpha is None else np.concatenate([color, alpha], axis=2)
    return c, img


# ----------------------------------------------------------------------------- conformance vectors

def check_conformance(path, models, tables):
    """Checks a fixtures/conformance/*.json file step by step (§3, §4, §5): from each case's
    network input: activations, head, prior weights, per channel the bases (§4 'Mean
    base'), coupled means, F(0..=256), the weights before the channel and the symbol's
    interval; then the ANS words of all intervals. Returns a list of mismatch messages."""
    j = json.load(open(path))
    errs = []
    by_hash = {m.sha256.hex(): m for m in models}
    m = by_hash.get(j["model_sha256"])
    if m is None:
        return [f"model {j['model_sha256']} not given with --model"]
    if m.invalid:
        return [f"model {m.path} is invalid: {m.invalid}"]
    mix = Mixture(tables)
    H, C, K = m.H, m.C, m.K
    mb = j["arch"].get("mean_base", "absolute")
    if (None if mb == "absolute" else mb) != m.mean_base:
        errs.append(f"arch.mean_base {mb} differs from the model's {m.mean_base}")

    def cmp(what, got, want):
        got = [int(v) for v in np.asarray(got).reshape(-1)]
        if got != list(want):
            errs.append(f"{what}: got {got[:12]}..., expected {list(want)[:12]}...")

    intervals = []
    for ci, case in enumerate(j["cases"]):
        X = np.array([case["input"]], dtype=np.int64)
        if X.shape[1] != m.n_pos * C:
            errs.append(f"case {ci}: input has {X.shape[1]} elements, expected {m.n_pos * C}")
            continue
        acts = case.get("activations")
        if acts is not None:
            a0 = np.clip(m.conv_in.rq(X), 0, 255)
            cmp(f"case {ci} conv_in", a0, acts[0])
            if m.R == 0:
                if len(acts) != 2:
                    errs.append(f"case {ci}: {len(acts)} activation lists, expected 2")
                cmp(f"case {ci} hidden", np.clip(m.hidden.rq(a0), 0, 255), acts[-1])
        O = m.forward(X)
        cmp(f"case {ci} head_q8", O[0], case["head_q8"])
        base, ref = m.bases(X)
        w, mu, inv, a = mix.pixel_params(O[0], K, C, base[0])
        cmp(f"case {ci} prior_weights", w, case["prior_weights"])
        xs = []
        for c, ch in enumerate(case["channels"]):
            if "bases_q8" in ch:
                cmp(f"case {ci} ch {c} bases_q8", base[0, c], ch["bases_q8"])
            elif m.mean_base is not None:
                errs.append(f"case {ci} ch {c}: no bases_q8 for a predicted-mean model")
            cmp(f"case {ci} ch {c} weights", w, ch["weights"])
            cmp(f"case {ci} ch {c} coupled_means_q8",
                mix.coupled_means(mu[c], a, ref[0], c, xs), ch["coupled_means_q8"])
            S, F = mix.channel_cdf(w, mu[c], inv[c], a, ref[0], c, xs)
            cmp(f"case {ci} ch {c} cdf", F, ch["cdf"])
            x = ch["symbol"]
            iv = [int(F[x]), int(F[x + 1] - F[x])]
            cmp(f"case {ci} ch {c} interval", iv, ch["interval"])
            intervals.append(iv)
            xs.append(x)
            p = w * np.maximum(S[:, x + 1] - S[:, x], 1)
            sh = max(0, int(p.max()).bit_length() - 17)
            w = np.maximum(p >> sh, 1)
    if "ans_intervals" in j:
        cmp("ans_intervals", np.array(intervals), [v for iv in j["ans_intervals"] for v in iv])
        cmp("ans_words", ans_encode([tuple(iv) for iv in j["ans_intervals"]]), j["ans_words"])
    return errs


# ----------------------------------------------------------------------------- preview (§10)
# Kept apart from the decoder above: the PRVW chunk changes nothing in the image's decoding.

PREVIEW_MAX_SIDE = 1024


def decode_preview(buf, models, tables):
    """§10: the embedded preview of a stream, or the image itself without one. Returns
    (container, pixels, embedded) where container describes what was decoded."""
    c = parse_container(buf)
    chunk = dict(c.chunks).get(b"PRVW")
    if chunk is not None:
        if len(chunk) == 0:
            raise NlcError("invalid preview: the PRVW chunk is empty")
        if chunk[0] != 0:
            chunk = None  # a kind this decoder does not know: no preview
    if chunk is None:
        c, img = decode(buf, models, tables)
        return c, img, False
    nested = chunk[1:]
    try:
        p = parse_container(nested)
    except NlcError as e:
        raise NlcError(f"invalid preview: the nested stream is invalid: {e}")
    if p.width > PREVIEW_MAX_SIDE or p.height > PREVIEW_MAX_SIDE:
        raise NlcError(f"invalid preview: {p.width}x{p.height} above {PREVIEW_MAX_SIDE} per side")
    if p.width > c.width or p.height > c.height:
        raise NlcError(f"invalid preview: {p.width}x{p.height} larger than the {c.width}x{c.height} image")
    if p.version == 1:
        raise NlcError("invalid preview: the nested stream is version 1")
    if p.version not in (2, 3, 4):
        raise NlcError(f"invalid preview: the nested stream is version {p.version} (not 2 to 4)")
    if p.color_model != bytes(32) or p.alpha_model != bytes(32):
        raise NlcError("invalid preview: the nested stream names a model")
    if p.color_type != c.color_type:
        raise NlcError(f"invalid preview: colour type {p.color_type}, the image's is {c.color_type}")
    if p.chunk_count != 0:
        raise NlcError("invalid preview: the nested stream has chunks")
    try:
        p, img = decode(nested, [], tables)  # no model: no group may be neural
    except NlcError as e:
        raise NlcError(f"invalid preview: the nested stream does not decode: {e}")
    return p, img, True


def preview_by_rule(src, size):
    """§10, how the reference encoder makes a preview of longest side `size` from the
    pixels `src` (h x w x channels, uint8): the size rule, the exact area average, then
    the quantization of the colour samples. Returns None if no preview is made."""
    H, W, C = src.shape
    long, short = max(W, H), min(W, H)
    if long <= size:
        return None
    s = max(1, (short * size + long // 2) // long)
    w, h = (size, s) if W >= H else (s, size)

    def weights(n, p):  # overlap of source index x (spans [x*p, (x+1)*p)) with preview q
        m = np.zeros((p, n), dtype=object)
        for x in range(n):
            lo, hi = x * p, (x + 1) * p
            for q in range(lo // n, min(p, (hi - 1) // n + 1)):
                m[q, x] = max(0, min(hi, (q + 1) * n) - max(lo, q * n))
        return m

    wx, wy = weights(W, w), weights(H, h)
    out = np.zeros((h, w, C), dtype=np.uint8)
    area = W * H
    for ch in range(C):
        plane = src[:, :, ch].astype(object)
        sums = wy.dot(plane).dot(wx.T)  # exact integers (object arrays)
        out[:, :, ch] = np.array((sums + area // 2) // area, dtype=np.int64).astype(np.uint8)
    n_color = 3 if C >= 3 else 1
    col = out[:, :, :n_color].astype(np.int64)
    out[:, :, :n_color] = np.where(col >= 254, 255, 4 * ((col + 2) // 4)).astype(np.uint8)
    return out


# ----------------------------------------------------------------------------- CLI

PIL_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def load_reference(path):
    from PIL import Image
    im = Image.open(path)
    im.load()
    return im


def compare(img, color_type, ref_path):
    """Compares in the reference's own channel layout. Returns (ok, message)."""
    ref = load_reference(ref_path)
    mode = PIL_MODES[color_type]
    if ref.mode in ("P", "1", "I;16", "I", "F"):
        ref = ref.convert(mode)
    r = np.asarray(ref)
    if r.ndim == 2:
        r = r[:, :, None]
    if r.shape[:2] != img.shape[:2]:
        return False, f"size differs: decoded {img.shape[1]}x{img.shape[0]}, reference {r.shape[1]}x{r.shape[0]}"
    if r.shape[2] != img.shape[2]:
        return False, f"channel count differs: decoded {img.shape[2]} ({mode}), reference {r.shape[2]} ({ref.mode})"
    diff = np.any(r != img, axis=2)
    if diff.any():
        ys, xs = np.nonzero(diff)
        k = np.lexsort((xs, ys))[0]
        y, x = int(ys[k]), int(xs[k])
        return False, (f"{int(diff.sum())} pixels differ; first at (x={x}, y={y}): decoded "
                       f"{img[y, x].tolist()}, reference {r[y, x].tolist()}")
    return True, f"all {img.shape[0] * img.shape[1]} pixels identical"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Independent .nlc reference decoder, versions 1 to 7 (from docs/FORMAT.md)")
    ap.add_argument("input", nargs="?")
    ap.add_argument("output", nargs="?", help="PNG to write")
    ap.add_argument("--model", action="append", default=[], help="model file (.safetensors), repeatable")
    ap.add_argument("--check", metavar="REFERENCE.png", help="compare every pixel with this image")
    ap.add_argument("--decode-only", nargs="+", default=[], metavar="IN.nlc",
                    help="decode each file (no reference image): it must decode without error "
                         "and pass the final-state check")
    ap.add_argument("--conformance", action="append", default=[], metavar="VECTORS.json",
                    help="check a fixtures/conformance/*.json file step by step, repeatable")
    ap.add_argument("--preview", action="store_true",
                    help="decode the embedded preview (§10; the image itself without one) "
                         "instead of the image")
    ap.add_argument("--preview-source", metavar="SOURCE.png",
                    help="with --preview: also check that the preview is what the reference "
                         "encoder makes of this source image (§10, informative rule)")
    args = ap.parse_args(argv)
    if args.input and not args.output and not args.check:
        ap.error("give OUT.png and/or --check REFERENCE.png")
    if not args.input and not args.decode_only and not args.conformance:
        ap.error("nothing to do")
    try:
        tables = load_tables()
    except NlcError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    models = [Model(p) for p in args.model]
    rc = 0
    for path in args.conformance:
        errs = check_conformance(path, models, tables)
        for e in errs:
            print(f"{path}: MISMATCH: {e}", file=sys.stderr)
        if errs:
            rc = 1
        else:
            print(f"{path}: conformance vectors OK")
    for path in args.decode_only:
        t0 = time.time()
        try:
            c, img = decode(open(path, "rb").read(), models, tables)
        except NlcError as e:
            print(f"{path}: error: {e}", file=sys.stderr)
            rc = max(rc, 2)
            continue
        print(f"{path}: v{c.version} {c.width}x{c.height} {PIL_MODES[c.color_type]} alpha_mode={c.alpha_mode} "
              f"{c.tile_count} tile(s), decoded in {time.time() - t0:.1f} s (final state OK)")
    if not args.input:
        return rc
    t0 = time.time()
    try:
        buf = open(args.input, "rb").read()
        if args.preview:
            c, img, embedded = decode_preview(buf, models, tables)
            if not embedded:
                print(f"{args.input}: no preview, decoded the image itself")
        else:
            c, img = decode(buf, models, tables)
    except NlcError as e:
        print(f"{args.input}: error: {e}", file=sys.stderr)
        return 2
    dt = time.time() - t0
    desc = f"{args.input}: {c.width}x{c.height} {PIL_MODES[c.color_type]} alpha_mode={c.alpha_mode} " \
           f"{c.tile_count} tile(s), decoded in {dt:.1f} s"
    if args.output:
        from PIL import Image
        arr = img[:, :, 0] if img.shape[2] == 1 else img
        Image.fromarray(arr, PIL_MODES[c.color_type]).save(args.output)
    if args.preview and args.preview_source:
        src = np.asarray(load_reference(args.preview_source).convert(PIL_MODES[c.color_type]))
        if src.ndim == 2:
            src = src[:, :, None]
        want = preview_by_rule(src, max(img.shape[0], img.shape[1]))
        if want is None or want.shape != img.shape or np.any(want != img):
            print(f"{args.input}: MISMATCH: the preview is not the §10 rule applied to "
                  f"{args.preview_source}", file=sys.stderr)
            rc = 1
        else:
            print(f"{args.input}: the preview is the §10 rule applied to {args.preview_source}")
    if args.check:
        ok, msg = compare(img, c.color_type, args.check)
        print(f"{desc}; check vs {args.check}: {'OK' if ok else 'MISMATCH'}: {msg}")
        return max(rc, 0 if ok else 1)
    print(desc)
    return rc


if __name__ == "__main__":
    sys.exit(main())
