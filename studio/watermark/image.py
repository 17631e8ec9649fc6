"""The picture watermark: signs of low and middle DCT coefficients of the luminance, set to a pattern.

Method (a spread-spectrum sign code, in numpy; no library):

- The picture's luminance is transformed with one DCT over the whole picture. Its coefficients ``(u, v)`` with
  ``4 <= u + v <= 44`` and ``u, v <= 34`` (915 of them) count cycles per picture, so a resized copy has the same
  pattern at the same indices; they are low enough for JPEG at quality 75 to keep.
- Each of the 4,096 payloads has its own pseudo-random ±1 pattern over those coefficients. Marking moves the
  cheapest coefficients (those nearest to agreeing already) until enough agree in sign with the payload's pattern,
  each by a margin, then adds the change to R, G and B alike (about 37 dB PSNR on the 64x64 built-ins).
- Reading counts the agreements for every pattern: unmarked content agrees with each about half the time, so the
  score ``z = (agree - disagree) / sqrt(n)`` is a standard normal whatever the picture, and a false alarm has a
  computable chance. A crop moves the pattern, so the reader also tries the picture as a centred or cornered crop
  of 95, 90, 85 and 80 % of a side (those looks count in the false-alarm chance).

Pictures under ``MIN_SIDE`` pixels a side are not marked: too few coefficients to carry a pattern through a resize.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.watermark.payload import PAYLOADS, Reading, seed_of

BAND_LOW, BAND_HIGH, INDEX_MAX = 4, 44, 34
TARGET_Z = 16.0  # the score a fresh mark is given; attacks take some away
MARGIN = 5.0  # how far past zero a set coefficient goes, in 8-bit units for a 64x64 picture
MIN_SIDE = 48
READ_SIDE = 128  # pictures are read at most this large: the pattern is the same at any size
CROPS = tuple((f, a) for f in (0.95, 0.9, 0.85, 0.8) for a in ("c", "tl", "tr", "bl", "br"))
LOOKS = (1 + len(CROPS)) * PAYLOADS


def _band() -> tuple[np.ndarray, np.ndarray]:
    u, v = np.meshgrid(np.arange(INDEX_MAX + 1), np.arange(INDEX_MAX + 1), indexing="ij")
    keep = (u + v >= BAND_LOW) & (u + v <= BAND_HIGH)
    return u[keep], v[keep]


def _patterns(n: int) -> np.ndarray:
    """(PAYLOADS, n) of ±1: the pattern of each payload."""
    rng = np.random.default_rng(seed_of("image-dct-sign"))
    return rng.integers(0, 2, size=(PAYLOADS, n), dtype=np.int8) * 2 - 1


def _basis(n: int) -> np.ndarray:
    """(INDEX_MAX + 1, n): the first rows of the orthonormal DCT-II matrix of size ``n``."""
    k = np.arange(INDEX_MAX + 1)[:, None]
    basis = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    basis[0] /= np.sqrt(2.0)
    return basis


def low_dct(y: np.ndarray) -> np.ndarray:
    """The (INDEX_MAX + 1)² lowest coefficients of the orthonormal 2-D DCT of ``y`` (only those are needed: two
    thin matrix products instead of a whole transform)."""
    return _basis(y.shape[0]) @ y @ _basis(y.shape[1]).T


def low_idct(coef: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The picture of ``shape`` whose DCT is ``coef`` in its lowest corner and zero elsewhere."""
    return _basis(shape[0]).T @ coef @ _basis(shape[1])


def luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float luminance of (H, W, 3) RGB (BT.601, as JPEG uses)."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def mark_pixels(rgb: np.ndarray, payload: int) -> np.ndarray:
    """(H, W, 3) uint8 with ``payload`` marked in (deterministic: same picture and payload, same pixels)."""
    y = luma(rgb.astype(np.float64))
    coef = low_dct(y)
    u, v = _band()
    x = coef[u, v]
    sign = _patterns(len(u))[payload].astype(np.float64)
    margin = MARGIN * np.sqrt(y.size) / 64.0  # an orthonormal DCT's coefficients grow with the picture's side
    cost = np.maximum(0.0, margin - sign * x)
    need = int(np.ceil((TARGET_Z * np.sqrt(len(u)) + len(u)) / 2))  # agreements that give TARGET_Z
    chosen = np.argsort(cost, kind="stable")[:need]
    delta = np.zeros_like(coef)
    delta[u[chosen], v[chosen]] = sign[chosen] * np.maximum(sign[chosen] * x[chosen], margin) - x[chosen]
    dy = low_idct(delta, y.shape)
    return np.clip(rgb.astype(np.float64) + dy[..., None], 0, 255).round().astype(np.uint8)


def read_pixels(rgb: np.ndarray) -> Reading:
    """The best payload in (H, W, 3) pixels over every look (as is, and as each crop of ``CROPS``)."""
    y = luma(rgb.astype(np.float64))
    u, v = _band()
    patterns = _patterns(len(u)).astype(np.float32)
    best = Reading(0, -np.inf, LOOKS)
    for canvas in _looks(y):
        signs = np.sign(low_dct(canvas)[u, v]).astype(np.float32)
        z = patterns @ signs / np.sqrt(len(u))
        p = int(np.argmax(z))
        if z[p] > best.z:
            best = Reading(p, float(z[p]), LOOKS)
    return best


def _looks(y: np.ndarray) -> Any:
    """The luminance as is, then placed into the larger canvas it would be a crop of (padded with its mean)."""
    yield y
    h, w = y.shape
    for frac, anchor in CROPS:
        big_h, big_w = round(h / frac), round(w / frac)
        canvas = np.full((big_h, big_w), float(y.mean()))
        top = {"c": (big_h - h) // 2, "tl": 0, "tr": 0, "bl": big_h - h, "br": big_h - h}[anchor]
        left = {"c": (big_w - w) // 2, "tl": 0, "bl": 0, "tr": big_w - w, "br": big_w - w}[anchor]
        canvas[top : top + h, left : left + w] = y
        yield canvas
