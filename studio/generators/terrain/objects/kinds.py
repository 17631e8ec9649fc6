"""What each kind of object needs to stand somewhere: its habitat, spacing, slope limit and size.

A habitat is a weight in [0, 1] per heightmap pixel, from the maps the colouring already made: height above the
water (``land``: 0 at the shore, 1 at the top), slope (rise over run), moisture, the forest layer and snow. Two
limits are hard, whatever the weights: nothing stands in water, and nothing on a slope steeper than its
``max_slope``. ``spacing_m`` is the blue-noise distance between two objects of the kind at full density.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from studio.generators.terrain.shape import smoothstep


@dataclass(frozen=True)
class Env:
    """Per-pixel fields (n, n) the habitats read."""

    land: np.ndarray  # height above water, 0 (shore) .. 1 (top)
    slope: np.ndarray  # rise over run
    wet: np.ndarray  # moisture 0 .. 1
    forest: np.ndarray  # the forest ground layer's weight
    snow: np.ndarray  # snow cover 0 .. 1
    village: np.ndarray  # 0 .. 1 near the chosen village sites
    tree_floor: float = 0.3  # tree habitat outside the forest layer (lower when a sketch paints the forests)


def _band(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return smoothstep(lo, lo + 0.03, x) * smoothstep(hi, hi - 0.1, x)


@dataclass(frozen=True)
class Kind:
    """One kind of object: where it grows and how it is spaced, sized and shown on the preview."""

    name: str
    spacing_m: float
    max_slope: float  # rise over run (1.0 = 45 degrees)
    scale: tuple[float, float]  # per-instance uniform scale range
    sink: float  # metres (times scale) the base goes below the ground, so slopes leave no gap
    radius_m: float  # footprint, for the preview and for keeping trees out of houses
    colour: tuple[float, float, float]  # preview dot (sRGB)
    habitat: Callable[[Env], np.ndarray]


def _trees(e: Env) -> np.ndarray:
    return (1.0 - e.snow) * (e.tree_floor + (1.0 - e.tree_floor) * e.forest)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("conifer", 6.0, 0.9, (0.8, 1.25), 0.3, 2.2, (0.08, 0.22, 0.12),
             lambda e: smoothstep(0.2, 0.5, e.wet) * _band(e.land, 0.03, 0.92) * _trees(e)),
        Kind("broadleaf", 8.0, 0.6, (0.8, 1.25), 0.3, 2.6, (0.16, 0.32, 0.1),
             lambda e: smoothstep(0.4, 0.7, e.wet) * _band(e.land, 0.02, 0.6) * _trees(e)),
        Kind("palm", 9.0, 0.5, (0.8, 1.2), 0.3, 2.5, (0.2, 0.42, 0.14),
             lambda e: smoothstep(0.3, 0.04, e.land) * smoothstep(0.005, 0.02, e.land) * smoothstep(0.05, 0.3, e.wet)),
        Kind("bush", 5.0, 1.0, (0.7, 1.4), 0.15, 0.6, (0.22, 0.35, 0.14),
             lambda e: 0.6 * smoothstep(0.03, 0.3, e.wet) * _band(e.land, 0.01, 0.85) * (1.0 - e.snow)),
        Kind("rock", 12.0, 2.5, (0.6, 1.7), 0.5, 1.5, (0.42, 0.4, 0.38),
             lambda e: (0.06 + 0.94 * smoothstep(0.3, 1.0, e.slope)) * smoothstep(0.0, 0.02, e.land)),
        Kind("cactus", 9.0, 0.6, (0.8, 1.3), 0.1, 0.6, (0.25, 0.4, 0.2),
             lambda e: smoothstep(0.45, 0.1, e.wet) * _band(e.land, 0.02, 0.9)),
        Kind("grass", 3.0, 0.8, (0.7, 1.4), 0.05, 0.3, (0.38, 0.5, 0.2),
             lambda e: smoothstep(0.1, 0.4, e.wet) * smoothstep(0.9, 0.5, e.land) * (1 - 0.7 * e.forest)
             * (1 - e.snow)),
        Kind("house", 24.0, 0.2, (0.9, 1.15), 0.4, 6.0, (0.62, 0.25, 0.18),
             lambda e: e.village * smoothstep(0.2, 0.08, e.slope) * _band(e.land, 0.01, 0.4)),
    )
}  # fmt: skip
