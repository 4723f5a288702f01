"""Shared fixtures. The tests run against the installed wheel (crates/nelloc-py/ci.sh),
never against the source tree: `import nelloc` must come from site-packages."""

import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures"


def synthetic(h, w, c, seed=0):
    """A smooth image with noise and an edge: what the codec's modes all handle."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 3 + y * 2) % 256
    chans = [(base + 40 * k + rng.integers(0, 9, (h, w))) % 256 for k in range(c)]
    a = np.stack(chans, axis=-1).astype(np.uint8)
    a[h // 2 :, : w // 3] = 17
    return a[..., 0] if c == 1 else a


@pytest.fixture
def image():
    return synthetic


@pytest.fixture(scope="session")
def nlc():
    """The Rust CLI (`NLC` or target/release/nlc), for files to compare with."""
    path = os.environ.get("NLC") or str(REPO / "target" / "release" / "nlc")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        found = shutil.which("nlc")
        if found is None:
            if os.environ.get("NELLOC_REQUIRE_CLI"):
                pytest.fail(f"the nlc CLI is required (NLC={path})")
            pytest.skip("nlc CLI not built (set NLC=path)")
        path = found

    def run(command, *args):
        subprocess.run([path, command, "--quiet", *map(str, args)], check=True)

    return run


@pytest.fixture(scope="session")
def fixtures():
    return FIXTURES
