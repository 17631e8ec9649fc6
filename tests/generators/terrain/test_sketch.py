"""Sketch-to-terrain: painted heights, water and forest steer the land; bad sketches are refused naming the field,
sized from the header before any pixel is decoded."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio.generators.base import Context
from studio.generators.terrain.generator import TerrainGenerator
from studio.generators.terrain.params import TerrainParams
from studio.params import ParamError, check_params
from tests.png_helpers import png_of

N = 129


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def sketch() -> bytes:
    """A hill in the north-east, a lake in the south-west, a forest in the north-west, on mid-grey."""
    im = Image.new("RGB", (200, 200), (90, 90, 90))
    d = ImageDraw.Draw(im)
    d.ellipse((110, 10, 190, 90), fill=(250, 250, 250))
    d.ellipse((20, 120, 90, 180), fill=(40, 90, 220))
    d.rectangle((10, 10, 80, 80), fill=(30, 160, 40))
    return _png(im)


@pytest.fixture(scope="module")
def steered() -> tuple[dict[str, bytes], dict]:
    params = TerrainParams(prompt="gentle hills", seed=4, size_px=N, sketch=sketch())
    out = TerrainGenerator().generate(None, params, Context())
    return {a.name: a.data for a in out.artifacts}, out.info


def _box(a: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """The part of an (N, N) map under a box of the 200 px sketch."""
    s = (N - 1) / 200
    return a[round(y0 * s) : round(y1 * s), round(x0 * s) : round(x1 * s)]


def test_painted_heights_water_and_forest_steer_the_land(steered) -> None:
    files, info = steered
    h = np.frombuffer(files["heightmap.r16"], dtype="<u2").reshape(N, N) / 65535.0
    assert _box(h, 125, 25, 175, 75).mean() > h.mean() + 0.2  # the white hill is high ground
    water = h < info["water_height"]
    assert _box(water, 35, 135, 75, 165).mean() > 0.95  # the blue lake is water ...
    assert _box(water, 100, 0, 200, 100).mean() < 0.02 and _box(water, 10, 10, 80, 80).mean() < 0.05  # ... nowhere else
    assert info["settings"]["water_level"] == pytest.approx(water.mean(), abs=0.03)
    rows = list(csv.DictReader(io.StringIO(files["objects.csv"].decode())))
    trees = np.array([[float(r["x"]), float(r["y"])] for r in rows if r["type"] in ("conifer", "broadleaf")])
    s = (N - 1) / 200
    inside = ((trees >= 15 * s) & (trees <= 75 * s)).all(axis=1)
    density_in = inside.sum() / (60 * s) ** 2
    density_out = (~inside).sum() / (N**2 - (60 * s) ** 2)
    assert density_in > 3 * density_out  # trees crowd the painted forest


def test_a_slider_set_by_the_visitor_still_wins_over_the_sketch() -> None:
    params = TerrainParams(prompt="gentle hills", seed=4, size_px=N, sketch=sketch(), water_level=0.0)
    assert TerrainGenerator().generate(None, params, Context()).info["water_fraction"] == 0.0


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (png_of(60_000, 60_000), "decompression bomb"),  # a few bytes claiming 3.6 gigapixels
        (png_of(5000, 4500), "at most 4096"),  # judged from the header: no row of it is there to decode
        (b"GIF89a not really", "not an image"),
        (b"%PDF-1.4 hello", "not an image"),
        (_png(Image.new("RGB", (300, 100), (9, 9, 9)).copy()), "square"),
        (_png(Image.new("RGB", (8, 8), (9, 9, 9))), "at least"),
        (_png(Image.new("RGB", (64, 64), (120, 130, 140))), "all one colour"),
        (_png(Image.new("RGBA", (64, 64), (0, 0, 0, 0))), "all one colour"),
        (sketch()[:300], "truncated"),
    ],
)
def test_bad_sketches_are_refused_naming_the_field(data: bytes, says: str) -> None:
    with pytest.raises(ParamError) as err:
        check_params(TerrainParams, {"prompt": "hills", "sketch": data})
    assert err.value.field == "sketch" and says in str(err.value), str(err.value)
