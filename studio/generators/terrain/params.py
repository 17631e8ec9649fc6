"""The Terrain tab's parameters: ``TerrainParams`` and the ranges each field declares (they drive the widgets and the
server-side validation alike)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from studio.generators.terrain.color import PALETTES, parse_colours
from studio.generators.terrain.objects.assets import KINDS
from studio.generators.terrain.prompt import LANDFORMS, TerrainSettings
from studio.generators.terrain.sketch import read_sketch
from studio.params import SEED_MAX, ParamError, param

SIZES = (129, 257, 513, 1025)


@dataclass(frozen=True)
class TerrainParams:
    """Parameters of one terrain.

    The prompt sets the look; sliders refine it. A slider left at ``None`` (the API's default, the UI's
    "auto") takes the value the prompt implies; any number you give wins over the prompt, always. The
    same holds for ``landform`` and ``palette``: "auto" follows the prompt. The values actually used are
    returned in ``Output.info["settings"]`` (and so in the recipe), next to the prompt words understood.

    Heights are normalised to [0, 1] over the map; ``height_m`` is what 1.0 means in metres and
    ``extent_m`` the map's width, so the mesh and slopes are in real units. ``water_level`` is the share
    of the map under water (0 = dry), ``snow_line`` a normalised height (1 = no snow). Sizes are the
    game-engine "+1" sizes; with ``tileable`` the last row and column repeat the first ones exactly
    (the noise then costs four library evaluations per layer instead of one, about twice the time).
    """

    prompt: str = param(
        "",
        max_len=500,
        label="Prompt",
        info='e.g. "snowy jagged mountains with a lake", "desert canyon", "archipelago"',
    )
    seed: int = param(-1, min=-1, max=SEED_MAX, step=1, label="Seed", info="-1 draws a random seed")
    size_px: int = param(513, choices=SIZES, label="Size (px)", info="Heightmap side; +1 sizes for game engines")
    landform: str = param("auto", choices=("auto", *LANDFORMS), label="Landform", advanced=True)
    palette: str = param("auto", choices=("auto", *PALETTES), label="Palette", advanced=True)
    roughness: float | None = param(
        None,
        min=0.0,
        max=1.0,
        step=0.01,
        label="Roughness",
        info="Ridge sharpness and fine detail (empty = from the prompt)",
    )
    erosion: float | None = param(
        None,
        min=0.0,
        max=1.0,
        step=0.01,
        label="Erosion",
        info="Rivers cutting valleys and slopes settling (empty = from the prompt)",
    )
    water_level: float | None = param(
        None,
        min=0.0,
        max=0.9,
        step=0.01,
        label="Water level",
        info="Share of the map under water (empty = from the prompt)",
    )
    snow_line: float | None = param(
        None,
        min=0.0,
        max=1.0,
        step=0.01,
        label="Snow line",
        info="Height above which snow lies; 1 = no snow (empty = from the prompt)",
    )
    warp: float | None = param(
        None, min=0.0, max=1.0, step=0.01, label="Warp", advanced=True, info="Domain warping: twisted, flowing shapes"
    )
    moisture: float | None = param(
        None, min=0.0, max=1.0, step=0.01, label="Moisture", advanced=True, info="Dry (sand, grass) to wet (forest)"
    )
    height_m: float | None = param(
        None,
        min=10.0,
        max=5000.0,
        step=10.0,
        label="Height (m)",
        advanced=True,
        info="Relief from the lowest to the highest point",
    )
    extent_m: float = param(4000.0, min=100.0, max=50000.0, step=100.0, label="Width (m)", advanced=True)
    object_density: float | None = param(
        None,
        min=0.0,
        max=1.0,
        step=0.01,
        label="Object density",
        info="Trees, rocks, houses...: 0 = none, 1 = as dense as each kind grows (empty = from the prompt)",
    )
    object_kinds: tuple[str, ...] = param(
        (),
        max=len(KINDS),
        max_len=16,
        label="Object kinds",
        info=f"Which of {', '.join(KINDS)} may stand on the land; none ticked = the prompt's choice",
    )
    tileable: bool = param(False, label="Seamless tiling", info="Opposite edges match exactly")
    sketch: bytes = param(
        b"",
        label="Sketch",
        info="A rough painted map: grey = height (white high), blue = water, green = forest (empty = none)",
    )
    colours: str = param(
        "",
        max_len=200,
        label="Land colours",
        advanced=True,
        info="#rrggbb colours for the land, low ground first (e.g. sent from an image); empty = the palette's",
    )

    def check(self) -> None:
        """Cross-field checks: the land colours must parse; object kinds must be known, each named once."""
        try:
            parse_colours(self.colours)
        except ValueError as exc:
            raise ParamError("colours", str(exc)) from None
        if not isinstance(self.sketch, (bytes, bytearray)):
            raise ParamError("sketch", "must be image file bytes (empty for none)")
        if self.sketch:
            read_sketch(self.sketch)  # every check on the picture, before the request is queued
        for kind in self.object_kinds:
            if kind not in KINDS:
                raise ParamError("object_kinds", f"{kind!r} is not one of: {', '.join(KINDS)}")
        if len(set(self.object_kinds)) != len(self.object_kinds):
            raise ParamError("object_kinds", "names a kind twice")

    def overrides(self) -> dict[str, Any]:
        """The fields that refine the prompt's settings (None / "auto" = from the prompt)."""
        names = {f.name for f in dataclasses.fields(TerrainSettings)}
        return {k: v for k, v in dataclasses.asdict(self).items() if k in names}
