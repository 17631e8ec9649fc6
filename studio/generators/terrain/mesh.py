"""The terrain surface as engine-ready vertex data: positions, normals, tangents and UVs on a decimated grid, cut
into chunks, plus the detail normal map that goes with that surface.

Coordinates are glTF's: metres, +x east, +y up, +z south, the map centred on the origin. UV (0, 0) is the map's
north-west corner, so the albedo, normal and splat PNGs (north row first) map onto the mesh as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MESH_MAX = 257  # vertices per side of the mesh grid (257^2 ~ 66k vertices)
CHUNK_QUADS = 64  # quads per side of one chunk when the grid is larger than one chunk of 128


def mesh_step(n: int, max_vertices: int = MESH_MAX) -> int:
    """Stride of the decimated mesh grid: n = 1025 -> 4 (257 x 257 vertices); n <= 257 -> 1."""
    return max(1, int(np.ceil((n - 1) / (max_vertices - 1))))


@dataclass(frozen=True)
class Surface:
    """Vertex data of the whole (k, k) mesh grid, in glTF coordinates."""

    position: np.ndarray  # (k, k, 3) float32 metres
    normal: np.ndarray  # (k, k, 3) float32 unit
    tangent: np.ndarray  # (k, k, 4) float32: unit +u direction along the surface, w = +1
    uv: np.ndarray  # (k, k, 2) float32
    step: int  # heightmap pixels per mesh quad


def _slopes(hs: np.ndarray, spacing: float, tileable: bool) -> tuple[np.ndarray, np.ndarray]:
    """(d height / d east, d height / d south) of a (k, k) grid; a tiling grid wraps (its last row and column
    repeat the first), so the normals on opposite edges are equal and tiles meet without a crease."""
    if not tileable:
        dz, dx = np.gradient(hs, spacing)
        return dx, dz
    p = hs[:-1, :-1]
    dx = (np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)) / np.float32(2 * spacing)
    dz = (np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)) / np.float32(2 * spacing)
    close = lambda a: np.pad(a, ((0, 1), (0, 1)), mode="wrap")  # noqa: E731
    return close(dx), close(dz)


def surface(
    h: np.ndarray, height_m: float, extent_m: float, max_vertices: int = MESH_MAX, tileable: bool = False
) -> Surface:
    """The decimated surface of the normalised (n, n) height field ``h``."""
    n = h.shape[0]
    step = mesh_step(n, max_vertices)
    hs = h[::step, ::step].astype(np.float32) * np.float32(height_m)  # (k, k) metres
    k = hs.shape[0]
    t = np.arange(k, dtype=np.float32) * np.float32(step / (n - 1))  # (k,) in [0, 1]
    xs, zs = np.meshgrid((t - 0.5) * np.float32(extent_m), (t - 0.5) * np.float32(extent_m))
    position = np.stack([xs, hs, zs], axis=-1)
    spacing = extent_m * step / (n - 1)
    dx, dz = _slopes(hs, spacing, tileable)
    inv = 1.0 / np.sqrt(dx * dx + dz * dz + 1.0)
    normal = np.stack([-dx * inv, inv, -dz * inv], axis=-1).astype(np.float32)
    tinv = 1.0 / np.sqrt(dx * dx + 1.0)  # (1, dx, 0) is the surface's direction east: normal . it = 0
    tangent = np.stack([tinv, dx * tinv, np.zeros_like(dx), np.ones_like(dx)], axis=-1).astype(np.float32)
    u, v = np.meshgrid(t, t)
    uv = np.stack([u, v], axis=-1).astype(np.float32)
    return Surface(position.astype(np.float32), normal, tangent, uv, step)


def chunk_quads(k: int) -> int:
    """Quads per chunk side for a (k, k) grid: one chunk up to 128 quads a side, 64-quad chunks above."""
    return k - 1 if k - 1 <= 2 * CHUNK_QUADS else CHUNK_QUADS


def chunk_slices(k: int) -> list[tuple[int, int, slice, slice]]:
    """(row, col, rows, cols) of each chunk, north-west first; neighbours share their edge vertices."""
    q = chunk_quads(k)
    starts = list(range(0, k - 1, q))
    return [
        (i, j, slice(r, min(r + q, k - 1) + 1), slice(c, min(c + q, k - 1) + 1))
        for i, r in enumerate(starts)
        for j, c in enumerate(starts)
    ]


def grid_indices(rows: int, cols: int) -> np.ndarray:
    """Triangle indices (counter-clockwise seen from above, +y) of a rows x cols vertex grid, row-major."""
    idx = np.arange(rows * cols, dtype=np.uint32).reshape(rows, cols)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:], idx[1:, 1:]  # a north-west, b south-west, c north-east
    tris = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([c, b, d], -1).reshape(-1, 3)])
    return tris.reshape(-1).astype(np.uint16 if rows * cols <= 65535 else np.uint32)


def _upsample(a: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resample of a (k, k) grid to (size, size), corners aligned (float32)."""
    k = a.shape[0]
    if k == size:
        return a.astype(np.float32, copy=False)
    x = np.linspace(0.0, k - 1, size)
    i0 = np.clip(np.floor(x).astype(np.int64), 0, k - 2)
    f = (x - i0).astype(np.float32)
    rows = a[i0] * (1 - f)[:, None] + a[i0 + 1] * f[:, None]
    return (rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]).astype(np.float32)


def detail_normals(normal_enu: np.ndarray, s: Surface) -> np.ndarray:
    """The full-resolution normals (size, size, 3; east, north, up) in the mesh's tangent frame.

    A glTF normal texture is read relative to the surface it lies on; the mesh already leans with the coarse
    slope, so applying the full normal map would tilt it twice. What the texture holds is the fine detail the
    decimated mesh lacks: x along the tangent T (east), y along the bitangent cross(N, T) (north), z along N.
    """
    size = normal_enu.shape[0]
    wx, wy, wz = normal_enu[..., 0], normal_enu[..., 2], -normal_enu[..., 1]  # glTF x, y, z of the fine normal
    nx, ny, nz = (_upsample(s.normal[..., c], size) for c in range(3))  # the mesh's normal, interpolated
    inv = 1.0 / np.sqrt(nx * nx + ny * ny + nz * nz)
    nx, ny, nz = nx * inv, ny * inv, nz * inv
    # T: east (1, 0, 0) made perpendicular to N; B = N x T.
    tx, ty, tz = 1.0 - nx * nx, -nx * ny, -nx * nz
    inv = 1.0 / np.sqrt(tx * tx + ty * ty + tz * tz)
    tx, ty, tz = tx * inv, ty * inv, tz * inv
    bx, by, bz = ny * tz - nz * ty, nz * tx - nx * tz, nx * ty - ny * tx
    lx = wx * tx + wy * ty + wz * tz
    ly = wx * bx + wy * by + wz * bz
    lz = np.maximum(wx * nx + wy * ny + wz * nz, np.float32(1e-3))
    inv = 1.0 / np.sqrt(lx * lx + ly * ly + lz * lz)
    return np.stack([lx * inv, ly * inv, lz * inv], axis=-1).astype(np.float32)
