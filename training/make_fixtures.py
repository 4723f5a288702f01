"""Regenerate fixtures/photos/ (see fixtures/SOURCES.md). Run from anywhere."""
import os
import sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from PIL import Image
from common import PHOTOS, TRAINING
SPECS = [  # file, source, k, box (x0,y0) in reduced image, size, gray
 ("sky_kite_96x64.png", "Kite", 2, (700, 180), (96, 64), False),
 ("bark_64x96.png", "Kleiber_by_Lukas_Baubkus", 4, (180, 250), (64, 96), False),
 ("boats_128x128.png", "EveningGlow", 3, (250, 300), (128, 128), False),
 ("dune_77x53.png", "Dune", 2, (500, 150), (77, 53), False),
 ("wood_gray_64x64.png", "Wood", 2, (600, 400), (64, 64), True),
]
for fn, src, k, (x0, y0), (w, h), gray in SPECS:
    assert src in TRAINING
    im = Image.open(PHOTOS[src]).convert("RGB").reduce(k)
    c = im.crop((x0, y0, x0 + w, y0 + h))
    if gray: c = c.convert("L")
    c.save(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'photos', fn))
    print(fn, src, PHOTOS[src], im.size, c.size, c.mode)
