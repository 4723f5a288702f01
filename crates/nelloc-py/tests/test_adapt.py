"""`python -m nelloc.adapt` (the adapt extra): fine-tune, export, code bit-exactly.

Skipped without PyTorch / safetensors unless NELLOC_REQUIRE_TORCH is set (ci.sh sets
it: CI installs the extra's packages). Seconds: tiny images, a fraction of one pass."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import nelloc

if os.environ.get("NELLOC_REQUIRE_TORCH"):
    import safetensors  # noqa: F401
    import torch  # noqa: F401
else:
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")

from nelloc.adapt import cli  # noqa: E402

FAST = ["--minutes", "0", "--passes", "0.3", "--batch", "256", "--quiet", "--threads", "2"]


def collection(tmp_path, n=6, size=(20, 24), c=1, name="imgs"):
    from conftest import synthetic

    d = tmp_path / name
    d.mkdir()
    for i in range(n):
        a = synthetic(size[0], size[1], c, seed=i)
        Image.fromarray(a).save(d / f"{i}.png")
    return d


def test_adapt_exports_a_model_that_codes_bit_exactly(tmp_path, capsys):
    d = collection(tmp_path)
    out = tmp_path / "mine.safetensors"
    summary = tmp_path / "s.json"
    rc = cli.main(
        [str(d), "--out", str(out), "--name", "my-scanner", *FAST, "--summary-json", str(summary)]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert sha in printed and "held-out bpsp" in printed
    import json

    s = json.loads(summary.read_text())
    assert s["sha256"] == sha and s["verify"]["bit_exact"]
    assert s["images"] == {"train": 5, "held_out": 1, "evaluated": 1}
    # metadata as the built-in models', named, and the file loads in the library
    from nelloc.adapt import quant

    tensors, meta = quant.read_model_file(out.read_bytes())
    assert meta["nelloc.name"] == "my-scanner" and meta["nelloc.format"] == "nelloc-model"
    quant.check_tensors(tensors)
    training = json.loads(meta["nelloc.training"])
    assert training["adapted_from"]["name"] == "gray"
    a = np.asarray(Image.open(d / "0.png"))
    data = nelloc.encode(a, model_file=out)
    assert nelloc.info(data, models=[out]).model_hash == sha
    assert np.array_equal(nelloc.decode(data, models=[out]), a)
    # a previously adapted file is a valid base too (dequantised like a built-in one)
    out2 = tmp_path / "again.safetensors"
    assert cli.main([str(d), "--out", str(out2), "--base", str(out), *FAST, "--no-verify"]) == 0
    assert np.array_equal(nelloc.decode(nelloc.encode(a, model_file=out2), models=[out2]), a)


def test_res_blocks_grow_the_base_from_its_own_function(tmp_path):
    import torch

    from nelloc.adapt import quant

    base = bytes(nelloc._nelloc.builtin_model_file("gray"))
    model, mean_base, arch = quant.dequantise(*quant.read_model_file(base))
    grown, garch = cli.grow(model.float(), arch, 1)
    assert garch["res_blocks"] == 1 and arch["res_blocks"] == 0
    v = torch.randint(-255, 256, (64, 24)).float()
    # the added block is the identity: the grown network computes the base's outputs
    assert torch.allclose(grown.forward_ctx(v), model.float().forward_ctx(v), atol=1e-5)
    with pytest.raises(cli.AdaptError, match="grown, not shrunk"):
        cli.grow(grown, garch, 0)
    # and the exported file has the block, and codes bit-exactly (the verify step)
    d = collection(tmp_path, n=4, size=(16, 20))
    out = tmp_path / "deeper.safetensors"
    summary = tmp_path / "s.json"
    assert (
        cli.main(
            [str(d), "--out", str(out), "--res-blocks", "1", *FAST, "--summary-json", str(summary)]
        )
        == 0
    )
    import json

    assert json.loads(summary.read_text())["verify"]["bit_exact"]
    tensors, meta = quant.read_model_file(out.read_bytes())
    assert json.loads(meta["nelloc.arch"])["res_blocks"] == 1 and "res0_2.weight" in tensors


def test_adapt_is_deterministic_with_a_pass_budget(tmp_path):
    from nelloc.adapt import quant

    d = collection(tmp_path, n=3, size=(12, 12))
    outs = []
    for k in range(2):
        out = tmp_path / f"m{k}.safetensors"
        assert cli.main([str(d), "--out", str(out), *FAST, "--no-verify", "--threads", "1"]) == 0
        outs.append(quant.read_model_file(out.read_bytes()))
    # the same tensors (the metadata differs only in the file name and the wall time)
    (t0, m0), (t1, m1) = outs
    assert t0.keys() == t1.keys() and all(np.array_equal(t0[k], t1[k]) for k in t0)
    assert m0["nelloc.quantization"] == m1["nelloc.quantization"]


def test_dequantised_builtin_matches_its_integer_network():
    from nelloc import _nelloc
    from nelloc.adapt import quant
    from nelloc.adapt.nn import contexts

    tensors, meta = quant.read_model_file(_nelloc.builtin_model_file("gray"))
    model, mean_base, arch = quant.dequantise(tensors, meta)
    from conftest import synthetic

    img = synthetic(24, 24, 1)[:, :, None]
    val = [("x", img)]
    fb = quant.float_bpsp(model, val, 1, mean_base)[0]
    ib = quant.int_bpsp(cli.int_layers(tensors, arch), val, 1, mean_base=mean_base)[0]
    assert abs(fb / ib - 1) < 0.05, (fb, ib)
    # and the integer simulation is what the library codes (within the entropy coder's
    # overhead and the header)
    assert contexts(img, 1).shape == (24 * 24, 24)
    assert _nelloc.builtin_model_file("nope") is None


def err(args, capsys):
    rc = cli.main(args)
    assert rc != 0
    return capsys.readouterr().err


def test_errors(tmp_path, capsys):
    out = str(tmp_path / "x.safetensors")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no images in this directory" in err([str(empty), "--out", out, *FAST], capsys)
    assert "no such file" in err([str(tmp_path / "missing"), "--out", out, *FAST], capsys)
    mixed = collection(tmp_path, n=2, name="mixed")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(mixed / "rgb.png")
    assert "mixed channel counts" in err([str(mixed), "--out", out, *FAST], capsys)
    deep = tmp_path / "deep"
    deep.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint16) + 1000).save(deep / "a.png")
    assert "8-bit images only" in err([str(deep), "--out", out, *FAST], capsys)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"not a png")
    assert "not an image" in err([str(bad), "--out", out, *FAST], capsys)
    gray = collection(tmp_path, n=2, name="gray")
    e = err([str(gray), "--out", out, "--base", "default", *FAST], capsys)
    assert "3-channel model" in e and "--base gray" in e
    e = err([str(gray), "--out", out, "--base", str(tmp_path / "nope.safetensors"), *FAST], capsys)
    assert "not a built-in model" in e
    assert not os.path.exists(out)


def test_module_entry_point_help():
    r = subprocess.run(
        [sys.executable, "-m", "nelloc.adapt", "--help"], capture_output=True, text=True, check=True
    )
    assert "--minutes" in r.stdout and "--base" in r.stdout
