"""Terrain generator: prompt + sliders -> height field -> erosion -> biomes -> preview, heightmaps and a mesh.

The pipeline, in the order ``generate`` runs it (each stage in its own module)::

    1. resolve settings     terrain_prompt   prompt words -> landform, palette, numbers; explicit sliders win
    2. shape the land       terrain_shape    FastNoiseLite fBm / ridged / domain-warped layers per landform
    3. erode                terrain_erosion  implicit stream-power rivers + thermal slope relaxation
    4. water and snow       (here)           water plane from the requested water share; snow line
    5. colour and light     terrain_color    biomes from height, slope, moisture; hillshade; normals; splat
    6. export               terrain_export   preview PNG, 16-bit PNG, RAW r16, normal/splat/albedo PNGs, GLB

No model weights: the one ModelSpec is "procedural". Same params (with the same resolved seed) give the
same bytes. Nothing here writes provenance; the engine does that after ``generate`` returns.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.generators.base import Artifact, Context, ModelSpec, Output
from studio.generators.terrain.color import Maps, colorize, water_rgb
from studio.generators.terrain.erosion import erode
from studio.generators.terrain.export import height_u16, normal_png, png_bytes, raw_r16, to_u8
from studio.generators.terrain.mesh import mesh_step
from studio.generators.terrain.noise import Grid, normalise
from studio.generators.terrain.objects.assets import KINDS
from studio.generators.terrain.objects.instancing import batches, draw_on, objects_csv
from studio.generators.terrain.objects.placement import Ground, Placement, instance_cap, place
from studio.generators.terrain.objects.words import TREES
from studio.generators.terrain.params import TerrainParams
from studio.generators.terrain.prompt import TerrainSettings, resolve
from studio.generators.terrain.scene import SceneInput, scene_glb
from studio.generators.terrain.shape import build, finish, smoothstep
from studio.generators.terrain.sketch import Sketch, read_sketch, steer, to_grid, water_share_map
from studio.generators.terrain.textures import LAYERS, detail_textures, layer_table
from studio.params import SEED_MAX

log = logging.getLogger(__name__)

# Identifies the algorithm in the result cache (ModelSpec.weights_hash): bump it whenever the same params
# would give different bytes, so old cached terrains are not served for the new code.
ALGORITHM = "terrain-procedural-3"


@dataclass
class Terrain:
    """The pipeline's arrays before export (exported grid: n x n)."""

    settings: TerrainSettings
    height: np.ndarray  # (n, n) float32 in [0, 1]
    water_h: float  # normalised water height (0 when there is no water)
    maps: Maps  # colour maps on the working grid
    grid: Grid
    terms: list[str]
    objects: Placement
    preview: np.ndarray  # (m, m, 3) the hillshaded preview with the objects shown
    seed: int


@contextmanager
def _timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


def make_terrain(
    params: TerrainParams,
    seed: int,
    progress: Callable[[int, int, str], None] | None = None,
    timings: dict[str, float] | None = None,
) -> Terrain:
    """Stages 1-5: the height field, water, snow and colour maps (no files yet)."""
    report = progress or (lambda step, total, desc: None)
    settings, terms = resolve(params.prompt, params.overrides())
    grid = Grid(params.size_px, params.tileable)
    total = 10
    report(0, total, "shaping the land")
    with _timed(timings, "noise"):
        h, extra = build(settings, grid, seed)
    if params.sketch:
        with _timed(timings, "sketch"):
            settings, h = follow_sketch(read_sketch(params.sketch), params, settings, h, extra)
    report(1, total, "eroding")
    with _timed(timings, "erosion"):
        base = float(np.quantile(h, settings.water_level)) if settings.water_level > 0 else None
        h_m, log_area = erode(
            h * np.float32(settings.height_m),
            grid,
            settings.extent_m,
            settings.erosion,
            None if base is None else base * settings.height_m,
            progress=lambda s, t, d: report(1 + round(6 * s / t), total, d),
        )
        h = finish(settings, normalise(h_m), extra)
        extra["log_area"] = log_area
    with _timed(timings, "color"):
        water_h = float(np.quantile(h, settings.water_level)) if settings.water_level > 0 else 0.0
        maps = colorize(h, settings, water_h, grid, seed, extra)
    report(8, total, "placing objects")
    h = grid.close(h)
    with _timed(timings, "objects"):
        g = ground(h, maps, settings, water_h, grid, painted_forest="forest_paint" in extra)
        objects = place(g, settings.object_kinds, settings.object_density, seed)
        preview = draw_on(maps.preview, objects, settings.extent_m, grid.tileable)
    return Terrain(settings, h, water_h, maps, grid, terms, objects, preview, seed)


def follow_sketch(
    sk: Sketch, params: TerrainParams, s: TerrainSettings, h: np.ndarray, extra: dict[str, np.ndarray]
) -> tuple[TerrainSettings, np.ndarray]:
    """The sketch's heights, water and forest on the (m, m) field ``h``; a slider the visitor set still wins."""
    m = h.shape[0]
    water = water_share_map(sk, m)
    forest = to_grid(sk.forest, m)
    changes: dict[str, Any] = {}
    if params.water_level is None and (water > 0.5).any():
        changes["water_level"] = round(float(np.clip((water > 0.5).mean(), 0.01, 0.9)), 4)
    if (forest > 0.5).any():
        extra["forest_paint"] = smoothstep(0.3, 0.7, forest)
        extra["wet_paint"] = 0.5 * forest
        if not params.object_kinds and not set(s.object_kinds) & set(TREES):
            changes["object_kinds"] = tuple(k for k in KINDS if k in {*s.object_kinds, "conifer", "broadleaf"})
    return dataclasses.replace(s, **changes), steer(h, sk)


def ground(
    h: np.ndarray, maps: Maps, s: TerrainSettings, water_h: float, grid: Grid, painted_forest: bool = False
) -> Ground:
    """What object placement reads, on the exported grid; a sketch's painted forests keep trees mostly to them."""
    close = grid.close
    return Ground(
        height=h,
        water=close(maps.water),
        wet=close(maps.wet),
        forest=close(maps.forest),
        snow=close(maps.snow),
        water_h=water_h if s.water_level > 0 else 0.0,
        height_m=s.height_m,
        extent_m=s.extent_m,
        mesh_step=mesh_step(h.shape[0]),
        tileable=grid.tileable,
        tree_floor=0.05 if painted_forest else 0.3,
    )


def scene_input(t: Terrain) -> SceneInput:
    """What the GLB scene is made of."""
    s, close = t.settings, t.grid.close
    return SceneInput(
        height=t.height,
        albedo=close(t.maps.albedo),
        normal=close(t.maps.normal),
        height_m=s.height_m,
        extent_m=s.extent_m,
        water_h=t.water_h if s.water_level > 0 else None,
        water_rgb=water_rgb(s.palette),
        tileable=t.grid.tileable,
        objects=batches(t.objects, t.seed, s.extent_m),
    )


def export_terrain(
    t: Terrain, progress: Callable[[int, int, str], None] | None = None, timings: dict[str, float] | None = None
) -> list[Artifact]:
    """Stage 6: the files. The preview comes first (the UI shows it), then the mesh and the heightmaps."""
    report = progress or (lambda step, total, desc: None)
    close = t.grid.close
    with _timed(timings, "images"):
        preview = png_bytes(to_u8(close(t.preview)))
    with _timed(timings, "mesh"):
        glb = scene_glb(scene_input(t))
    report(9, 10, "writing files")
    with _timed(timings, "heightmaps"):
        h16 = png_bytes(height_u16(t.height))
        raw = raw_r16(t.height)
    with _timed(timings, "images"):
        normal = normal_png(close(t.maps.normal))
        albedo = png_bytes(to_u8(close(t.maps.albedo)))
        splat = png_bytes(to_u8(close(t.maps.splat)))
    with _timed(timings, "textures"):
        layers = layer_files(t)
    report(10, 10, "done")
    return [
        Artifact("terrain.png", preview, "image"),
        Artifact("terrain.glb", glb, "model3d"),
        Artifact("heightmap.png", h16, "heightmap"),
        Artifact("heightmap.r16", raw, "data"),
        Artifact("normalmap.png", normal, "data"),
        Artifact("albedo.png", albedo, "data"),
        Artifact("splatmap.png", splat, "data"),
        Artifact("objects.csv", objects_csv(t.objects, t.height.shape[0], t.settings.height_m), "data"),
        *layers,
    ]


def layer_files(t: Terrain) -> list[Artifact]:
    """A seamless detail texture and a greyscale weight map per ground layer (``textures.py``)."""
    splat = to_u8(t.grid.close(t.maps.splat))
    out = []
    for name, texture in detail_textures(t.settings, t.seed).items():
        out.append(Artifact(f"layer_{name}.png", png_bytes(to_u8(texture)), "data"))
    for i, name in enumerate(LAYERS):
        out.append(Artifact(f"weight_{name}.png", png_bytes(np.ascontiguousarray(splat[..., i])), "data"))
    return out


def describe(t: Terrain, seed: int) -> dict[str, Any]:
    """Facts for the recipe and for engine import: settings used, water and snow, sizes and units."""
    n = t.height.shape[0]
    s = t.settings
    land = ~t.maps.water
    return {
        "seed": seed,
        "settings": dataclasses.asdict(s),
        "prompt_terms": list(t.terms),
        "size_px": n,
        "tileable": t.grid.tileable,
        "water_height": round(t.water_h, 6),
        "water_height_m": round(t.water_h * s.height_m, 3),
        "water_fraction": round(float(t.maps.water.mean()), 4),
        "snow_fraction": round(float(t.maps.snow[land].mean()) if land.any() else 0.0, 4),
        "height_range_m": [0.0, s.height_m],
        "meters_per_px": round(s.extent_m / (n - 1), 4),
        "mesh_vertices_per_side": (n - 1) // mesh_step(n) + 1,
        "heightmap": "heightmap.png / heightmap.r16: uint16, 0 = lowest, 65535 = height_m; r16 is little-endian, "
        "row-major, north row first",
        "normalmap": "tangent space, OpenGL (green = north/up)",
        "splatmap": "RGBA weights of the ground layers 0-3: grass, rock, snow, sand (Unity's Terrain Layer order; "
        "weight_<layer>.png hold the same one per file, for Unreal's Landscape)",
        "layers": layer_table(),
        "objects": t.objects.counts(),
        "objects_total": len(t.objects),
        "objects_cap": instance_cap(n),
        "objects_capped": list(t.objects.notes),
        "objects_asked": round(t.objects.asked),
        "objects_csv": "type,x,y,z,yaw,scale per instance: x, y in heightmap pixels from the north-west corner "
        "(x east, y south), z in 16-bit heightmap units (65535 = height_m), yaw in degrees counter-clockwise seen "
        "from above, scale a factor of the asset's size",
        "glb": "nodes terrain (chunks terrain_<row>_<col>), water, objects (one node per asset variant, "
        "EXT_mesh_gpu_instancing); metres, +y up, +x east, +z south, centred",
    }


class TerrainGenerator:
    """Procedural terrain: library noise, erosion, biomes; see the module docstring for the stages."""

    modality = "terrain"
    params_type = TerrainParams
    place_on_device = True

    def models(self) -> list[ModelSpec]:
        return [
            ModelSpec(
                id="procedural",
                modality="terrain",
                source="procedural",
                label="Procedural (noise + erosion)",
                kind="procedural",
                weights_hash=ALGORITHM,
            )
        ]

    def unused_fields(self, spec: ModelSpec) -> frozenset[str]:
        """Every model of this tab uses every param."""
        return frozenset()

    def load(self, spec: ModelSpec, device: Any = None, dtype: Any = None) -> None:
        """Nothing to load: the terrain model is code."""
        return None

    def recognise(self, folder: Path) -> str | None:
        """No folder holds a terrain model."""
        return None

    def generate(
        self, model: Any, params: TerrainParams, ctx: Context, timings: dict[str, float] | None = None
    ) -> Output:
        """Build the terrain; ``ctx.progress`` reports each stage and stops there if Stop was pressed.

        ``timings`` (optional) receives seconds per stage, for the benchmark.
        """
        seed = params.seed if params.seed >= 0 else secrets.randbelow(SEED_MAX + 1)
        t = make_terrain(params, seed, ctx.progress, timings)
        ctx.preview(to_u8(t.grid.close(t.preview)))
        artifacts = export_terrain(t, ctx.progress, timings)
        info = describe(t, seed)
        log.info("terrain %s seed=%d size=%d: %s", t.settings.landform, seed, params.size_px, t.terms)
        return Output(artifacts=artifacts, text=None, info=info)
