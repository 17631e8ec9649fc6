"""The asset library: low-poly meshes made here from a seed (no files), flat-shaded with vertex colours.

Each kind's builder takes a ``numpy`` generator and returns a ``Model``: metres, +y up, standing on the origin,
facing no particular way (placement turns it). Different seeds give different variants of a kind: tiers and
heights of a conifer, crown lumps of a broadleaf, the lean and fronds of a palm, the facets of a rock, the arms of a
cactus, the walls and roof of a house. Every face is its own three vertices, so each has one normal (the faceted
look) and one colour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Model:
    """One asset variant: (t*3, 3) triangle corners, their normals, and (t*3, 3) sRGB colours in [0, 1]."""

    position: np.ndarray
    normal: np.ndarray
    colour: np.ndarray

    @property
    def triangles(self) -> int:
        return self.position.shape[0] // 3


class Builder:
    """Collects triangles; ``model()`` gives the flat-shaded result."""

    def __init__(self) -> None:
        self.tris: list[np.ndarray] = []  # (k, 3, 3) corners
        self.cols: list[np.ndarray] = []  # (k, 3)

    def add(self, tris: np.ndarray, colour: RGB) -> None:
        self.tris.append(np.asarray(tris, np.float64).reshape(-1, 3, 3))
        self.cols.append(np.tile(np.asarray(colour, np.float64), (self.tris[-1].shape[0], 1)))

    def model(self) -> Model:
        tris = np.concatenate(self.tris)  # (t, 3, 3)
        n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
        cols = np.concatenate(self.cols)
        return Model(
            tris.reshape(-1, 3).astype(np.float32),
            np.repeat(n, 3, axis=0).astype(np.float32),
            np.repeat(cols, 3, axis=0).astype(np.float32),
        )


def _ring(radius: float, y: float, seg: int, phase: float = 0.0) -> np.ndarray:
    a = phase + 2 * np.pi * np.arange(seg) / seg
    return np.stack([radius * np.cos(a), np.full(seg, y), -radius * np.sin(a)], -1)  # counter-clockwise from above


def frustum(b: Builder, r0: float, r1: float, y0: float, y1: float, seg: int, colour: RGB, phase: float = 0.0) -> None:
    """Sides (and the top cap when ``r1`` > 0) of a cone or cylinder section around +y."""
    lo, hi = _ring(r0, y0, seg, phase), _ring(r1, y1, seg, phase)
    nxt = np.roll(np.arange(seg), -1)
    if r1 > 0:
        b.add(np.stack([lo, lo[nxt], hi[nxt]], 1), colour)
        b.add(np.stack([lo, hi[nxt], hi], 1), colour)
        top = np.array([0.0, y1, 0.0])
        b.add(np.stack([np.tile(top, (seg, 1)), hi, hi[nxt]], 1), colour)
    else:
        tip = np.tile(np.array([0.0, y1, 0.0]), (seg, 1))
        b.add(np.stack([lo, lo[nxt], tip], 1), colour)


def _icosahedron() -> tuple[np.ndarray, np.ndarray]:
    t = (1 + 5**0.5) / 2
    v = np.array(
        [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
         [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]],
        np.float64,
    )  # fmt: skip
    f = np.array(
        [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6],
         [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
         [8, 6, 7], [9, 8, 1]]
    )  # fmt: skip
    return v / np.linalg.norm(v, axis=1, keepdims=True), f


def blob(b: Builder, rng: np.random.Generator, centre: np.ndarray, size: np.ndarray, colour: RGB, j: float) -> None:
    """A lumpy icosahedron (20 facets): crowns, bushes, rocks."""
    v, f = _icosahedron()
    v = v * (1.0 + j * rng.uniform(-1, 1, (len(v), 1)))  # j: how lumpy
    b.add((v * size + centre)[f], colour)


def box(b: Builder, lo: np.ndarray, hi: np.ndarray, colour: RGB) -> None:
    """An axis-aligned box (no bottom face)."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    c = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1], [x0, y1, z0], [x1, y1, z0], [x1, y1, z1]])
    c = np.vstack([c, [[x0, y1, z1]]])
    quads = [(3, 2, 6, 7), (1, 0, 4, 5), (2, 1, 5, 6), (0, 3, 7, 4), (7, 6, 5, 4)]  # south, north, east, west, top
    for q in quads:
        b.add(np.array([[c[q[0]], c[q[1]], c[q[2]]], [c[q[0]], c[q[2]], c[q[3]]]]), colour)


def _jit(rng: np.random.Generator, rgb: RGB, amount: float = 0.06) -> RGB:
    r, g, bl = np.clip(np.asarray(rgb) * (1 + rng.uniform(-amount, amount, 3)), 0, 1)
    return (float(r), float(g), float(bl))


BARK, DARK_BARK = (0.36, 0.25, 0.16), (0.27, 0.19, 0.13)


def conifer(rng: np.random.Generator) -> Model:
    b = Builder()
    height = rng.uniform(8, 15)
    frustum(b, 0.25, 0.18, 0.0, height * 0.3, 5, DARK_BARK)
    tiers = int(rng.integers(3, 5))
    green = _jit(rng, (0.13, 0.30, 0.16))
    for i in range(tiers):
        y0 = height * (0.18 + 0.62 * i / tiers)
        r = height * 0.28 * (1 - 0.7 * i / tiers) * rng.uniform(0.9, 1.1)
        frustum(b, r, 0.0, y0, y0 + height * 0.4, 7, _jit(rng, green, 0.08), phase=rng.uniform(0, 1))
    return b.model()


def broadleaf(rng: np.random.Generator) -> Model:
    b = Builder()
    height = rng.uniform(7, 12)
    frustum(b, 0.32, 0.2, 0.0, height * 0.55, 6, BARK)
    green = _jit(rng, (0.22, 0.42, 0.16))
    for _ in range(int(rng.integers(2, 5))):
        centre = np.array([rng.uniform(-1, 1), height * rng.uniform(0.62, 0.78), rng.uniform(-1, 1)])
        blob(b, rng, centre, np.array([1.0, 0.8, 1.0]) * height * rng.uniform(0.22, 0.3), _jit(rng, green), 0.15)
    return b.model()


def palm(rng: np.random.Generator) -> Model:
    b = Builder()
    height = rng.uniform(7, 11)
    lean = rng.uniform(0.05, 0.18)
    segments, base = 5, np.zeros(3)
    for i in range(segments):  # a curved trunk of leaning drums
        y0, y1 = height * i / segments, height * (i + 1) / segments
        drum = Builder()
        frustum(drum, 0.22 - 0.02 * i, 0.2 - 0.02 * i, y0, y1, 5, BARK)
        shift = np.array([lean * height * ((i / segments) ** 1.6), 0, 0])
        for tris, col in zip(drum.tris, drum.cols, strict=True):
            b.add(tris + shift, tuple(col[0]))
        base = shift + np.array([0, y1, 0])
    green = _jit(rng, (0.24, 0.5, 0.18))
    fronds = int(rng.integers(6, 9))
    for k in range(fronds):  # drooping leaves: two thin triangles each, top and bottom faces
        a = 2 * np.pi * (k + rng.uniform(-0.2, 0.2)) / fronds
        d = np.array([np.cos(a), 0.0, -np.sin(a)])
        side = np.array([-d[2], 0.0, d[0]]) * 0.45
        length = height * rng.uniform(0.42, 0.55)
        mid, tip = base + d * length * 0.55 + [0, 0.5, 0], base + d * length + [0, -length * 0.45, 0]
        for s in (1, -1):  # each half-leaf faces up and down (two windings), so it shows from both sides
            b.add(np.array([[base, mid + side * s, mid], [mid, mid + side * s, tip]]), green)
            b.add(np.array([[base, mid, mid + side * s], [mid, tip, mid + side * s]]), green)
    return b.model()


def bush(rng: np.random.Generator) -> Model:
    b = Builder()
    size = rng.uniform(0.7, 1.4)
    green = _jit(rng, (0.25, 0.42, 0.18), 0.12)
    for _ in range(int(rng.integers(1, 4))):
        centre = np.array([rng.uniform(-0.4, 0.4) * size, size * 0.45, rng.uniform(-0.4, 0.4) * size])
        blob(b, rng, centre, np.array([1.0, 0.75, 1.0]) * size * rng.uniform(0.45, 0.65), _jit(rng, green), 0.2)
    return b.model()


def rock(rng: np.random.Generator) -> Model:
    b = Builder()
    size = rng.uniform(0.8, 2.6)
    grey = _jit(rng, (0.47, 0.45, 0.42), 0.1)
    shape = np.array([1.0, rng.uniform(0.45, 0.8), rng.uniform(0.7, 1.0)]) * size
    blob(b, rng, np.array([0, size * 0.3, 0]), shape, grey, 0.3)
    return b.model()


def cactus(rng: np.random.Generator) -> Model:
    b = Builder()
    height = rng.uniform(2.0, 4.0)
    green = _jit(rng, (0.32, 0.48, 0.25))
    frustum(b, 0.25, 0.2, 0.0, height, 7, green)
    for _ in range(int(rng.integers(0, 3))):
        arm = Builder()
        y = height * rng.uniform(0.35, 0.6)
        frustum(arm, 0.15, 0.13, 0.0, height * 0.35, 6, green)
        x = rng.choice([-1.0, 1.0]) * 0.55
        for tris in arm.tris:
            b.add(tris + np.array([x, y, 0.0]), green)
        box(b, np.array([min(0, x), y - 0.12, -0.12]), np.array([max(0, x), y + 0.12, 0.12]), green)
    return b.model()


def grass(rng: np.random.Generator) -> Model:
    b = Builder()
    green = _jit(rng, (0.42, 0.55, 0.22), 0.12)
    for _ in range(int(rng.integers(5, 9))):  # thin three-sided blades
        a, lean = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.3)
        h = rng.uniform(0.3, 0.7)
        foot = np.array([np.cos(a), 0, -np.sin(a)]) * rng.uniform(0, 0.15)
        tip = foot + np.array([np.cos(a) * lean, h, -np.sin(a) * lean])
        ring = foot + _ring(0.03, 0.0, 3, a)
        b.add(np.stack([ring, np.roll(ring, -1, 0), np.tile(tip, (3, 1))], 1), green)
    return b.model()


def house(rng: np.random.Generator) -> Model:
    b = Builder()
    w, d, h = rng.uniform(4, 7), rng.uniform(5, 9), rng.uniform(2.6, 3.6)
    wall = _jit(rng, rng.choice([(0.86, 0.8, 0.68), (0.75, 0.62, 0.45), (0.62, 0.52, 0.42)]))
    roof = _jit(rng, rng.choice([(0.55, 0.2, 0.15), (0.35, 0.3, 0.28), (0.48, 0.36, 0.2)]))
    box(b, np.array([-w / 2, 0, -d / 2]), np.array([w / 2, h, d / 2]), wall)
    ridge, over = h + w * rng.uniform(0.3, 0.5), 0.3
    left, r, top = -w / 2 - over, w / 2 + over, np.array([0.0, ridge, 0.0])
    zs, zn = d / 2 + over, -d / 2 - over
    west = [[[left, h, zs], [0, ridge, zs], [0, ridge, zn]], [[left, h, zs], [0, ridge, zn], [left, h, zn]]]
    b.add(np.array(west), roof)
    b.add(np.array([[[r, h, zs], [r, h, zn], [0, ridge, zn]], [[r, h, zs], [0, ridge, zn], [0, ridge, zs]]]), roof)
    for z, s in ((d / 2, 1), (-d / 2, -1)):  # gables
        tri = np.array([[-w / 2, h, z], [w / 2, h, z], top + np.array([0, 0, z])])
        b.add(tri if s > 0 else tri[::-1], wall)
    box(b, np.array([-0.5, 0, d / 2]), np.array([0.5, 2.0, d / 2 + 0.05]), (0.3, 0.2, 0.12))  # door
    return b.model()


BUILDERS: dict[str, Callable[[np.random.Generator], Model]] = {
    "conifer": conifer,
    "broadleaf": broadleaf,
    "palm": palm,
    "bush": bush,
    "rock": rock,
    "cactus": cactus,
    "grass": grass,
    "house": house,
}
KINDS = tuple(BUILDERS)


def variant(kind: str, seed: int, index: int) -> Model:
    """Variant ``index`` of ``kind`` for the terrain ``seed`` (same arguments, same mesh)."""
    return BUILDERS[kind](np.random.default_rng([seed, KINDS.index(kind), index]))
