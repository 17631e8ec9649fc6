"""The GLB scene: textured terrain chunks, the water plane and (when given) instanced objects.

Layout of the file (node names are stable, engines and tests find parts by them)::

    terrain            chunks "terrain_<row>_<col>" (north-west first), material "terrain": the albedo as base
                       colour, a detail normal map (tangent space, TANGENT given), both embedded PNGs
    water              one quad at the water height, its own material "water" (blended, double-sided)
    objects            one node per asset variant, its mesh stored once and placed by EXT_mesh_gpu_instancing

The same inputs give the same bytes (``gltf.Gltf``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.generators.terrain.export import png_bytes, to_u8
from studio.generators.terrain.gltf import CLAMP_TO_EDGE, ELEMENT_ARRAY_BUFFER, REPEAT, Gltf
from studio.generators.terrain.mesh import MESH_MAX, Surface, chunk_slices, detail_normals, grid_indices, surface


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """glTF colour factors are linear; convert sRGB so viewers show the same colours as the PNG."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


@dataclass(frozen=True)
class SceneInput:
    """What the scene is made of (exported n x n maps; heights normalised to [0, 1])."""

    height: np.ndarray  # (n, n)
    albedo: np.ndarray  # (n, n, 3) sRGB in [0, 1]
    normal: np.ndarray  # (n, n, 3) unit (east, north, up)
    height_m: float
    extent_m: float
    water_h: float | None = None  # normalised; None = no water plane
    water_rgb: tuple[float, float, float] = (0.2, 0.45, 0.6)
    tileable: bool = False
    objects: list[Any] = field(default_factory=list)  # objects.instancing.Batch, one per asset variant
    max_vertices: int = MESH_MAX


def _texture_pixels(a: np.ndarray, tileable: bool) -> np.ndarray:
    """(n, n, c) uint8 map -> the power-of-two (n - 1)^2 texture: a tiling map drops its repeated last row and
    column (what is left is exactly periodic); another is resampled."""
    if tileable:
        return np.ascontiguousarray(a[:-1, :-1])
    from PIL import Image

    m = a.shape[0] - 1
    return np.asarray(Image.fromarray(a).resize((m, m), Image.Resampling.BILINEAR))


def _terrain_material(g: Gltf, inp: SceneInput, s: Surface) -> int:
    wrap = REPEAT if inp.tileable else CLAMP_TO_EDGE
    albedo = g.texture(png_bytes(_texture_pixels(to_u8(inp.albedo), inp.tileable)), "albedo", wrap)
    detail = to_u8(detail_normals(inp.normal, s) * 0.5 + 0.5)
    normal = g.texture(png_bytes(_texture_pixels(detail, inp.tileable)), "detail_normal", wrap)
    return g.material(
        "terrain",
        pbr={"baseColorTexture": {"index": albedo}, "metallicFactor": 0.0, "roughnessFactor": 0.92},
        normalTexture={"index": normal},
    )


def _terrain_nodes(g: Gltf, inp: SceneInput) -> int:
    s = surface(inp.height, inp.height_m, inp.extent_m, inp.max_vertices, inp.tileable)
    material = _terrain_material(g, inp, s)
    indices: dict[tuple[int, int], int] = {}  # chunks of one shape share their index accessor
    children = []
    for i, j, rows, cols in chunk_slices(s.position.shape[0]):
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        if shape not in indices:
            indices[shape] = g.accessor(grid_indices(*shape), ELEMENT_ARRAY_BUFFER)
        attributes = {
            "POSITION": g.accessor(s.position[rows, cols].reshape(-1, 3)),
            "NORMAL": g.accessor(s.normal[rows, cols].reshape(-1, 3)),
            "TANGENT": g.accessor(s.tangent[rows, cols].reshape(-1, 4)),
            "TEXCOORD_0": g.accessor(s.uv[rows, cols].reshape(-1, 2)),
        }
        prim = {"attributes": attributes, "indices": indices[shape], "material": material}
        children.append(g.node(f"terrain_{i}_{j}", mesh=g.mesh(f"terrain_{i}_{j}", [prim])))
    return g.node("terrain", children=children)


def _water_node(g: Gltf, inp: SceneInput) -> int:
    half = np.float32(inp.extent_m / 2)
    y = np.float32((inp.water_h or 0.0) * inp.height_m)
    quad = np.array([[-half, y, -half], [-half, y, half], [half, y, -half], [half, y, half]], np.float32)
    up = np.tile(np.array([0, 1, 0], np.float32), (4, 1))
    rgb = srgb_to_linear(np.asarray(inp.water_rgb, np.float32))
    material = g.material(
        "water",
        pbr={"baseColorFactor": [*(float(c) for c in rgb), 0.72], "metallicFactor": 0.0, "roughnessFactor": 0.15},
        alphaMode="BLEND",
        doubleSided=True,
    )
    prim = {
        "attributes": {"POSITION": g.accessor(quad), "NORMAL": g.accessor(up)},
        "indices": g.accessor(np.array([0, 1, 2, 2, 1, 3], np.uint16), ELEMENT_ARRAY_BUFFER),
        "material": material,
    }
    return g.node("water", mesh=g.mesh("water", [prim]))


def scene_glb(inp: SceneInput, extras: dict[str, Any] | None = None) -> bytes:
    """The GLB of the scene (Y up, metres, centred); ``extras`` goes in the scene's extras."""
    g = Gltf()
    roots = [_terrain_nodes(g, inp)]
    if inp.water_h is not None and inp.water_h > 0:
        roots.append(_water_node(g, inp))
    if inp.objects:
        from studio.generators.terrain.objects.instancing import objects_node

        roots.append(objects_node(g, inp.objects))
    return g.glb(roots, extras)
