"""Objects into the GLB and beside it: one mesh per asset variant, stored once and placed by
``EXT_mesh_gpu_instancing`` (per-instance TRANSLATION, ROTATION, SCALE), ``objects.csv``, and dots on the preview.

The extension is declared in ``extensionsUsed`` but not required: a viewer without it still opens the file and
shows each variant once, at the centre of the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.generators.terrain.gltf import INSTANCING, Gltf
from studio.generators.terrain.objects.assets import KINDS, Model, variant
from studio.generators.terrain.objects.kinds import KINDS as RULES
from studio.generators.terrain.objects.placement import VARIANTS, Placement


@dataclass(frozen=True)
class Batch:
    """The instances of one asset variant, in glTF coordinates (metres, y up, the map centred)."""

    name: str  # "<kind>_<variant>"
    model: Model
    translation: np.ndarray  # (N, 3) float32
    rotation: np.ndarray  # (N, 4) float32 unit quaternions (x, y, z, w)
    scale: np.ndarray  # (N, 3) float32


def batches(p: Placement, seed: int, extent_m: float) -> list[Batch]:
    """One batch per variant that has instances, kinds in library order."""
    out = []
    for k, kind in enumerate(KINDS):
        for v in range(VARIANTS):
            sel = (p.kind == k) & (p.variant == v)
            if not sel.any():
                continue
            x = (p.uv[sel, 0] - 0.5) * extent_m
            z = (p.uv[sel, 1] - 0.5) * extent_m
            half = p.yaw[sel] / 2  # a turn about +y: (0, sin, 0, cos)
            zero = np.zeros_like(half)
            rot = np.stack([zero, np.sin(half), zero, np.cos(half)], -1)
            s = np.repeat(p.scale[sel][:, None], 3, axis=1)
            out.append(
                Batch(
                    f"{kind}_{v}",
                    variant(kind, seed, v),
                    np.stack([x, p.y_m[sel], z], -1).astype(np.float32),
                    rot.astype(np.float32),
                    s.astype(np.float32),
                )
            )
    return out


def _linear_u8(srgb: np.ndarray) -> np.ndarray:
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    rgba = np.concatenate([lin, np.ones((len(lin), 1))], axis=1)
    return np.clip(np.rint(rgba * 255), 0, 255).astype(np.uint8)


def objects_node(g: Gltf, items: list[Batch]) -> int:
    """The "objects" node: one child per variant, its mesh stored once and instanced."""
    g.use(INSTANCING)
    material = g.material("objects", pbr={"metallicFactor": 0.0, "roughnessFactor": 0.85})
    children = []
    for b in items:
        prim = {
            "attributes": {
                "POSITION": g.accessor(b.model.position),
                "NORMAL": g.accessor(b.model.normal),
                "COLOR_0": g.accessor(_linear_u8(b.model.colour), normalized=True),
            },
            "material": material,
        }
        instances = {
            "TRANSLATION": g.accessor(b.translation, target=None),
            "ROTATION": g.accessor(b.rotation, target=None),
            "SCALE": g.accessor(b.scale, target=None),
        }
        mesh = g.mesh(b.name, [prim])
        children.append(g.node(b.name, mesh=mesh, extensions={INSTANCING: {"attributes": instances}}))
    return g.node("objects", children=children)


def flat_bytes(items: list[Batch]) -> int:
    """Bytes the same objects would take as plain meshes, one copy per instance (no instancing)."""
    per_vertex = 12 + 12 + 4  # POSITION, NORMAL, COLOR_0
    return sum(len(b.translation) * b.model.position.shape[0] * per_vertex for b in items)


def objects_csv(p: Placement, n: int, height_m: float) -> bytes:
    """``type,x,y,z,yaw,scale`` per instance in the heightmap's units: x, y in pixels (column east, row south, from
    the north-west corner), z in 16-bit heightmap units (65535 = height_m), yaw in degrees counter-clockwise seen
    from above, scale a factor."""
    lines = ["type,x,y,z,yaw,scale"]
    x, y = p.uv[:, 0] * (n - 1), p.uv[:, 1] * (n - 1)
    z = np.clip(p.y_m / height_m, 0.0, None) * 65535.0
    yaw = np.degrees(p.yaw)
    for i in range(len(p)):
        lines.append(f"{KINDS[p.kind[i]]},{x[i]:.3f},{y[i]:.3f},{z[i]:.1f},{yaw[i]:.2f},{p.scale[i]:.3f}")
    return ("\n".join(lines) + "\n").encode("ascii")


def draw_on(preview: np.ndarray, p: Placement, extent_m: float, tileable: bool) -> np.ndarray:
    """The (m, m, 3) working-grid preview with each object's footprint shaded in its kind's colour (wrapping
    across the edges of a tiling map, so the closed preview still tiles)."""
    m = preview.shape[0]
    px_m = extent_m / (m if tileable else m - 1)
    if len(p) == 0:
        return preview
    cols = np.array([RULES[k].colour for k in KINDS], np.float32)
    area = np.array([np.pi * RULES[k].radius_m ** 2 for k in KINDS])
    span = m if tileable else m - 1
    col = np.rint(p.uv[:, 0] * span).astype(np.int64) % m
    row = np.rint(p.uv[:, 1] * span).astype(np.int64) % m
    cover = np.minimum(area[p.kind] * p.scale**2 / px_m**2, 1.0)  # share of the pixel the object covers
    acc = np.zeros((m, m), np.float64)
    paint = np.zeros((m, m, 3), np.float64)
    np.add.at(acc, (row, col), cover)
    np.add.at(paint, (row, col), cols[p.kind] * cover[:, None])
    alpha = np.minimum(acc, 1.0)[..., None] * 0.85
    tint = paint / np.maximum(acc, 1e-9)[..., None]
    return (preview * (1 - alpha) + tint * alpha).astype(np.float32)
