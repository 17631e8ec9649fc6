"""Objects on the land: the prompt picks kinds and density, placement keeps out of water and off steep slopes, the
pattern is blue noise that tiles, the GLB stores each variant once and instances it, the caps hold."""

from __future__ import annotations

import csv
import io
import json
import struct

import numpy as np
import pytest
from scipy.spatial import cKDTree

from studio.generators.base import Context
from studio.generators.terrain.generator import TerrainGenerator
from studio.generators.terrain.objects.assets import KINDS, variant
from studio.generators.terrain.objects.bluenoise import poisson_torus
from studio.generators.terrain.objects.kinds import KINDS as RULES
from studio.generators.terrain.objects.placement import instance_cap
from studio.generators.terrain.params import TerrainParams
from studio.params import ParamError, check_params

TREES = {"conifer", "broadleaf", "palm"}


def _run(prompt: str, **kw: object) -> tuple[dict[str, bytes], dict]:
    params = TerrainParams(prompt=prompt, **{"seed": 3, "size_px": 129, **kw})  # type: ignore[arg-type]
    out = TerrainGenerator().generate(None, params, Context())
    return {a.name: a.data for a in out.artifacts}, out.info


def _rows(files: dict[str, bytes]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files["objects.csv"].decode("ascii"))))


@pytest.fixture(scope="module")
def forest() -> tuple[dict[str, bytes], dict]:
    return _run("pine forest on rolling hills with a lake")


def test_forest_has_many_times_the_trees_of_a_desert(forest) -> None:
    trees = sum(r["type"] in TREES for r in _rows(forest[0]))
    desert = sum(r["type"] in TREES for r in _rows(_run("barren desert")[0]))
    assert trees >= 300 and trees >= 20 * max(1, desert)
    assert forest[1]["settings"]["object_kinds"][0] == "conifer" and "broadleaf" not in forest[1]["objects"]


@pytest.mark.parametrize(
    ("prompt", "present", "absent"),
    [("palm beach", {"palm"}, {"conifer", "cactus"}), ("rocky tundra", {"rock"}, TREES | {"cactus"})],
)
def test_prompts_pick_their_kinds(prompt: str, present: set[str], absent: set[str]) -> None:
    files, info = _run(prompt)
    kinds = {r["type"] for r in _rows(files)}
    assert present <= kinds and not absent & kinds, kinds
    assert info["objects"] == {k: sum(r["type"] == k for r in _rows(files)) for k in kinds}


def test_village_prompt_builds_houses_clear_of_trees() -> None:
    files, _ = _run("a village by the lake", size_px=257)
    rows = _rows(files)
    houses = np.array([[float(r["x"]), float(r["y"])] for r in rows if r["type"] == "house"])
    others = np.array([[float(r["x"]), float(r["y"])] for r in rows if r["type"] in TREES])
    assert len(houses) >= 1
    px_m = 4000.0 / 256
    d, _ = cKDTree(houses).query(others)
    assert d.min() * px_m >= RULES["house"].radius_m  # no tree inside a house


def test_nothing_stands_in_water_or_on_a_slope_steeper_than_its_kind_allows() -> None:
    files, info = _run("jagged mountains with a lake and pine forest")  # half the land is too steep for conifers
    n = 129
    h = np.frombuffer(files["heightmap.r16"], dtype="<u2").reshape(n, n).astype(np.float64) / 65535.0
    s = info["settings"]
    gy, gx = np.gradient(h * s["height_m"], s["extent_m"] / (n - 1))
    slope = np.hypot(gx, gy)
    rows = _rows(files)
    assert info["water_fraction"] > 0.02 and len(rows) > 500  # the lake is there, and so are the objects
    x = np.array([float(r["x"]) for r in rows])
    y = np.array([float(r["y"]) for r in rows])
    col, row = np.rint(x).astype(int), np.rint(y).astype(int)
    assert (h[row, col] >= info["water_height"] - 1e-4).all()  # the ground under each object is above the water
    limit = np.array([RULES[r["type"]].max_slope for r in rows])
    assert (slope[row, col] <= limit * 1.01 + 1e-3).all()
    scale = np.array([float(r["scale"]) for r in rows])
    lo = np.array([RULES[r["type"]].scale[0] for r in rows])
    assert (scale >= lo).all() and len({r["yaw"] for r in rows}) > len(rows) // 2  # turned and scaled per instance


def test_blue_noise_keeps_its_distance_across_the_wrap() -> None:
    pts = poisson_torus(0.03, np.random.default_rng(1))
    d, _ = cKDTree(pts, boxsize=1.0).query(pts, k=2)
    assert d[:, 1].min() >= 0.03 * 0.999 and d[:, 1].mean() < 0.03 * 1.25  # spaced, yet filling the square
    assert len(pts) > 0.5 / 0.03**2


def test_objects_tile_with_the_map() -> None:
    files, _ = _run("pine forest", size_px=257, tileable=True)
    rows = _rows(files)
    xy = np.array([[float(r["x"]), float(r["y"])] for r in rows if r["type"] == "conifer"]) / 256.0
    assert ((xy >= 0) & (xy < 1)).all()  # [0, 1): an object on the seam is not written twice
    # Conifers keep their blue-noise spacing across the seam as well as inside: the pattern wraps.
    d_torus, _ = cKDTree(xy, boxsize=1.0).query(xy, k=2)
    d_plain, _ = cKDTree(xy).query(xy, k=2)
    assert d_torus[:, 1].min() >= 0.98 * d_plain[:, 1].min()


def _glb_doc(data: bytes) -> dict:
    return json.loads(data[20 : 20 + struct.unpack_from("<I", data, 12)[0]])


def test_each_variant_stored_once_and_instanced(forest) -> None:
    files, info = forest
    doc = _glb_doc(files["terrain.glb"])
    objects = next(n for n in doc["nodes"] if n["name"] == "objects")
    children = [doc["nodes"][c] for c in objects["children"]]
    counts = [
        doc["accessors"][c["extensions"]["EXT_mesh_gpu_instancing"]["attributes"]["TRANSLATION"]]["count"]
        for c in children
    ]
    assert sum(counts) == info["objects_total"] and len(children) <= len(KINDS) * 3
    assert len({c["mesh"] for c in children}) == len(children)  # one mesh per variant, not per instance


def test_variants_differ_by_seed_and_stand_on_the_ground() -> None:
    for kind in KINDS:
        a, b, c = variant(kind, 1, 0), variant(kind, 2, 0), variant(kind, 1, 0)
        assert np.array_equal(a.position, c.position), kind  # same seed, same mesh
        assert not np.array_equal(a.position, b.position), kind
        assert a.triangles >= 12 and a.position[:, 1].max() > 0.2, kind
        assert np.isfinite(a.normal).all() and np.allclose(np.linalg.norm(a.normal, axis=1), 1, atol=1e-4), kind


def test_huge_map_is_capped_with_a_note_naming_the_field() -> None:
    _, info = _run("dense pine forest", extent_m=50000.0)
    assert info["objects_total"] <= instance_cap(129) == info["objects_cap"]
    assert info["objects_capped"] and info["objects_capped"][0].startswith("object_density:")
    assert info["objects_asked"] > 1_000_000  # a 50 km forest: millions asked for, the status line says so


def test_sliders_and_toggles_win_over_the_prompt() -> None:
    files, info = _run("pine forest", object_density=0.0)
    assert _rows(files) == [] and info["settings"]["object_density"] == 0.0
    files, info = _run("pine forest", object_kinds=("rock",))
    assert {r["type"] for r in _rows(files)} == {"rock"}
    for bad in (["moon"], ["rock", "rock"]):
        with pytest.raises(ParamError) as err:
            check_params(TerrainParams, {"object_kinds": bad})
        assert err.value.field == "object_kinds"
    with pytest.raises(ParamError) as err:
        check_params(TerrainParams, {"object_density": 2.0})
    assert err.value.field == "object_density"


def test_ground_layers_are_seamless_and_follow_the_splat_order(forest) -> None:
    from PIL import Image

    files, info = forest
    assert [layer["name"] for layer in info["layers"]] == ["grass", "rock", "snow", "sand"]
    splat = np.asarray(Image.open(io.BytesIO(files["splatmap.png"])))
    for layer in info["layers"]:
        tex = np.asarray(Image.open(io.BytesIO(files[layer["texture"]]))).astype(np.int64)
        assert tex.shape == (256, 256, 3) and tex.std() > 2, layer["name"]
        # Seamless: the step from the last column back to the first is like any step inside the texture.
        inner = np.abs(np.diff(tex, axis=1)).mean()
        assert np.abs(tex[:, 0] - tex[:, -1]).mean() < 2.5 * inner, layer["name"]
        assert np.abs(tex[0] - tex[-1]).mean() < 2.5 * np.abs(np.diff(tex, axis=0)).mean(), layer["name"]
        weight = np.asarray(Image.open(io.BytesIO(files[layer["weightmap"]])))
        assert np.array_equal(weight, splat[..., layer["index"]]), layer["name"]
