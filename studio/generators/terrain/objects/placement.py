"""Where objects stand: blue-noise candidates per kind, thinned by its habitat and the density, never in water or on
slopes steeper than the kind allows, then turned and scaled per instance.

Steps (``place``):

    1. fields      height above water, slope, moisture, forest, snow and village sites per heightmap pixel
    2. budget      expected count per kind from its spacing and habitat; over the cap, every spacing grows alike
    3. candidates  one blue-noise tile (``bluenoise.poisson_torus``) repeated a whole number of times across the
                   map, shifted per kind: the pattern wraps, so a tiling map's objects tile too
    4. thinning    keep a candidate with probability habitat x density; drop it in water or on a too-steep pixel
    5. houses      no tree, bush or rock inside a house's footprint
    6. per object  variant, yaw, scale, and the height of the mesh's own triangle under it (minus a small sink)

Positions are (u, v) in [0, 1): u east, v south, as fractions of the map's width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.generators.terrain.color import gradients
from studio.generators.terrain.objects.assets import KINDS as KIND_ORDER
from studio.generators.terrain.objects.bluenoise import poisson_torus
from studio.generators.terrain.objects.kinds import KINDS, Env

RHO = 0.02  # blue-noise radius of the shared tile, in tile widths (~1,600 points per tile)
VARIANTS = 3  # meshes per kind; instances pick one
MAX_INSTANCES = 50_000  # per map, whatever its size or density
PER_PIXELS = 10  # ... and at most one object per this many heightmap pixels (129^2 -> 1,664; 513^2 -> 26,316)
MAX_CANDIDATES = 3_000_000  # blue-noise points looked at, over all kinds (bounds time and memory)


def instance_cap(n: int) -> int:
    """The most objects an n x n map holds."""
    return min(MAX_INSTANCES, n * n // PER_PIXELS)


@dataclass
class Placement:
    """The placed objects, one entry per instance (same order in every array)."""

    kind: np.ndarray  # (N,) int: index into assets.KINDS
    variant: np.ndarray  # (N,) int in [0, VARIANTS)
    uv: np.ndarray  # (N, 2) float64 in [0, 1)
    y_m: np.ndarray  # (N,) base height in metres
    yaw: np.ndarray  # (N,) radians, counter-clockwise seen from above
    scale: np.ndarray  # (N,)
    notes: list[str] = field(default_factory=list)  # what was capped, naming the field
    asked: float = 0.0  # the objects the land and density asked for before the cap (an estimate)

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def counts(self) -> dict[str, int]:
        """Instances per kind name (kinds with none left out)."""
        names, counts = np.unique(self.kind, return_counts=True)
        return {KIND_ORDER[int(k)]: int(c) for k, c in zip(names, counts, strict=True)}


def mesh_height(h_m: np.ndarray, step: int, uv: np.ndarray) -> np.ndarray:
    """Heights (metres) of the decimated mesh's own triangles at ``uv`` (see ``mesh.grid_indices``)."""
    g = h_m[::step, ::step].astype(np.float64)
    k = g.shape[0]
    x, z = uv[:, 0] * (k - 1), uv[:, 1] * (k - 1)
    c0 = np.clip(np.floor(x).astype(np.int64), 0, k - 2)
    r0 = np.clip(np.floor(z).astype(np.int64), 0, k - 2)
    fx, fz = x - c0, z - r0
    a, b, c, d = g[r0, c0], g[r0 + 1, c0], g[r0, c0 + 1], g[r0 + 1, c0 + 1]  # north-west, south-west, north-east, SE
    upper = a + fx * (c - a) + fz * (b - a)  # triangle (a, b, c): fx + fz <= 1
    lower = d + (1 - fx) * (b - d) + (1 - fz) * (c - d)  # triangle (c, b, d)
    return np.where(fx + fz <= 1.0, upper, lower)


def slope_map(h: np.ndarray, height_m: float, extent_m: float, tileable: bool) -> np.ndarray:
    """Rise over run per pixel of the (n, n) exported map, as the colouring computes it (wrapping when tiling)."""
    n = h.shape[0]
    if tileable:
        gx, gy = gradients(h[:-1, :-1] * np.float32(height_m), extent_m / (n - 1), True)
        s = np.sqrt(gx * gx + gy * gy)
        return np.pad(s, ((0, 1), (0, 1)), mode="wrap")
    gx, gy = gradients(h * np.float32(height_m), extent_m / (n - 1), False)
    return np.sqrt(gx * gx + gy * gy)


def village_sites(land: np.ndarray, slope: np.ndarray, rng: np.random.Generator, extent_m: float) -> np.ndarray:
    """0..1 closeness to one to three village centres, chosen among flat low land near the water."""
    n = land.shape[0]
    ok = np.argwhere((land > 0.01) & (land < 0.2) & (slope < 0.12))
    out = np.zeros((n, n), np.float32)
    if len(ok) == 0:
        return out
    sigma_px = 110.0 / (extent_m / (n - 1))  # a village is ~200 m across
    yy, xx = np.mgrid[0:n, 0:n]
    for r, c in ok[rng.choice(len(ok), size=min(len(ok), int(rng.integers(1, 4))), replace=False)]:
        d2 = (yy - r) ** 2 + (xx - c) ** 2
        out = np.maximum(out, np.exp(-d2 / (2 * sigma_px**2)).astype(np.float32))
    return out


def _pixel(uv: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest pixel (row, col) of each position."""
    col = np.clip(np.rint(uv[:, 0] * (n - 1)).astype(np.int64), 0, n - 1)
    row = np.clip(np.rint(uv[:, 1] * (n - 1)).astype(np.int64), 0, n - 1)
    return row, col


@dataclass(frozen=True)
class Ground:
    """What placement reads: the exported (n, n) maps and the scene's units."""

    height: np.ndarray  # normalised
    water: np.ndarray  # bool, lakes, sea and rivers
    wet: np.ndarray
    forest: np.ndarray
    snow: np.ndarray
    water_h: float
    height_m: float
    extent_m: float
    mesh_step: int
    tileable: bool
    tree_floor: float = 0.3  # see kinds.Env


# Shares of the instance budget when the land asks for more than the cap: trees first, then the rest.
PRIORITY = {"conifer": 3.0, "broadleaf": 3.0, "palm": 3.0, "cactus": 2.0, "house": 2.0, "rock": 1.5, "bush": 1.5}


def _tiles(kinds: list[str], hab: dict[str, np.ndarray], g: Ground, density: float, cap: int, pattern: int) -> dict:
    """Tiles per side for each kind (from its spacing), and notes saying what was capped.

    When the expected count is over ``cap`` the budget is shared out by ``PRIORITY`` (a kind that needs less than
    its share leaves the rest to the others) and each kind's spacing grows until it fits its share; the candidates
    looked at are bounded by ``MAX_CANDIDATES`` the same way (huge maps, tiny spacings).
    """
    tiles = {k: max(1, round(g.extent_m * RHO / KINDS[k].spacing_m)) for k in kinds}
    expected = {k: tiles[k] ** 2 * pattern * float(hab[k].mean()) * density for k in kinds}
    total = sum(expected.values())
    notes = []
    allowed = dict(expected)
    if total > cap:
        notes.append(f"object_density: about {total:,.0f} objects asked for, capped at {cap:,} for this size_px")
        left, todo = float(cap), sorted(kinds, key=lambda k: expected[k] / PRIORITY.get(k, 1.0))
        for i, k in enumerate(todo):
            weights = sum(PRIORITY.get(q, 1.0) for q in todo[i:])
            allowed[k] = min(expected[k], left * PRIORITY.get(k, 1.0) / weights)
            left -= allowed[k]
    out = {}
    for k in kinds:
        shrink = max(1.0, np.sqrt(expected[k] / max(allowed[k], 1e-9)))
        shrink = max(shrink, np.sqrt(tiles[k] ** 2 * pattern * len(kinds) / MAX_CANDIDATES))
        out[k] = max(1, int(tiles[k] / shrink))
    return {"tiles": out, "notes": notes, "asked": total}


def place(g: Ground, kinds: tuple[str, ...], density: float, seed: int) -> Placement:
    """Objects of ``kinds`` at ``density`` (0..1) on the ground ``g``; same arguments, same placement."""
    n = g.height.shape[0]
    rng = np.random.default_rng([seed, 7001])
    if density <= 0 or not kinds:
        return Placement(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)), *(np.zeros(0),) * 3)
    land = np.clip((g.height - g.water_h) / max(1e-6, 1.0 - g.water_h), 0.0, 1.0) * ~g.water
    slope = slope_map(g.height, g.height_m, g.extent_m, g.tileable)
    village = village_sites(land, slope, rng, g.extent_m) if "house" in kinds else np.zeros_like(land)
    env = Env(land, slope, g.wet, g.forest, g.snow, village, g.tree_floor)
    hab = {k: np.clip(KINDS[k].habitat(env), 0.0, 1.0) * ~g.water for k in kinds}
    pattern = poisson_torus(RHO, rng)
    cap = instance_cap(n)
    budget = _tiles(list(kinds), hab, g, density, cap, len(pattern))
    h_m = g.height.astype(np.float64) * g.height_m
    picked: list[tuple[int, np.ndarray]] = []
    for k in kinds:
        t = budget["tiles"][k]
        cells = np.stack(np.meshgrid(np.arange(t), np.arange(t)), -1).reshape(-1, 1, 2)  # (t*t, 1, 2)
        uv = (((pattern[None] + cells) / t + rng.random(2)) % 1.0).reshape(-1, 2)
        row, col = _pixel(uv, n)
        keep = rng.random(len(uv)) < hab[k][row, col] * density
        keep &= ~g.water[row, col] & (slope[row, col] <= KINDS[k].max_slope)
        uv = uv[keep]
        dry = mesh_height(h_m, g.mesh_step, uv) > g.water_h * g.height_m + 0.05
        picked.append((KIND_ORDER.index(k), uv[dry]))
    kind = np.concatenate([np.full(len(uv), i) for i, uv in picked]).astype(np.int64)
    uv = np.concatenate([uv for _, uv in picked])
    kind, uv = _clear_houses(kind, uv, g)
    if len(kind) > cap:  # the estimate was short: drop a random share, keeping the order
        keep_idx = np.sort(rng.choice(len(kind), cap, replace=False))
        kind, uv = kind[keep_idx], uv[keep_idx]
    placed = _finish(kind, uv, g, h_m, rng, budget["notes"])
    placed.asked = float(budget["asked"])
    return placed


def _clear_houses(kind: np.ndarray, uv: np.ndarray, g: Ground) -> tuple[np.ndarray, np.ndarray]:
    house = KIND_ORDER.index("house")
    homes = uv[kind == house]
    if len(homes) == 0:
        return kind, uv
    from scipy.spatial import cKDTree

    tree = cKDTree(homes, boxsize=1.0 if g.tileable else None)
    reach = (KINDS["house"].radius_m + 2.0) / g.extent_m
    near = np.array([bool(x) for x in tree.query_ball_point(uv, reach, return_length=True)])
    keep = (kind == house) | ~near
    # Houses keep apart from each other too: the later of two overlapping houses goes.
    d, j = tree.query(homes, k=2)
    close = (d[:, 1] < 2 * reach) & (j[:, 1] < np.arange(len(homes)))
    keep[np.flatnonzero(kind == house)[close]] = False
    return kind[keep], uv[keep]


def _finish(
    kind: np.ndarray, uv: np.ndarray, g: Ground, h_m: np.ndarray, rng: np.random.Generator, notes: list[str]
) -> Placement:
    lo = np.array([KINDS[KIND_ORDER[i]].scale[0] for i in range(len(KIND_ORDER))])
    hi = np.array([KINDS[KIND_ORDER[i]].scale[1] for i in range(len(KIND_ORDER))])
    sink = np.array([KINDS[KIND_ORDER[i]].sink for i in range(len(KIND_ORDER))])
    scale = lo[kind] + (hi[kind] - lo[kind]) * rng.random(len(kind))
    yaw = rng.random(len(kind)) * 2 * np.pi
    variant = rng.integers(0, VARIANTS, len(kind))
    y = mesh_height(h_m, g.mesh_step, uv) - sink[kind] * scale
    return Placement(kind, variant, uv, y, yaw, scale, notes)
