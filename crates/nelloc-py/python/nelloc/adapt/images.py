"""Reading a collection of images for ``nelloc.adapt`` (Pillow), with clear errors."""

import os

import numpy as np

#: File name endings taken from directories (files named directly are always read).
EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".pnm", ".pgm", ".ppm", ".pam", ".pbm")


class InputError(Exception):
    """A problem with the user's images: the message says which file and why."""


def expand(paths):
    """Image files of PATHS: files as given, directories recursively (sorted; files with
    the endings of EXTENSIONS), ``@LIST`` a text file of paths, one a line."""
    out = []
    for p in paths:
        p = os.fspath(p)
        if p.startswith("@"):
            lst = p[1:]
            try:
                with open(lst, encoding="utf-8") as f:
                    lines = [ln.strip() for ln in f]
            except OSError as e:
                raise InputError(f"cannot read the file list {lst}: {e.strerror}") from None
            base = os.path.dirname(lst)
            out += expand(os.path.join(base, ln) for ln in lines if ln and not ln.startswith("#"))
        elif os.path.isdir(p):
            found = []
            for root, dirs, files in os.walk(p):
                dirs.sort()
                found += [
                    os.path.join(root, f)
                    for f in sorted(files)
                    if f.lower().endswith(EXTENSIONS) and not f.startswith(".")
                ]
            if not found:
                raise InputError(
                    f"{p}: no images in this directory (looked for {', '.join(EXTENSIONS)})"
                )
            out += found
        elif os.path.exists(p):
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return out


def load(path):
    """uint8 [H, W, C] (C = 1 or 3) of one image; the colour planes only (an alpha plane
    is coded with the one-channel model and is not adapted)."""
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(path)
        im.load()
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image Pillow can read") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e})") from None
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F") or mode.startswith("I;"):
        raise InputError(
            f"{path}: {mode} samples (16-bit or wider); nelloc codes 8-bit images only, "
            "convert the collection to 8 bits first"
        )
    if mode in ("1", "L", "LA", "La"):
        a = np.asarray(im.convert("L"))[:, :, None]
    elif mode == "P":
        rgb = im.convert("RGB")
        a = np.asarray(rgb)
        if (a[:, :, 0] == a[:, :, 1]).all() and (a[:, :, 1] == a[:, :, 2]).all():
            a = a[:, :, :1]
    else:
        a = np.asarray(im.convert("RGB"))
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"{path}: empty image")
    return np.ascontiguousarray(a, dtype=np.uint8)


def load_all(files, log=None):
    """[(path, uint8 [H, W, C])] of every file, all with the same channel count."""
    if not files:
        raise InputError("no input images")
    imgs = []
    seen = {}
    for i, f in enumerate(files):
        a = load(f)
        seen.setdefault(a.shape[2], f)
        if len(seen) > 1:
            one, three = seen.get(1), seen.get(3)
            raise InputError(
                f"mixed channel counts: {one} is grey and {three} is colour; adapt one model "
                "per channel count (a grey model on grey images, a colour one on colour images)"
            )
        imgs.append((f, a))
        if log and (i + 1) % 5000 == 0:
            log(f"read {i + 1} of {len(files)} images")
    return imgs
