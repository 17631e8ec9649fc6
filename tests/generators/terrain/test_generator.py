"""Terrain generator: outputs, formats, determinism, seamless tiling, params, progress and cancellation."""

from __future__ import annotations

import io
import struct
import threading

import numpy as np
import pytest
from PIL import Image

from studio.generators.base import Cancelled, Context, Event
from studio.generators.terrain.generator import TerrainGenerator
from studio.generators.terrain.params import TerrainParams
from studio.params import ParamError, check_params

PROMPT = "snowy jagged mountains with a lake"


def _run(**kw: object) -> tuple[dict[str, bytes], dict[str, object]]:
    params = TerrainParams(**{"prompt": PROMPT, "seed": 5, "size_px": 129, **kw})  # type: ignore[arg-type]
    out = TerrainGenerator().generate(None, params, Context())
    return {a.name: a.data for a in out.artifacts}, out.info


@pytest.fixture(scope="module")
def small() -> tuple[dict[str, bytes], dict[str, object]]:
    return _run()


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_generator_protocol() -> None:
    gen = TerrainGenerator()
    (spec,) = gen.models()
    assert (spec.id, spec.modality, spec.source) == ("procedural", "terrain", "procedural")
    assert gen.modality == "terrain" and gen.params_type is TerrainParams
    assert gen.load(spec, "cpu", None) is None
    assert gen.recognise(__import__("pathlib").Path(".")) is None


def test_outputs_roles_shapes_and_ranges(small) -> None:
    files, info = small
    out = TerrainGenerator().generate(None, TerrainParams(prompt=PROMPT, seed=5, size_px=129), Context())
    roles = {a.name: a.role for a in out.artifacts}
    assert roles["terrain.png"] == "image" and roles["terrain.glb"] == "model3d"
    assert roles["heightmap.png"] == "heightmap"
    preview = _png(files["terrain.png"])
    assert preview.shape == (129, 129, 3) and preview.dtype == np.uint8
    assert preview.std() > 10  # not a flat image
    assert _png(files["normalmap.png"]).shape == (129, 129, 3)
    assert _png(files["splatmap.png"]).shape == (129, 129, 4)
    h = _png(files["heightmap.png"])
    assert h.min() == 0 and h.max() == 65535  # normalised to the full 16-bit range
    assert info["seed"] == 5 and info["size_px"] == 129


def test_heightmap_png_is_16_bit_and_raw_is_little_endian_513() -> None:
    files, _ = _run(size_px=513, erosion=0.0)
    png = files["heightmap.png"]
    assert png[24] == 16  # IHDR bit depth
    img = Image.open(io.BytesIO(png))
    assert img.mode == "I;16"
    h = np.asarray(img)
    assert h.dtype == np.uint16 and h.shape == (513, 513)
    raw = files["heightmap.r16"]
    assert len(raw) == 513 * 513 * 2
    assert np.array_equal(np.frombuffer(raw, dtype="<u2").reshape(513, 513), h)
    assert struct.unpack_from("<H", raw, 0)[0] == int(h[0, 0])


def test_glb_loads_as_textured_chunks_with_water_at_most_257_squared_vertices() -> None:
    import trimesh

    files, _ = _run(size_px=513, erosion=0.0)
    scene = trimesh.load(io.BytesIO(files["terrain.glb"]), file_type="glb")
    chunks = [g for name, g in scene.geometry.items() if name.startswith("terrain_")]
    assert len(chunks) == 16  # 257^2 vertices in 4 x 4 chunks of 64 quads
    assert sum(len(c.vertices) for c in chunks) == 16 * 65 * 65
    first = scene.geometry["terrain_0_0"]
    assert first.visual.uv.shape == (65 * 65, 2)
    assert first.visual.material.baseColorTexture.size == (512, 512)
    assert "water" in scene.geometry  # the lake's water plane
    bounds = scene.bounds
    assert bounds[1][0] - bounds[0][0] == pytest.approx(4000.0, rel=1e-3)  # metres, Y up
    assert len(files["terrain.glb"]) < 8_000_000


def test_scene_glb_takes_extras() -> None:
    from studio.generators.terrain.scene import SceneInput, scene_glb

    h = np.zeros((9, 9), np.float32)
    normal = np.broadcast_to(np.array([0, 0, 1], np.float32), (9, 9, 3))
    data = scene_glb(
        SceneInput(h, np.zeros((9, 9, 3), np.float32), normal, 10.0, 100.0), extras={"recipe": {"seed": 3}}
    )
    length = struct.unpack_from("<I", data, 12)[0]
    assert b'"recipe"' in data[20 : 20 + length]


def test_same_seed_same_bytes_other_seed_other_land(small) -> None:
    files, info = small
    again, info2 = _run()
    assert files == again and info == info2
    other, _ = _run(seed=6)
    assert other["heightmap.r16"] != files["heightmap.r16"]


def test_tileable_edges_match_exactly() -> None:
    files, info = _run(tileable=True, size_px=257, prompt="archipelago")
    assert info["tileable"] is True
    h = np.frombuffer(files["heightmap.r16"], dtype="<u2").reshape(257, 257)
    assert np.array_equal(h[0], h[-1]) and np.array_equal(h[:, 0], h[:, -1])
    for name in ("terrain.png", "albedo.png", "normalmap.png", "splatmap.png"):
        img = _png(files[name])
        assert np.array_equal(img[0], img[-1]) and np.array_equal(img[:, 0], img[:, -1]), name
    # Across the seam the land continues smoothly: the step there is like any other step.
    hf = h.astype(np.float64)
    seam = np.abs(hf[-2] - hf[1]).mean()  # neighbours across the wrap (row -1 == row 0)
    inner = np.abs(np.diff(hf, axis=0)).mean() * 2
    assert seam < 3 * inner


def test_plain_map_does_not_tile() -> None:
    files, _ = _run(size_px=129, prompt="hills")
    h = np.frombuffer(files["heightmap.r16"], dtype="<u2").reshape(129, 129)
    assert not np.array_equal(h[0], h[-1])


def test_sliders_override_the_prompt_and_info_records_what_was_used() -> None:
    _, info = _run(prompt="archipelago", water_level=0.0, roughness=0.25)
    settings = info["settings"]
    assert settings["water_level"] == 0.0 and settings["roughness"] == 0.25
    assert settings["landform"] == "archipelago"  # the prompt still picks the shape
    assert info["water_fraction"] == 0.0
    _, info = _run(snow_line=1.0)
    assert info["snow_fraction"] == 0.0 and "snowy" in info["prompt_terms"]


def test_params_validation() -> None:
    ok = check_params(TerrainParams, {"prompt": "desert canyon", "size_px": 1025.0, "roughness": None})
    assert ok.size_px == 1025 and ok.roughness is None
    assert check_params(TerrainParams, {"erosion": ""}).erosion is None
    for bad, field in [
        ({"size_px": 1000}, "size_px"),
        ({"roughness": 1.5}, "roughness"),
        ({"water_level": float("nan")}, "water_level"),
        ({"landform": "moon"}, "landform"),
        ({"tileable": "yes"}, "tileable"),
    ]:
        with pytest.raises(ParamError) as err:
            check_params(TerrainParams, bad)
        assert err.value.field == field


def test_progress_is_reported_and_stop_stops() -> None:
    events: list[Event] = []
    TerrainGenerator().generate(None, TerrainParams(prompt="hills", seed=1, size_px=129), Context(events.append))
    steps = [e for e in events if e.kind == "progress"]
    assert len(steps) >= 6 and steps[-1].step == steps[-1].total
    assert any(e.kind == "preview" for e in events)

    cancel = threading.Event()

    def stop_after_erosion_starts(event: Event) -> None:
        if event.kind == "progress" and event.step >= 2:
            cancel.set()

    with pytest.raises(Cancelled):
        TerrainGenerator().generate(
            None, TerrainParams(prompt="hills", seed=1, size_px=129), Context(stop_after_erosion_starts, cancel)
        )


def test_random_seed_is_drawn_and_returned() -> None:
    _, info = _run(seed=-1)
    assert isinstance(info["seed"], int) and info["seed"] >= 0


@pytest.mark.slow
def test_1025_game_engine_size() -> None:
    # The "+1" size game engines take; its speed (the 2 s target) is measured by benchmarks/terrain.py.
    files, _ = _run(size_px=1025)
    assert len(files["heightmap.r16"]) == 1025 * 1025 * 2
    with Image.open(io.BytesIO(files["heightmap.png"])) as img:
        assert img.size == (1025, 1025) and img.mode.startswith("I;16")


def test_land_colours_recolour_the_land():
    gen = TerrainGenerator()
    base = {"prompt": "gentle green hills", "seed": 4, "size_px": 129}
    plain = gen.generate(None, check_params(TerrainParams, base), Context())
    tinted = gen.generate(None, check_params(TerrainParams, {**base, "colours": "#7a1fa0, #e040c0"}), Context())
    a = np.asarray(Image.open(io.BytesIO(plain.artifacts[0].data)).convert("RGB")).astype(float)
    b = np.asarray(Image.open(io.BytesIO(tinted.artifacts[0].data)).convert("RGB")).astype(float)
    # Purple/pink land: red and blue rise against green compared with the plain palette.
    assert (b[..., 0] + b[..., 2] - 2 * b[..., 1]).mean() > (a[..., 0] + a[..., 2] - 2 * a[..., 1]).mean() + 40
    assert tinted.info["settings"]["colours"] == "#7a1fa0, #e040c0"
    with pytest.raises(ParamError, match="colours"):
        check_params(TerrainParams, {**base, "colours": "#12zz45"})
