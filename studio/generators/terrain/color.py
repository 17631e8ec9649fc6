"""Biomes and shading: colour the height field from height, slope and moisture, then hillshade it.

All maps are computed on the working grid (periodic when the map tiles, so slopes wrap and the textures
tile too). Returns an albedo (unlit colour, for engines and the mesh), a hillshaded preview, a splat map
(per-pixel weights of grass, rock, snow and sand for engine terrain layers) and a tangent-space normal map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from studio.generators.terrain.noise import Grid, Layer, field, normalise
from studio.generators.terrain.prompt import TerrainSettings
from studio.generators.terrain.shape import smoothstep


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float32) / 255.0


@dataclass(frozen=True)
class Palette:
    """Colours of one biome family (hex sRGB)."""

    sand: str
    dry: str
    lush: str
    forest: str
    high: str
    rock: str
    rock2: str
    snow: str
    shallow: str
    deep: str


PALETTES: dict[str, Palette] = {
    "temperate": Palette(
        "#b8b088", "#a8a55e", "#6a9a3c", "#2f5f2c", "#8b8a5c", "#7d7468", "#5f5850", "#f4f6fa", "#5aa5b8", "#1b4a6b"
    ),
    "alpine": Palette(
        "#cbbf9c", "#9a9a62", "#5d8c3a", "#2a5530", "#7f7d62", "#77726c", "#56524f", "#f5f8fc", "#5fa9bf", "#173f5e"
    ),
    "desert": Palette(
        "#e8cf9c", "#d9a66b", "#8a8a45", "#5a6b32", "#cf8f5a", "#c8744a", "#a04d2e", "#f2ede4", "#4f9c94", "#1f5560"
    ),
    "volcanic": Palette(
        "#8f877c", "#8a8450", "#4f8a36", "#2d612b", "#7a6a5c", "#6b5d52", "#2a2523", "#eceff2", "#3c8fae", "#0d2c4a"
    ),
    "tropical": Palette(
        "#f1e4bb", "#b5b25a", "#4b9a3a", "#21692d", "#7c8a4c", "#7a6f60", "#5a5146", "#f4f6fa", "#45d0c6", "#0b3f72"
    ),
    "arctic": Palette(
        "#b8b4a6", "#8e927c", "#7d8c6a", "#4d6150", "#9a9a90", "#6e6c6a", "#4e4c4b", "#f6f9fd", "#4f8aa6", "#122d45"
    ),
}
LAVA = (_rgb("#ffcf4a"), _rgb("#e8400f"))  # bright core, cooler rim


def water_rgb(palette: str) -> tuple[float, float, float]:
    """The palette's shallow-water colour (sRGB floats), for the mesh's water plane."""
    r, g, b = (float(c) for c in _rgb(PALETTES[palette].shallow))
    return (r, g, b)


LAND_KEYS = ("sand", "dry", "lush", "forest", "high", "rock", "rock2")


def parse_colours(text: str) -> list[str]:
    """``"#aa3311, #ffeecc"`` → ``["#aa3311", "#ffeecc"]``; raises ``ValueError`` naming a malformed colour."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", part):
            raise ValueError(f"{part!r} is not a #rrggbb colour")
        out.append(part.lower())
    if len(out) > 8:
        raise ValueError(f"{len(out)} colours given; at most 8 are used")
    return out


def land_colours(text: str) -> dict[str, np.ndarray]:
    """Palette entries for the land (sand … rock) spread over the given colours, low ground first; water and snow
    keep the palette's colours so the map still reads as a landscape."""
    colours = [_rgb(c) for c in parse_colours(text)] if text else []
    if not colours:
        return {}
    if len(colours) == 1:
        colours = colours * 2
    stops = np.linspace(0.0, 1.0, len(colours))
    out = {}
    for i, key in enumerate(LAND_KEYS):
        t = i / (len(LAND_KEYS) - 1)
        j = min(int(np.searchsorted(stops, t, side="right")) - 1, len(colours) - 2)
        a = (t - stops[j]) / (stops[j + 1] - stops[j])
        out[key] = ((1 - a) * colours[j] + a * colours[j + 1]).astype(np.float32)
    return out


@dataclass
class Maps:
    """Colour outputs on the working grid: float32 RGB in [0, 1] and float32 weights."""

    albedo: np.ndarray  # (m, m, 3)
    preview: np.ndarray  # (m, m, 3) albedo x hillshade, water by depth
    splat: np.ndarray  # (m, m, 4) grass, rock, snow, sand (sum to 1 on land; 0 under water)
    normal: np.ndarray  # (m, m, 3) unit normals (east, north, up)
    water: np.ndarray  # (m, m) bool
    snow: np.ndarray  # (m, m) snow cover in [0, 1]
    wet: np.ndarray  # (m, m) moisture in [0, 1] (where objects grow)
    forest: np.ndarray  # (m, m) the forest layer's final weight


def gradients(h_m: np.ndarray, spacing: float, wrap: bool) -> tuple[np.ndarray, np.ndarray]:
    """Central differences (d/d east, d/d south) of heights in metres; wraps around on tileable maps."""
    if wrap:
        gx = (np.roll(h_m, -1, axis=1) - np.roll(h_m, 1, axis=1)) / np.float32(2 * spacing)
        gy = (np.roll(h_m, -1, axis=0) - np.roll(h_m, 1, axis=0)) / np.float32(2 * spacing)
        return gx, gy
    gy, gx = np.gradient(h_m, spacing)
    return gx.astype(np.float32), gy.astype(np.float32)


class Layers:
    """Ground layers painted bottom to top, each with a coverage (alpha); ``weights`` composites them.

    Working with scalar coverages and one final (pixels x layers) @ (layers x RGB) product keeps the
    colouring to a few whole-map passes, and the same weights give the splat map.
    """

    def __init__(self, base: str) -> None:
        self.names: list[str] = [base]
        self.alphas: list[np.ndarray | None] = [None]

    def paint(self, name: str, alpha: np.ndarray) -> None:
        self.names.append(name)
        self.alphas.append(alpha.astype(np.float32, copy=False))

    def weights(self) -> dict[str, np.ndarray]:
        """Final weight of every layer: its alpha times what the layers above leave visible."""
        out: dict[str, np.ndarray] = {}
        left: np.ndarray | float = 1.0
        for name, alpha in zip(reversed(self.names), reversed(self.alphas), strict=True):
            if alpha is None:
                out[name] = np.broadcast_to(np.asarray(left, dtype=np.float32), self.alphas[-1].shape)  # type: ignore[union-attr]
            else:
                out[name] = alpha * left
                left = left * (1.0 - alpha)
        return out


def colorize(
    h: np.ndarray, s: TerrainSettings, water_h: float, grid: Grid, seed: int, extra: dict[str, np.ndarray] | None = None
) -> Maps:
    """Colour the normalised height field ``h`` (working grid) with the settings' palette."""
    extra = extra or {}
    pal = {k: _rgb(v) for k, v in vars(PALETTES[s.palette]).items()}
    pal.update(land_colours(s.colours))
    wrap = grid.tileable
    spacing = s.extent_m / (grid.m if wrap else grid.m - 1)
    gx, gy = gradients(h * np.float32(s.height_m), spacing, wrap)
    slope = np.sqrt(gx * gx + gy * gy)  # rise over run
    zero = np.zeros_like(h)

    # 1. Moisture: the prompt's level, library noise patches, wetter in hollows, valleys and near water.
    patches = normalise(field(Layer(seed=seed + 404, frequency=3.0, octaves=4, gain=0.5), grid, coarse=257))
    k = min(grid.m, 129)
    coarse = grid.resample(h, k)
    blurred = ndimage.gaussian_filter(coarse, sigma=k / 64, mode="wrap" if wrap else "nearest")
    hollow = grid.resample(blurred) - h  # > 0 in hollows and valleys
    land_t = np.clip((h - water_h) / max(1e-6, 1.0 - water_h), 0.0, 1.0)  # 0 at the shore, 1 at the top
    valley = zero
    if "log_area" in extra:  # drainage from the erosion step
        cells = float(np.log10(s.extent_m**2))
        valley = smoothstep(cells - 3.2, cells - 1.8, extra["log_area"])
    m = np.float32(s.moisture)
    wet = np.clip(
        m
        + 0.4 * (patches - 0.5)
        + 4.0 * m * hollow
        - 0.3 * land_t
        + 0.25 * m * smoothstep(0.06, 0.0, land_t)
        + 0.3 * m * valley
        + extra.get("wet_paint", zero),  # a sketch's forest (sketch.py)
        0.0,
        1.0,
    )

    # 2. Ground layers, bottom to top.
    layers = Layers("dry")
    layers.paint("lush", smoothstep(0.15, 0.65, wet))
    layers.paint(
        "forest",
        np.maximum(extra.get("forest_paint", zero), smoothstep(0.55, 0.8, wet))
        * smoothstep(0.75, 0.45, slope)
        * smoothstep(0.75, 0.5, land_t)
        * smoothstep(0.02, 0.06, land_t),
    )
    if s.palette == "volcanic":  # ash and cinders above the vegetation
        layers.paint("high", smoothstep(0.25, 0.5, land_t))
    else:
        layers.paint("high", (0.5 if s.palette == "temperate" else 0.8) * smoothstep(0.45, 0.8, land_t))
    steep = smoothstep(0.45, 0.95, slope)
    if s.palette in ("desert", "volcanic"):  # bare rock high up as well as on cliffs
        steep = np.maximum(steep, smoothstep(0.65, 1.0, land_t) * (0.6 if s.palette == "volcanic" else 0.3))
    layers.paint("rock", steep)
    # Rock in two tones: horizontal strata in the desert, patches elsewhere.
    if s.palette == "desert":
        bands = 0.5 + 0.5 * np.sin(h * np.float32(45.0) + 2.0 * patches)
    elif "streaks" in extra:
        bands = smoothstep(0.55, 0.8, extra["streaks"])
    else:
        bands = patches
    width = 0.05 if s.palette in ("tropical", "desert") else 0.015
    beach = smoothstep(width, width / 3, land_t) * smoothstep(0.5, 0.2, slope) if water_h > 0 else zero
    layers.paint("sand", beach)
    snow = zero
    if s.snow_line < 1.0:  # a ragged snow line from the noise; snow slides off cliffs
        snow = smoothstep(s.snow_line - 0.02, s.snow_line + 0.06, h + 0.08 * (patches - 0.5))
        snow = snow * smoothstep(2.2, 1.1, slope)
    layers.paint("snow", snow)
    crater = extra.get("crater") if s.palette == "volcanic" else None
    lava = zero if crater is None else smoothstep(0.05, 0.4, crater)
    layers.paint("lava", lava)
    water = h < water_h
    if "river" in extra:
        water |= extra["river"] > 0.5

    layers.paint("water", water.astype(np.float32))
    w = layers.weights()

    # 3. Split layers into their colour tones, then one matrix product gives the albedo.
    depth_m = np.clip((water_h - h) * np.float32(s.height_m), 0.0, None)
    if "river" in extra:  # rivers are a metre or two deep whatever the sea level
        depth_m = np.maximum(depth_m, np.float32(2.0) * extra["river"])

    deep = 1.0 - np.exp(-depth_m / np.float32(max(4.0, 0.08 * s.height_m)))
    foam = 0.35 * smoothstep(0.6, 0.0, depth_m)
    glow = zero if crater is None else crater**2
    tones = [
        (w["dry"], pal["dry"]),
        (w["lush"], pal["lush"]),
        (w["forest"], pal["forest"]),
        (w["high"], pal["high"]),
        (w["rock"] * (1.0 - bands), pal["rock"]),
        (w["rock"] * bands, pal["rock2"]),
        (w["sand"], pal["sand"]),
        (w["snow"], pal["snow"]),
        (w["lava"] * (1.0 - glow), LAVA[1]),
        (w["lava"] * glow, LAVA[0]),
        (w["water"] * (1.0 - deep) * (1.0 - foam), pal["shallow"]),
        (w["water"] * deep * (1.0 - foam), pal["deep"]),
        (w["water"] * foam, np.ones(3, dtype=np.float32)),
    ]
    planes = np.stack([t[0] for t in tones]).reshape(len(tones), -1)  # (tones, pixels)
    colours = np.stack([t[1] for t in tones]).T  # (3, tones)
    # einsum (not BLAS) so the sums run in one fixed order on every machine: same inputs, same bytes.
    albedo = np.moveaxis(np.einsum("ck,kp->cp", colours, planes).reshape((3, *h.shape)), 0, -1)  # (m, m, 3)

    # 4. Light: unit normals, sun 45 degrees up from the north-west, soft occlusion in hollows. Water is
    #    lit flat and lava glows, so neither takes the hillshade.
    inv = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)
    normal = np.stack([-gx * inv, gy * inv, inv], axis=-1)  # east, north (= -south), up
    lambert = np.clip((0.5 * gx + 0.5 * gy + 0.7071) * inv, 0.0, 1.0)  # normal . (-0.5, 0.5, 0.7071)
    occlusion = np.clip(1.0 - 40.0 * np.maximum(hollow, 0.0), 0.6, 1.0)
    shade = (0.25 + 0.35 * inv + 0.55 * lambert) * (0.85 + 0.15 * occlusion)
    factor = shade * (1.0 - w["water"] - w["lava"]) + w["lava"] + w["water"] * (0.92 + 0.08 * shade)
    preview = np.clip(albedo * factor[..., None], 0.0, 1.0)

    land = ~water
    splat = np.stack(
        [
            (w["dry"] + w["lush"] + w["forest"] + w["high"]) * land,
            (w["rock"] + w["lava"]) * land,
            w["snow"] * land,
            w["sand"] * land,
        ],
        axis=-1,
    )
    return Maps(
        albedo.astype(np.float32),
        preview.astype(np.float32),
        splat.astype(np.float32),
        normal.astype(np.float32),
        water,
        (snow * land).astype(np.float32),
        wet.astype(np.float32),
        (w["forest"] * land).astype(np.float32),
    )
