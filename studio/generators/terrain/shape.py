"""Landforms: library noise layers composed into the raw height field of each kind of landscape.

Each ``shape_<landform>`` returns heights on the working grid, roughly in [0, 1] (normalised later). Shapes
built on distance (islands, the volcano, canyons, lakes) measure it around the torus when the map tiles, so
they stay seamless. ``build`` adds the optional lake basin and river and returns extra fields for the later
stages: ``river`` (painted as water), ``crater`` and ``streaks`` (lava and old flows on a volcano), and
``strata`` and ``grain`` (used by ``finish`` to step canyon walls after erosion).

"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from studio.generators.terrain.noise import (
    Grid,
    Layer,
    field,
    normalise,
    sample3,
    warp_offsets,
    warped,
    wrapped_distance,
)
from studio.generators.terrain.prompt import TerrainSettings

Fields = dict[str, np.ndarray]


def octaves_for(grid: Grid, frequency: float, cap: int = 8) -> int:
    """Octaves until the finest one is about two samples wide (more detail on bigger maps, same shape)."""
    return int(np.clip(math.log2(max(grid.m, 8) / (2.0 * frequency)) + 1, 3, cap))


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 (x <= e0) to 1 (x >= e1); e0 > e1 gives the falling step."""
    t = np.clip((x - np.float32(e0)) / np.float32(e1 - e0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


class Shaper:
    """Shared inputs of the landform functions: settings, grid, seed and the domain-warp offsets."""

    def __init__(self, s: TerrainSettings, grid: Grid, seed: int) -> None:
        self.s, self.grid, self.seed = s, grid, seed
        self.u, self.v = grid.coords()
        self.dx, self.dy = warp_offsets(grid, seed, frequency=1.3, amount=0.12 * s.warp)

    def noise(
        self,
        salt: int,
        frequency: float,
        *,
        fractal: str = "fbm",
        gain: float | None = None,
        octaves: int | None = None,
        weighted: float = 0.0,
        warp: bool = True,
    ) -> np.ndarray:
        """A warped library fractal on the working grid, normalised to [0, 1]."""
        gain = 0.38 + 0.22 * self.s.roughness if gain is None else gain
        layer = Layer(
            seed=self.seed + salt,
            frequency=frequency,
            gain=gain,
            fractal=fractal,
            octaves=octaves or octaves_for(self.grid, frequency),
            weighted_strength=weighted,
        )
        if warp:
            return normalise(warped(layer, self.grid, self.dx, self.dy))
        return normalise(field(layer, self.grid))

    def smooth(self, salt: int, frequency: float, octaves: int = 3) -> np.ndarray:
        """A cheap low-frequency field in [0, 1] (computed coarse and upsampled)."""
        layer = Layer(seed=self.seed + salt, frequency=frequency, octaves=octaves, gain=0.5)
        return normalise(field(layer, self.grid, coarse=129))

    def radius(self, cx: float = 0.5, cy: float = 0.5, warp: float = 1.0) -> np.ndarray:
        """Distance from (cx, cy) in map units, bent by the warp so coastlines are not circles."""
        t = self.grid.tileable
        du = wrapped_distance(self.u + warp * self.dx, cx, t)
        dv = wrapped_distance(self.v + warp * self.dy, cy, t)
        return np.sqrt(du * du + dv * dv)


def border_falloff(p: Shaper, width: float = 0.12) -> np.ndarray:
    """0 at the map's edges rising to 1 inside: islands keep sea all around (and tile, being 0 at every edge)."""
    edge = np.minimum(np.minimum(p.u, 1.0 - p.u), np.minimum(p.v, 1.0 - p.v))
    return smoothstep(0.01, width, edge)


def shape_plains(p: Shaper) -> np.ndarray:
    base = p.noise(1, 1.2, gain=0.3 + 0.2 * p.s.roughness)
    return (0.8 * base**1.6 + 0.2 * p.smooth(2, 0.6)).astype(np.float32)


def shape_hills(p: Shaper) -> np.ndarray:
    base = p.noise(1, 1.8)
    bumps = p.noise(3, 5.0, gain=0.3 + 0.25 * p.s.roughness, octaves=4)
    h = 0.8 * base + 0.2 * bumps * base
    return (h**1.25).astype(np.float32)


def shape_mountains(p: Shaper) -> np.ndarray:
    r = p.s.roughness
    # Ridged multifractal: weighting octaves by the previous ones keeps valleys smooth, ridges detailed;
    # rougher mountains weight less (sharper everywhere) and keep more of the fine octaves.
    ridges = p.noise(1, 1.6, fractal="ridged", gain=0.42 + 0.14 * r, weighted=0.8 - 0.5 * r)
    massif = p.smooth(2, 0.8)
    h = ridges * (0.4 + 0.6 * massif)
    return (normalise(h) ** (1.15 + 0.45 * r)).astype(np.float32)


def _terrace(h: np.ndarray, steps: int, sharpness: float) -> np.ndarray:
    t = h * steps
    lo = np.floor(t)
    return ((lo + smoothstep(0.5 - 0.5 / sharpness, 0.5 + 0.5 / sharpness, t - lo)) / steps).astype(np.float32)


def channel_distance(
    p: Shaper, cycles: int, amplitude: float, salt: int, north_south: bool = False, at: float = 0.5
) -> np.ndarray:
    """Distance (map units) to a meandering west-east (or north-south) line through ``at``; periodic along
    the line and measured around the torus across it, so it tiles."""
    along, across = (p.v, p.u) if north_south else (p.u, p.v)
    phase = (p.seed * (salt + 1) % 997) / 997.0 * 2.0 * math.pi
    bend = (p.dx if north_south else p.dy) * 1.6
    centre = at + amplitude * np.sin(2.0 * math.pi * cycles * along + phase) + bend
    wobble = 0.04 * (p.smooth(salt, 2.0) - 0.5)
    return wrapped_distance(across + wobble - centre, 0.0, p.grid.tileable)


def shape_canyon(p: Shaper) -> np.ndarray:
    # A high plateau, tilted gently towards a meandering gorge. The side canyons are not drawn: erosion
    # cuts them back from the gorge into the plateau, and ``finish`` steps the walls into ledges.
    plateau = 0.75 + 0.12 * p.noise(1, 1.5, gain=0.45) + 0.05 * p.smooth(2, 0.7)
    d = channel_distance(p, cycles=1, amplitude=0.12, salt=5)
    # A side canyon crossing the map north-south joins the main one; its floor climbs away from the river.
    side = channel_distance(p, cycles=1, amplitude=0.1, salt=8, north_south=True, at=0.3 + 0.4 * (p.seed % 2))
    gorge = np.maximum(smoothstep(0.09, 0.02, d), smoothstep(0.06, 0.015, side))
    towards = 0.15 * smoothstep(0.45, 0.05, np.minimum(d, side))  # the plateau drains towards the gorges
    along = np.sin(np.float32(math.pi) * p.u) ** 2  # periodic, so the floor tiles
    bottom = 0.06 + 0.03 * along + 0.3 * smoothstep(0.03, 0.35, d) * smoothstep(0.06, 0.0, side)
    bed = 0.06 * np.maximum(smoothstep(0.018, 0.0, d), smoothstep(0.012, 0.0, side))  # river beds
    return ((plateau - towards) * (1.0 - gorge) + bottom * gorge - bed).astype(np.float32)


def finish(s: TerrainSettings, h: np.ndarray, extra: Fields) -> np.ndarray:
    """After erosion: canyon walls break into horizontal ledges (rock strata of uneven thickness and
    hardness), with a fine grain of rubble; the river's floor stays smooth."""
    if s.landform != "canyon" or "strata" not in extra:
        return h
    stepped = _terrace(h + 0.02 * (extra["strata"] - 0.5), steps=7, sharpness=1.5 + 2.5 * s.roughness)
    ledges = 0.65 * smoothstep(0.08, 0.2, h)
    return normalise(h * (1.0 - ledges) + stepped * ledges + 0.006 * extra["grain"] * smoothstep(0.05, 0.15, h))


def shape_island(p: Shaper) -> np.ndarray:
    r = p.radius(warp=2.5)
    mask = smoothstep(0.46, 0.05, r) * border_falloff(p)

    land = p.noise(1, 2.2)
    ridges = p.noise(3, 3.0, fractal="ridged", gain=0.45)
    seabed = 0.12 * smoothstep(0.3, 0.65, r)  # the sea deepens away from the island
    # Concave profile: gentle beaches and lowlands at the coast, the hills rising inland.
    return (mask**2 * (0.35 + 0.35 * land + 0.3 * ridges * mask) - seabed).astype(np.float32)


def radial_ridges(p: Shaper, d: np.ndarray, around: float, salt: int, coarse: int | None = None) -> np.ndarray:
    """Ridged 3D library noise on a cylinder around the map centre: ridges and gullies running downhill,
    about ``around`` of them around the circle, stretched along the radius. Periodic in angle by construction.
    With ``coarse`` it is computed on a coarse grid and resampled (for colour, where detail does not matter)."""
    u, v = (p.u, p.v) if coarse is None else p.grid.coords(min(coarse, p.grid.m))
    d = d if coarse is None else p.grid.resample(d, u.shape[0])
    angle = np.arctan2(v - 0.5, u - 0.5)
    r = np.float32(around / (2 * math.pi))
    layer = Layer(seed=p.seed + salt, frequency=1.0, octaves=4, gain=0.5, fractal="ridged")
    return p.grid.resample(normalise(sample3(layer, r * np.cos(angle), r * np.sin(angle), d * np.float32(6.0))))


def shape_volcano(p: Shaper) -> np.ndarray:
    lumpy = 0.06 * (p.smooth(4, 3.0) - 0.5)  # a cone that is not quite round
    d = p.radius(warp=0.5) + lumpy
    cone = np.clip(1.0 - d / 0.32, 0.0, 1.0) ** 1.5
    crater_r = 0.05 + 0.015 * p.s.roughness
    bowl = np.clip(1.0 - (d / crater_r) ** 2, 0.0, 1.0)
    rim = np.exp(-(((d - crater_r) / (0.4 * crater_r)) ** 2))
    ridges = radial_ridges(p, d, around=18.0, salt=5)  # barrancos: gullies down the flanks
    flanks = p.noise(1, 5.0, fractal="ridged", gain=0.45 + 0.15 * p.s.roughness, octaves=6)
    shelf = smoothstep(0.5, 0.15, p.radius(warp=4.0)) * (0.3 + 0.7 * p.noise(2, 2.2, octaves=5)) * border_falloff(p)
    band = smoothstep(0.0, 0.2, cone) * smoothstep(0.75, 0.35, cone)  # ridges on the mid flanks
    h = (
        0.72 * cone
        + 0.06 * rim
        - 0.3 * bowl**0.6
        + 0.28 * shelf
        + 0.12 * ridges * band
        + 0.06 * flanks * (cone + 0.4 * shelf)
    )
    return h.astype(np.float32)


def shape_archipelago(p: Shaper) -> np.ndarray:
    land = p.noise(1, 3.2, gain=0.48)
    big = p.smooth(2, 1.2)
    peaks = p.noise(3, 6.0, fractal="ridged", gain=0.4, octaves=4)
    h = 0.65 * land + 0.35 * big
    return (h + 0.12 * peaks * smoothstep(0.45, 0.8, h)).astype(np.float32)


SHAPES: dict[str, Callable[[Shaper], np.ndarray]] = {
    "plains": shape_plains,
    "hills": shape_hills,
    "mountains": shape_mountains,
    "canyon": shape_canyon,
    "island": shape_island,
    "volcano": shape_volcano,
    "archipelago": shape_archipelago,
}


def carve_lake(p: Shaper, h: np.ndarray) -> np.ndarray:
    """Sink a basin into the lowest broad valley of the map's middle, deep enough to hold the lake."""
    k = 64  # find the spot on a coarse copy: only broad valleys matter
    coarse = p.grid.resample(h, k)
    blurred = ndimage.gaussian_filter(coarse, sigma=4.0, mode="wrap" if p.grid.tileable else "nearest")
    lo, hi = int(k * 0.3), int(k * 0.7)
    inner = blurred[lo:hi, lo:hi]
    i, j = np.unravel_index(int(np.argmin(inner)), inner.shape)
    span = k if p.grid.tileable else k - 1
    cy, cx = (lo + i) / span, (lo + j) / span
    g = np.exp(-((p.radius(cx, cy, warp=1.5) / 0.16) ** 4)).astype(np.float32)  # flat floor, steep shores
    floor = float(h.min()) - 0.12
    return (h * (1.0 - g) + floor * g).astype(np.float32)


def carve_river(p: Shaper, h: np.ndarray) -> np.ndarray:
    """Cut a meandering river valley across the map (the canyon already has one)."""
    d = channel_distance(p, cycles=1, amplitude=0.15, salt=7)
    valley = 0.85 * smoothstep(0.07, 0.0, d)  # a broad valley ...
    channel = smoothstep(0.012, 0.0, d)  # ... with the river bed, lower than anything else, down its middle
    low = float(h.min())
    h = h * (1.0 - valley) + (low + 0.25 * (h - low)) * valley
    return (h * (1.0 - channel) + (low - 0.03) * channel).astype(np.float32)


def build(s: TerrainSettings, grid: Grid, seed: int) -> tuple[np.ndarray, Fields]:
    """Raw heights in [0, 1] on the working grid, plus masks for colouring (``crater`` for volcanoes)."""
    p = Shaper(s, grid, seed)
    h = normalise(SHAPES[s.landform](p))
    extra: Fields = {}
    if s.river and s.landform != "canyon":
        h = normalise(carve_river(p, h))
        # Rivers run above sea level, so they are painted as water along their bed, not filled to a level.
        extra["river"] = smoothstep(0.008, 0.004, channel_distance(p, cycles=1, amplitude=0.15, salt=7))
    if s.river and s.landform == "canyon":
        extra["river"] = smoothstep(0.011, 0.006, channel_distance(p, cycles=1, amplitude=0.12, salt=5))
    if s.lake:
        h = normalise(carve_lake(p, h))

    if s.landform == "canyon":  # for ``finish``
        extra["strata"] = p.noise(11, 5.0, octaves=3)
        extra["grain"] = p.noise(12, 20.0, octaves=3, warp=False)
    if s.landform == "volcano":
        d = p.radius(warp=0.5) + 0.06 * (p.smooth(4, 3.0) - 0.5)
        extra["crater"] = smoothstep(0.045, 0.025, d)
        extra["streaks"] = radial_ridges(p, d, around=11.0, salt=9, coarse=257)  # old lava flows, dark down the flanks
    return h, extra
