"""Models that travel with the files (docs/FORMAT.md section 12): ``encode(...,
embed_model=True)`` and ``decode(..., model_path=[...])``; in each test the decoder is
given no model file."""

import os
import shutil

import numpy as np
import pytest

import nelloc


def _model(fixtures):
    # An external (not built-in) one-channel model: the frozen predictor-relative one.
    return fixtures / "models" / "test-gray-pred.safetensors"


def test_an_embedded_model_decodes_with_no_model_given(fixtures, image):
    a = image(28, 28, 1)
    data = nelloc.encode(a, model_file=_model(fixtures), modes="neural", embed_model=True)
    assert data[8] == 6
    assert (nelloc.decode(data) == a).all()
    i = nelloc.info(data)
    assert i.version == 6 and len(i.embedded_models) == 1
    assert i.embedded_models[0] == i.model_hash
    # Without embedding, the model is needed.
    plain = nelloc.encode(a, model_file=_model(fixtures), modes="neural")
    assert plain[8] == 6 and len(plain) + 5000 < len(data)
    with pytest.raises(nelloc.ModelError, match="not embedded"):
        nelloc.decode(plain)
    with pytest.raises(TypeError):
        nelloc.encode(a, embed_model=1)


def test_the_model_path_finds_the_model(fixtures, image, tmp_path, monkeypatch):
    a = image(40, 30, 1)
    data = nelloc.encode(a, model_file=_model(fixtures), modes="neural", tile_size=16)
    empty, models = tmp_path / "empty", tmp_path / "models"
    empty.mkdir()
    models.mkdir()
    with pytest.raises(nelloc.ModelError, match=r"\(0 model files\)"):
        nelloc.decode(data, model_path=[empty])
    shutil.copy(_model(fixtures), models / "m.safetensors")
    assert (nelloc.decode(data, model_path=[empty, models]) == a).all()
    assert nelloc.info(data, model_path=[models]).model_name == "test-gray-pred"
    assert nelloc.decode_preview(data, model_path=[models]).embedded is False
    # NELLOC_MODEL_PATH, read only when asked to.
    monkeypatch.setenv("NELLOC_MODEL_PATH", f"{empty}{os.pathsep}{models}")
    assert nelloc.env_model_path() == [str(empty), str(models)]
    with pytest.raises(nelloc.ModelError):
        nelloc.decode(data)
    assert (nelloc.decode(data, model_path=nelloc.env_model_path()) == a).all()
    with pytest.raises(TypeError, match="model_path"):
        nelloc.decode(data, model_path=str(models))


def test_pillow_finds_the_model_on_the_path_and_beside_the_file(
    fixtures, image, tmp_path, monkeypatch
):
    from PIL import Image

    import nelloc.pillow  # noqa: F401

    a = image(30, 20, 1)
    data = nelloc.encode(a, model_file=_model(fixtures), modes="neural")
    streams, models = tmp_path / "streams", tmp_path / "models"
    streams.mkdir()
    models.mkdir()
    (streams / "a.nlc").write_bytes(data)
    monkeypatch.delenv("NELLOC_MODEL_PATH", raising=False)
    with Image.open(streams / "a.nlc") as im, pytest.raises(nelloc.ModelError):
        im.load()
    shutil.copy(_model(fixtures), models / "m.safetensors")
    monkeypatch.setenv("NELLOC_MODEL_PATH", str(models))
    with Image.open(streams / "a.nlc") as im:
        assert (np.asarray(im) == a).all()
    # Beside the stream, as batch encoding writes it.
    monkeypatch.delenv("NELLOC_MODEL_PATH")
    shutil.copy(_model(fixtures), streams / "m.safetensors")
    with Image.open(streams / "a.nlc") as im:
        assert (np.asarray(im) == a).all()
