"""Terrain files: PNG images and 16-bit PNG and RAW heightmaps (the GLB scene is ``scene.py``).

Everything returns bytes and is deterministic (same arrays -> same bytes): PNGs carry no time stamp. Provenance is
not written here: the engine adds it afterwards (``studio.provenance``).
"""

from __future__ import annotations

import io

import numpy as np

PNG_LEVEL = 1  # zlib level: files ~8 % bigger than the default 6, three times faster to write


def to_u8(rgb: np.ndarray) -> np.ndarray:
    """Float colours in [0, 1] -> uint8 (rounded)."""
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """PNG of a uint8 (H, W), (H, W, 3) or (H, W, 4) array, or a uint16 (H, W) array (16-bit greyscale)."""
    from PIL import Image

    if image.dtype == np.uint16:
        img = Image.fromarray(np.ascontiguousarray(image.astype("<u2")), mode="I;16")
    else:
        img = Image.fromarray(np.ascontiguousarray(image))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def height_u16(h: np.ndarray) -> np.ndarray:
    """Normalised heights [0, 1] -> uint16 (0 = lowest, 65535 = highest)."""
    return np.clip(np.rint(h.astype(np.float64) * 65535.0), 0, 65535).astype(np.uint16)


def raw_r16(h: np.ndarray) -> bytes:
    """RAW 16-bit little-endian, row-major (north row first): the Unity/Unreal "r16" heightmap."""
    return height_u16(h).astype("<u2").tobytes()


def normal_png(normal: np.ndarray) -> bytes:
    """Normal map of unit vectors (OpenGL convention: red = x/east, green = y/north, blue = z/up)."""
    return png_bytes(to_u8(normal * 0.5 + 0.5))
