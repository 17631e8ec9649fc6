"""Ground layers for engines' terrain systems: a seamless detail texture per layer, and per-layer weight maps.

The layers are the splat map's channels, in its order: 0 grass (R), 1 rock (G), 2 snow (B), 3 sand (A). That is
the order Unity's Terrain takes them (Terrain Layers 0-3 read the first alphamap's R, G, B, A) and the order of the
weight maps Unreal's Landscape imports, one greyscale PNG per layer. Each texture is one period of a tileable
noise field (``noise.Grid(tileable=True)``), so it repeats across the terrain without a seam; ``TILE_M`` says how
many metres one repeat should cover.
"""

from __future__ import annotations

import numpy as np

from studio.generators.terrain.color import PALETTES, _rgb, land_colours
from studio.generators.terrain.noise import Grid, Layer, field, normalise
from studio.generators.terrain.prompt import TerrainSettings

LAYERS = ("grass", "rock", "snow", "sand")  # splat channels R, G, B, A
CHANNELS = "RGBA"
TEXTURE_PX = 256
TILE_M = {"grass": 6.0, "rock": 10.0, "snow": 8.0, "sand": 6.0}  # metres one repeat covers on the ground


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a * (1 - t[..., None]) + b * t[..., None]


def detail_textures(s: TerrainSettings, seed: int) -> dict[str, np.ndarray]:
    """{layer: (TEXTURE_PX, TEXTURE_PX, 3) sRGB in [0, 1]}, each exactly periodic."""
    pal = {k: _rgb(v) for k, v in vars(PALETTES[s.palette]).items()}
    pal.update(land_colours(s.colours))
    grid = Grid(TEXTURE_PX + 1, tileable=True)  # working grid: TEXTURE_PX samples = one period

    def noise(i: int, frequency: float, octaves: int = 4, fractal: str = "fbm") -> np.ndarray:
        layer = Layer(seed=seed + 900 + i, frequency=frequency, octaves=octaves, fractal=fractal)
        # Broad fields are computed on a coarse grid and upsampled (periodically): a quarter of the cost.
        return normalise(field(layer, grid, coarse=None if frequency > 8 else TEXTURE_PX // 4))

    blades = noise(1, 48.0, 2)
    grass = _mix(pal["lush"], pal["dry"], 0.6 * noise(0, 4.0)) * (0.75 + 0.35 * blades[..., None])
    cracks = noise(3, 10.0, 4, "ridged")
    rock = _mix(pal["rock"], pal["rock2"], noise(2, 5.0)) * (0.7 + 0.4 * (1 - cracks[..., None] ** 3))
    snow = _mix(pal["snow"], pal["snow"] * np.array([0.86, 0.9, 0.97]), noise(4, 6.0, 5))
    _, v = grid.coords()
    ripples = 0.5 + 0.5 * np.sin(2 * np.pi * (12 * v + 0.6 * noise(5, 3.0)))  # 12 whole ripples: periodic
    sand = pal["sand"] * (0.88 + 0.16 * ripples[..., None] + 0.06 * noise(6, 40.0, 2)[..., None])
    out = {"grass": grass, "rock": rock, "snow": snow, "sand": sand}
    return {k: np.clip(out[k], 0.0, 1.0).astype(np.float32) for k in LAYERS}


def layer_table() -> list[dict[str, object]]:
    """The layers as engines read them: index, name, splat channel, texture and weight map file, tile size."""
    return [
        {
            "index": i,
            "name": name,
            "splat_channel": CHANNELS[i],
            "texture": f"layer_{name}.png",
            "weightmap": f"weight_{name}.png",
            "tile_m": TILE_M[name],
        }
        for i, name in enumerate(LAYERS)
    ]
