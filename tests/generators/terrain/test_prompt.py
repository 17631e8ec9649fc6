"""Prompt -> terrain: the words are understood, and each promised feature is measurably in the output."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from studio.generators.terrain.generator import Terrain, make_terrain
from studio.generators.terrain.params import TerrainParams
from studio.generators.terrain.prompt import resolve

SIZE = 257
SEEDS = (1, 2)


def _make(prompt: str, seed: int, **kw: object) -> Terrain:
    return make_terrain(TerrainParams(prompt=prompt, seed=seed, size_px=SIZE, **kw), seed)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def made() -> dict[tuple[str, int], Terrain]:
    prompts = [
        "snowy jagged mountains with a lake",
        "gentle green hills",
        "desert canyon",
        "volcanic island",
        "archipelago",
        "jagged mountains",
        "gentle mountains",
    ]
    return {(p, s): _make(p, s) for p in prompts for s in SEEDS}


def _water(t: Terrain) -> np.ndarray:
    return t.grid.close(t.maps.water)


def _land_rgb(t: Terrain) -> np.ndarray:
    return t.grid.close(t.maps.albedo)[~_water(t)].mean(axis=0) * 255


def _slope_deg(t: Terrain) -> float:
    n = t.height.shape[0]
    gy, gx = np.gradient(t.height * t.settings.height_m, t.settings.extent_m / (n - 1))
    return float(np.degrees(np.arctan(np.hypot(gx, gy)))[~_water(t)].mean())


def test_words_pick_landform_palette_and_modifiers() -> None:
    s, terms = resolve("snowy jagged mountains with a lake")
    assert (s.landform, s.palette, s.lake) == ("mountains", "alpine", True)
    assert s.snow_line < 0.5 and s.roughness >= 0.85 and s.water_level >= 0.05
    assert {"snowy", "jagged", "mountains", "lake"} <= set(terms)
    assert resolve("desert canyon")[0].palette == "desert"
    assert resolve("volcanic island")[0].landform == "volcano"
    assert resolve("a few ISLANDS, an Archipelago")[0].landform == "archipelago"
    assert resolve("")[0].landform == "hills"


def test_negation_and_explicit_overrides() -> None:
    s, terms = resolve("mountains with no snow and without a lake")
    assert s.snow_line == 1.0 and not s.lake and "no snow" in terms
    s, _ = resolve("volcanic island", {"landform": "hills", "roughness": 0.1, "water_level": None})
    assert s.landform == "hills" and s.roughness == 0.1 and s.palette == "volcanic"
    assert s.water_level == resolve("hills")[0].water_level  # the overriding landform brings its preset


@pytest.mark.parametrize("seed", SEEDS)
def test_snowy_mountains_with_a_lake(made, seed: int) -> None:
    t = made["snowy jagged mountains with a lake", seed]
    land = ~t.maps.water
    assert t.maps.snow[land].mean() > 0.15  # snow on a good part of the land
    water = _water(t)
    labels, _ = ndimage.label(water)
    sizes = np.bincount(labels.ravel())[1:]
    lake = labels == 1 + int(np.argmax(sizes))
    assert sizes.max() / water.size > 0.03  # one real lake, not puddles
    cy, cx = (c / SIZE for c in ndimage.center_of_mass(lake))
    assert 0.2 < cy < 0.8 and 0.2 < cx < 0.8  # inland, not an edge of the map


@pytest.mark.parametrize("seed", SEEDS)
def test_jagged_is_sharper_than_gentle(made, seed: int) -> None:
    def sharpness(t: Terrain) -> float:
        return float(np.abs(ndimage.laplace(t.height.astype(np.float64))).mean())

    jagged, gentle = made["jagged mountains", seed], made["gentle mountains", seed]
    assert sharpness(jagged) > 1.5 * sharpness(gentle)
    assert _slope_deg(jagged) > _slope_deg(gentle) + 5
    assert _slope_deg(made["snowy jagged mountains with a lake", seed]) > 2 * _slope_deg(
        made["gentle green hills", seed]
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_gentle_green_hills(made, seed: int) -> None:
    t = made["gentle green hills", seed]
    r, g, b = _land_rgb(t)
    assert g > r + 20 and g > b + 30  # green
    assert _slope_deg(t) < 20 and t.maps.snow.max() == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_desert_canyon(made, seed: int) -> None:
    t = made["desert canyon", seed]
    r, g, b = _land_rgb(t)
    assert r > g + 30 > b + 30  # sand and red rock
    h = t.height
    assert np.median(h) - np.quantile(h, 0.03) > 0.4  # a gorge cut deep below the plateau
    water = _water(t)
    assert 0.005 < water.mean() < 0.06  # a river, not a lake district
    labels, _ = ndimage.label(water)
    river = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    cols = np.flatnonzero(river.any(axis=0))
    assert cols.max() - cols.min() > 0.8 * SIZE  # it runs across the map


@pytest.mark.parametrize("seed", SEEDS)
def test_volcanic_island(made, seed: int) -> None:
    t = made["volcanic island", seed]
    h, n = t.height, SIZE
    c, r = n // 2, n // 8
    centre = h[c - r : c + r, c - r : c + r]
    assert centre.max() > np.quantile(h, 0.99)  # the peak is in the middle
    assert h[c - 2 : c + 3, c - 2 : c + 3].mean() < centre.max() - 0.1  # with a crater in the top
    water = _water(t)
    ring = np.ones_like(water)
    ring[n // 10 : -n // 10, n // 10 : -n // 10] = False
    assert water[ring].mean() > 0.95  # sea all around
    preview = t.grid.close(t.maps.preview)
    lava = (preview[..., 0] > 0.8) & (preview[..., 2] < 0.3)
    assert lava[c - r : c + r, c - r : c + r].sum() > 10  # glowing lava in the crater


@pytest.mark.parametrize("seed", SEEDS)
def test_archipelago(made, seed: int) -> None:
    t = made["archipelago", seed]
    water = _water(t)
    assert water.mean() > 0.5
    labels, _ = ndimage.label(~water)
    islands = (np.bincount(labels.ravel())[1:] > 0.001 * water.size).sum()
    assert islands >= 5


def test_sliders_change_the_land_as_labelled() -> None:
    base = _make("hills", 3, water_level=0.2)
    assert abs(_water(base).mean() - 0.2) < 0.02
    flat = _make("hills", 3, erosion=0.0, roughness=0.0)
    rough = _make("hills", 3, erosion=0.0, roughness=1.0)
    assert np.abs(ndimage.laplace(rough.height)).mean() > np.abs(ndimage.laplace(flat.height)).mean()
    snow = _make("hills", 3, snow_line=0.3)
    assert snow.maps.snow.mean() > 0.2


@pytest.mark.parametrize("prompt", ["rolling hills with a river", "mountains with a river"])
def test_river_runs_across_the_map(prompt: str) -> None:
    t = _make(prompt, 4)
    labels, _ = ndimage.label(_water(t))
    river = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    cols = np.flatnonzero(river.any(axis=0))
    assert cols.max() - cols.min() > 0.8 * SIZE


def test_tropical_island_has_beaches_and_open_sea() -> None:
    t = _make("tropical island", 4)
    water = _water(t)
    n = SIZE
    ring = np.ones_like(water)
    ring[n // 10 : -n // 10, n // 10 : -n // 10] = False
    assert water[ring].mean() > 0.95 and 0.5 < water.mean() < 0.7
    assert t.maps.splat[..., 3].mean() > 0.01  # sand
