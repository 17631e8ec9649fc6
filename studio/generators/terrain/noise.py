"""Noise fields for the terrain generator, evaluated by FastNoiseLite (pyfastnoiselite), vectorised.

Coordinates are in *map units*: the map spans ``[0, 1]`` on both axes, so a layer's ``frequency`` is in
features per map and a 257 px preview and a 1025 px export of the same seed show the same landscape.

A ``Grid`` says where the samples lie. An ordinary grid is inclusive (``u = i / (n - 1)``, both edges
sampled). A tileable grid is *periodic*: ``m = n - 1`` samples ``u = i / m`` cover one period; every field is
computed on that grid (erosion wraps around too) and ``Grid.close`` appends the first row and column at the
end, so the exported ``n`` x ``n`` map repeats exactly with the game-engine "+1" convention.

FastNoiseLite has no 4D noise, so tileable noise is not sampled on a 4D torus. Instead each layer is the
variance-preserving blend of four copies offset by one period::

    T(u, v) = sum_ij w_i(u) w_j(v) F(u - i, v - j),   w_0 = cos(pi u / 2), w_1 = sin(pi u / 2)

``T`` is periodic (at ``u = 0`` and ``u = 1`` the same copy carries all the weight) and, because
``w_0^2 + w_1^2 = 1``, it keeps the variance of ``F``; ridged layers get a little softer where copies mix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

SEED_MOD = 2**31 - 1


@dataclass(frozen=True)
class Grid:
    """Sample positions of an ``n`` x ``n`` map; ``tileable`` makes it periodic (see the module docstring)."""

    n: int
    tileable: bool = False

    @property
    def m(self) -> int:
        """Samples per side of the working grid (``n - 1`` when periodic)."""
        return self.n - 1 if self.tileable else self.n

    def axis(self, m: int | None = None) -> np.ndarray:
        """Map-unit positions along one axis of the working grid (or of a coarser one with ``m`` samples)."""
        m = self.m if m is None else m
        if self.tileable:
            return (np.arange(m, dtype=np.float64) / m).astype(np.float32)
        return np.linspace(0.0, 1.0, m, dtype=np.float32)

    def coords(self, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(u, v)`` arrays of shape (m, m): u grows along columns (east), v along rows (south)."""
        a = self.axis(m)
        u, v = np.meshgrid(a, a)
        return u, v

    def close(self, a: np.ndarray) -> np.ndarray:
        """Working-grid field (m, m, ...) -> exported field (n, n, ...); periodic grids repeat row/col 0."""
        if not self.tileable:
            return a
        a = np.concatenate([a, a[:1]], axis=0)
        return np.concatenate([a, a[:, :1]], axis=1)

    def resample(self, a: np.ndarray, m_out: int | None = None) -> np.ndarray:
        """Resample a square working-grid field (k, k) to (m_out, m_out) (default: this grid), edges aligned.

        Periodic grids resample periodically. Upsampling is Catmull-Rom cubic, downsampling a tent filter
        as wide as the step (so nothing aliases); both are sparse matrices applied to rows and columns.
        """
        m_out = self.m if m_out is None else m_out
        k = a.shape[0]
        if k == m_out:
            return a.astype(np.float32, copy=False)
        w = resample_matrix(k, m_out, self.tileable)
        return np.asarray((w @ (w @ a.astype(np.float32)).T).T, dtype=np.float32)


def resample_matrix(k: int, m_out: int, periodic: bool) -> sparse.csr_matrix:
    """(m_out, k) sparse matrix taking k samples of a [0, 1] axis to m_out samples of the same span."""
    o = np.arange(m_out, dtype=np.float64)
    x = o * k / m_out if periodic else o * (k - 1) / max(m_out - 1, 1)  # output positions in input samples
    if m_out >= k:  # Catmull-Rom: four taps around each output position
        i0 = np.floor(x).astype(np.int64)
        t = x - i0
        taps = np.stack([i0 - 1, i0, i0 + 1, i0 + 2], axis=1)
        t2, t3 = t * t, t * t * t
        weights = np.stack(
            [
                -0.5 * t3 + t2 - 0.5 * t,
                1.5 * t3 - 2.5 * t2 + 1.0,
                -1.5 * t3 + 2.0 * t2 + 0.5 * t,
                0.5 * t3 - 0.5 * t2,
            ],
            axis=1,
        )
    else:  # tent filter with a radius of one output step
        r = k / m_out
        offs = np.arange(-int(np.ceil(r)), int(np.ceil(r)) + 1)
        taps = np.floor(x)[:, None].astype(np.int64) + offs[None, :]
        weights = np.clip(1.0 - np.abs(taps - x[:, None]) / r, 0.0, None)
    taps = taps % k if periodic else np.clip(taps, 0, k - 1)
    weights /= weights.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(m_out), taps.shape[1])
    return sparse.csr_matrix((weights.ravel().astype(np.float32), (rows, taps.ravel())), shape=(m_out, k))


@dataclass(frozen=True)
class Layer:
    """One FastNoiseLite fractal: ``fractal`` is "fbm", "ridged" or "none"; ``frequency`` is per map."""

    seed: int
    frequency: float
    octaves: int = 5
    gain: float = 0.5
    lacunarity: float = 2.0
    fractal: str = "fbm"
    noise: str = "opensimplex2s"
    weighted_strength: float = 0.0


def _make(layer: Layer) -> object:
    from pyfastnoiselite.pyfastnoiselite import FastNoiseLite, FractalType, NoiseType

    noise_types = {
        "opensimplex2": NoiseType.NoiseType_OpenSimplex2,
        "opensimplex2s": NoiseType.NoiseType_OpenSimplex2S,
        "perlin": NoiseType.NoiseType_Perlin,
        "value_cubic": NoiseType.NoiseType_ValueCubic,
    }
    fractals = {
        "none": FractalType.FractalType_None,
        "fbm": FractalType.FractalType_FBm,
        "ridged": FractalType.FractalType_Ridged,
    }
    fn = FastNoiseLite(int(layer.seed) % SEED_MOD)
    fn.noise_type = noise_types[layer.noise]
    fn.fractal_type = fractals[layer.fractal]
    fn.frequency = float(layer.frequency)
    fn.fractal_octaves = int(layer.octaves)
    fn.fractal_gain = float(layer.gain)
    fn.fractal_lacunarity = float(layer.lacunarity)
    fn.fractal_weighted_strength = float(layer.weighted_strength)
    return fn


def _eval(fn: object, *axes: np.ndarray) -> np.ndarray:
    coords = np.empty((len(axes), axes[0].size), dtype=np.float32)
    for i, a in enumerate(axes):
        coords[i] = a.ravel()
    return np.asarray(fn.gen_from_coords(coords), dtype=np.float32).reshape(axes[0].shape)  # type: ignore[attr-defined]


def sample3(layer: Layer, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Evaluate ``layer`` as 3D noise at ``(x, y, z)``: e.g. on a cylinder, for patterns periodic in angle."""
    return _eval(_make(layer), x, y, z)


def sample(layer: Layer, x: np.ndarray, y: np.ndarray, grid: Grid, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Evaluate ``layer`` at map positions ``(x, y)`` (possibly warped) of grid points ``(u, v)``.

    Returns float32 of the same shape, roughly in [-1, 1]. On a tileable grid the four-copy blend above makes
    the result periodic; ``(x - u, y - v)`` (the warp) must then be periodic itself.
    """
    fn = _make(layer)
    if not grid.tileable:
        return _eval(fn, x, y)
    a, b = np.float32(np.pi / 2) * u, np.float32(np.pi / 2) * v
    wu = (np.cos(a), np.sin(a))
    wv = (np.cos(b), np.sin(b))
    out = np.zeros(x.shape, dtype=np.float32)
    for i in (0, 1):
        for j in (0, 1):
            out += wu[i] * wv[j] * _eval(fn, x - np.float32(i), y - np.float32(j))
    return out


def field(layer: Layer, grid: Grid, coarse: int | None = None) -> np.ndarray:
    """``layer`` on the working grid, unwarped; with ``coarse`` it is computed on a k x k grid and upsampled
    (for smooth, low-frequency fields such as warps, masks and moisture, where that saves most of the cost)."""
    k = grid.m if coarse is None else min(grid.m, coarse)
    u, v = grid.coords(k)
    return grid.resample(sample(layer, u, v, grid, u, v))


def warp_offsets(grid: Grid, seed: int, frequency: float, amount: float) -> tuple[np.ndarray, np.ndarray]:
    """Domain-warp offsets ``(dx, dy)`` in map units on the working grid: two low-octave library noise fields
    scaled by ``amount`` (0 gives zeros). Computed on a coarse grid: warps are smooth by construction."""
    if amount <= 0:
        z = np.zeros((grid.m, grid.m), dtype=np.float32)
        return z, z
    coarse = max(33, min(grid.m, 129))
    lx = Layer(seed=seed + 101, frequency=frequency, octaves=3, gain=0.5)
    ly = Layer(seed=seed + 202, frequency=frequency, octaves=3, gain=0.5)
    s = np.float32(amount)
    return field(lx, grid, coarse) * s, field(ly, grid, coarse) * s


def warped(layer: Layer, grid: Grid, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``layer`` sampled at the warped positions ``(u + dx, v + dy)`` of the working grid."""
    u, v = grid.coords()
    return sample(layer, u + dx, v + dy, grid, u, v)


def wrapped_distance(a: np.ndarray, centre: float, tileable: bool) -> np.ndarray:
    """|a - centre| in map units, measured around the torus when the map tiles (so masks stay periodic)."""
    d = np.abs(a - np.float32(centre))
    if tileable:
        d = np.minimum(d, np.float32(1.0) - d)
    return d


def normalise(a: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1] (float32); a constant field becomes zeros."""
    lo, hi = float(a.min()), float(a.max())
    if hi - lo < 1e-12:
        return np.zeros_like(a, dtype=np.float32)
    return ((a - np.float32(lo)) * np.float32(1.0 / (hi - lo))).astype(np.float32)
