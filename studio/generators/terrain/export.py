"""Terrain files: PNG images, 16-bit PNG and RAW heightmaps, and a GLB mesh with vertex colours.

Everything returns bytes and is deterministic (same arrays -> same bytes): PNGs carry no time stamp and the
GLB is written by trimesh from plain arrays. Provenance is not written here: the engine adds it afterwards
(``studio.provenance.embed_glb``); ``glb_bytes(..., extras=...)`` can also put facts in the scene's extras.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

MESH_MAX = 257  # vertices per side of the GLB grid (257^2 ~ 66k vertices, ~2.5 MB)
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
    """Tangent-space normal map (OpenGL convention: red = east, green = north, blue = up)."""
    return png_bytes(to_u8(normal * 0.5 + 0.5))


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """glTF vertex colours are linear; convert sRGB so viewers show the same colours as the PNG."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def mesh_step(n: int, max_vertices: int = MESH_MAX) -> int:
    """Stride of the decimated mesh grid: n = 1025 -> 4 (257 x 257 vertices); n <= 257 -> 1."""
    return max(1, int(np.ceil((n - 1) / (max_vertices - 1))))


def glb_bytes(
    h: np.ndarray,
    albedo: np.ndarray,
    height_m: float,
    extent_m: float,
    water_h: float | None = None,
    water_rgb: tuple[float, float, float] = (0.2, 0.45, 0.6),
    extras: dict[str, Any] | None = None,
    max_vertices: int = MESH_MAX,
) -> bytes:
    """A GLB (Y up, metres, centred) of the height field with vertex colours, plus a water plane.

    The grid is decimated to at most ``max_vertices`` per side. ``extras`` goes into the glTF scene's
    ``extras`` (for provenance). ``water_h`` (normalised) adds a translucent water plane at that height.
    """
    import trimesh

    n = h.shape[0]
    step = mesh_step(n, max_vertices)
    hs = h[::step, ::step]
    cs = albedo[::step, ::step]
    k = hs.shape[0]
    axis = (np.arange(k, dtype=np.float32) * step / (n - 1) - 0.5) * np.float32(extent_m)
    xs, zs = np.meshgrid(axis, axis)  # x east, z south (glTF: +z towards the viewer)
    vertices = np.stack([xs, hs * np.float32(height_m), zs], axis=-1).reshape(-1, 3)
    idx = np.arange(k * k, dtype=np.int64).reshape(k, k)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([c, b, d], -1).reshape(-1, 3)])
    rgba = np.concatenate([to_u8(srgb_to_linear(cs)), np.full((*cs.shape[:2], 1), 255, np.uint8)], -1)
    land = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=rgba.reshape(-1, 4), process=False)
    scene = trimesh.Scene()
    scene.add_geometry(land, geom_name="terrain", node_name="terrain")
    if water_h is not None and water_h > 0:
        half = extent_m / 2
        y = float(water_h) * height_m
        quad = np.array([[-half, y, -half], [-half, y, half], [half, y, -half], [half, y, half]], np.float32)
        water = trimesh.Trimesh(vertices=quad, faces=[[0, 1, 2], [2, 1, 3]], process=False)
        water.visual = trimesh.visual.TextureVisuals(
            material=trimesh.visual.material.PBRMaterial(
                name="water",
                baseColorFactor=[*water_rgb, 0.72],
                metallicFactor=0.0,
                roughnessFactor=0.15,
                alphaMode="BLEND",
                doubleSided=True,
            )
        )
        scene.add_geometry(water, geom_name="water", node_name="water")
    if extras:
        scene.metadata.update(extras)
    return bytes(scene.export(file_type="glb"))
