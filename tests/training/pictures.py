"""Tiny training pictures the tests make: magenta squares on cyan, a colour and shape no built-in model draws."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

CAPTION = "magenta square"
BACKGROUND = (0, 200, 200)
SQUARE = (220, 0, 220)


def square_pictures(n: int = 8, side: int = 64) -> np.ndarray:
    """(n, side, side, 3) uint8: a magenta square (half the side, shifted a little per picture) on cyan."""
    out = np.zeros((n, side, side, 3), np.uint8)
    out[:] = BACKGROUND
    q = side // 4
    for i in range(n):
        dx = (i % 3) - 1
        out[i, q + dx : 3 * q + dx, q : 3 * q] = SQUARE
    return out


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def write_squares(folder: Path, n: int = 8, side: int = 80) -> list[Path]:
    """``n`` PNGs named ``magenta_square_<i>.png`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, a in enumerate(square_pictures(n, side)):
        p = folder / f"magenta_square_{i}.png"
        p.write_bytes(png_bytes(a))
        paths.append(p)
    return paths


def distance_to_data(images: list, data: np.ndarray) -> float:
    """Mean over ``images`` of the RMS pixel distance (0-255) to the nearest picture in ``data``."""
    s = np.stack([np.asarray(im.convert("RGB").resize(data.shape[1:3][::-1]), np.float32) for im in images])
    d = np.sqrt(((s[:, None] - data[None].astype(np.float32)) ** 2).mean(axis=(2, 3, 4)))
    return float(d.min(1).mean())
