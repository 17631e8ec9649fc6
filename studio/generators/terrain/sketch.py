"""Sketch-to-terrain: a rough painted map steers the height field, the water and the forests; the prompt and the
noise fill in the detail.

How a sketch is read (colours are judged per pixel, after a blur that ignores brush edges):

- grey (white = high, black = low): the big shapes of the land;
- blue (blue clearly above red and green): water; the water level becomes the painted share unless set;
- green (green clearly above red and blue): forest; trees grow there and the ground turns to forest;
- transparent: no opinion (the prompt decides there).

Refused, each with a ``ParamError`` naming ``sketch``: more than ``MAX_BYTES``, not a PNG / JPEG / WebP / BMP
image, a picture larger than ``MAX_SIDE_PX`` a side (judged from the header before any pixel is decoded, which
stops decompression bombs), smaller than ``MIN_SIDE_PX`` or further from square than ``MAX_ASPECT``, a truncated
file, and a sketch that is all one colour (it says nothing). Pillow's process-wide settings are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from studio.params import ParamError
from studio.uploads import Limits, decoded
from studio.uploads import opened as open_header

FIELD = "sketch"
MAX_BYTES = 20 * 1024 * 1024
MAX_SIDE_PX = 4096
MIN_SIDE_PX = 16
MAX_ASPECT = 1.5  # the terrain is square; a strip of a picture is a mistake
FORMATS = ("PNG", "JPEG", "WEBP", "BMP")
WORK_PX = 256  # sketches are read at this size: they are rough by nature


@dataclass(frozen=True)
class Sketch:
    """What a sketch says, on a (WORK_PX, WORK_PX) grid; each map in [0, 1]."""

    height: np.ndarray  # painted height (where ``known``), filled smoothly elsewhere
    known: np.ndarray  # how much the height was painted there
    water: np.ndarray
    forest: np.ndarray


def _open(data: bytes) -> Any:
    """The decoded image after every check (``studio/uploads.py``, then the sketch's own); raises ``ParamError``."""
    im = open_header(FIELD, data, Limits(FORMATS, MAX_BYTES, MAX_SIDE_PX, MAX_SIDE_PX * MAX_SIDE_PX))
    w, h = im.size  # from the header: nothing decoded yet
    if w < MIN_SIDE_PX or h < MIN_SIDE_PX:
        raise ParamError(FIELD, f"is {w}x{h} pixels; at least {MIN_SIDE_PX} a side")
    if max(w, h) / min(w, h) > MAX_ASPECT:
        raise ParamError(FIELD, f"is {w}x{h}: the terrain is square, so the sketch must be nearly so")
    return decoded(FIELD, im)


def read_sketch(data: bytes) -> Sketch:
    """Check and read a sketch; raises ``ParamError`` (see the module docstring)."""
    from PIL import Image

    im = _open(data).convert("RGBA").resize((WORK_PX, WORK_PX), Image.Resampling.BOX)
    rgba = np.asarray(im, dtype=np.float32) / 255.0  # (W, W, 4)
    rgb, alpha = rgba[..., :3], rgba[..., 3]
    painted = alpha > 0.5
    if not painted.any() or float(np.ptp(rgb[painted], axis=0).max()) < 2 / 255:
        raise ParamError(FIELD, "is all one colour: paint high and low ground, water or forest on it")
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    water = ((b - np.maximum(r, g)) > 0.15) * alpha
    forest = ((g - np.maximum(r, b)) > 0.12) * alpha * (1 - water)
    known = alpha * (1 - water) * (1 - forest)
    grey = rgb.mean(axis=-1)
    # Normalised convolution: grey where it was painted, a smooth fill from around it elsewhere.
    sigma = WORK_PX / 48
    num = ndimage.gaussian_filter(grey * known, sigma)
    den = ndimage.gaussian_filter(known, sigma)
    wide_den = ndimage.gaussian_filter(known, WORK_PX / 8)
    wide = ndimage.gaussian_filter(grey * known, WORK_PX / 8) / np.maximum(wide_den, 1e-6)
    height = np.where(den > 1e-3, num / np.maximum(den, 1e-6), wide if known.any() else 0.5)
    smooth = lambda a: np.clip(ndimage.gaussian_filter(a.astype(np.float32), WORK_PX / 128), 0, 1)  # noqa: E731
    return Sketch(smooth(height), smooth(den.clip(0, 1)), smooth(water), smooth(forest))


def to_grid(a: np.ndarray, m: int) -> np.ndarray:
    """A (WORK_PX, WORK_PX) sketch map resampled to the (m, m) working grid (bilinear)."""
    zoom = m / a.shape[0]
    return np.clip(ndimage.zoom(a, zoom, order=1, mode="nearest", grid_mode=True), 0, 1).astype(np.float32)[:m, :m]


def water_share_map(sk: Sketch, m: int) -> np.ndarray:
    """The painted water on the (m, m) grid; above 0.5 counts as water (its share sets the water level)."""
    return ndimage.gaussian_filter(to_grid(sk.water, m), m / 128, mode="nearest")


def steer(h: np.ndarray, sk: Sketch, strength: float = 0.7) -> np.ndarray:
    """The normalised (m, m) height field ``h`` pulled towards the sketch: the painted grey sets the large shapes,
    ``h`` keeps its detail; painted water is pressed below everything around it."""
    m = h.shape[0]
    known = to_grid(sk.known, m) * strength
    height = to_grid(sk.height, m)
    detail = h - ndimage.gaussian_filter(h, m / 32, mode="nearest")
    guided = (1 - known) * h + known * (height + 1.5 * detail)
    water = water_share_map(sk, m)
    water = np.clip((water - 0.1) / 0.4, 0, 1) ** 2 * (3 - 2 * np.clip((water - 0.1) / 0.4, 0, 1))  # full from 0.5
    lo, hi = float(guided.min()), float(guided.max())
    land = 0.15 + 0.85 * (guided - lo) / max(hi - lo, 1e-6)  # land stays above 0.15 ...
    return ((1 - water) * land + water * 0.1 * land).astype(np.float32)  # ... painted water sinks below it
