"""The GLB scene is engine-ready: Khronos' validator finds no error and no warning for every landform and palette,
every size, tiling or not. Its only notes are about EXT_mesh_gpu_instancing, which this validator does not know
(2.0.0-dev.3.10): the extension itself, and the instance accessors it therefore sees no use of; the extension's own
rules are checked here instead. Each terrain chunk has normals, tangents, UVs and the textured material; water has
its own."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.generators.base import Context
from studio.generators.terrain.generator import TerrainGenerator
from studio.generators.terrain.params import TerrainParams
from studio.generators.terrain.prompt import LANDFORMS, PALETTES
from tests.generators.terrain.gltf_check import validate

# Every landform at the smallest size, the palettes spread over them; the larger sizes once each.
CASES = [
    {"prompt": "terrain", "landform": form, "palette": PALETTES[i % len(PALETTES)], "size_px": 129}
    for i, form in enumerate(LANDFORMS)
] + [
    {"prompt": "archipelago", "size_px": 129, "tileable": True},
    {"prompt": "snowy jagged mountains with a lake", "size_px": 257},
    {"prompt": "gentle green hills", "size_px": 513, "tileable": True},
    {"prompt": "volcanic island", "size_px": 1025},
]


def glb_json(data: bytes) -> tuple[dict, bytes]:
    """(the JSON chunk, the binary chunk) of a GLB."""
    jlen = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20 : 20 + jlen])
    return doc, data[20 + jlen + 8 :]


@pytest.fixture(scope="module")
def glbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = {}
    for i, case in enumerate(CASES):
        params = TerrainParams(seed=11 + i, **case)  # type: ignore[arg-type]
        files = {a.name: a.data for a in TerrainGenerator().generate(None, params, Context()).artifacts}
        out[json.dumps(case)] = files["terrain.glb"]
    return out


def test_validator_reports_nothing_for_every_size_and_preset(glbs, tmp_path: Path) -> None:
    paths = []
    for i, data in enumerate(glbs.values()):
        paths.append(tmp_path / f"{i}.glb")
        paths[-1].write_bytes(data)
    reports = validate(paths)
    assert len(reports) == len(CASES)
    for (case, data), report in zip(glbs.items(), reports, strict=True):
        assert (report["errors"], report["warnings"], report["hints"]) == (0, 0, 0), f"{case}: {report['messages']}"
        doc, _ = glb_json(data)
        instance_accessors = {
            a
            for n in doc["nodes"]
            for a in n.get("extensions", {}).get("EXT_mesh_gpu_instancing", {}).get("attributes", {}).values()
        }
        assert instance_accessors, f"{case}: no objects"
        expected = {"UNSUPPORTED_EXTENSION /extensionsUsed/0"} | {
            f"UNUSED_OBJECT /accessors/{a}" for a in instance_accessors
        }
        notes = {" ".join(m.split(" ")[1:3]).rstrip(":") for m in report["messages"]}
        assert notes == expected, f"{case}: {report['messages']}"
        assert report["infos"] == len(expected)


def test_instancing_follows_the_extension_rules(glbs) -> None:
    """What the validator cannot check: EXT_mesh_gpu_instancing's accessor types, counts and buffer views."""
    for case, data in glbs.items():
        doc, _ = glb_json(data)
        assert doc["extensionsUsed"] == ["EXT_mesh_gpu_instancing"] and "extensionsRequired" not in doc
        for node in doc["nodes"]:
            ext = node.get("extensions", {}).get("EXT_mesh_gpu_instancing")
            if ext is None:
                continue
            accs = {k: doc["accessors"][a] for k, a in ext["attributes"].items()}
            assert set(accs) == {"TRANSLATION", "ROTATION", "SCALE"} and "mesh" in node, case
            assert {a["count"] for a in accs.values()} == {accs["TRANSLATION"]["count"]} and accs["SCALE"]["count"] > 0
            assert [accs[k]["type"] for k in ("TRANSLATION", "ROTATION", "SCALE")] == ["VEC3", "VEC4", "VEC3"]
            assert all(a["componentType"] == 5126 for a in accs.values())  # float
            assert all("target" not in doc["bufferViews"][a["bufferView"]] for a in accs.values())


def test_chunks_carry_normals_tangents_uvs_and_the_textured_material(glbs) -> None:
    doc, binary = glb_json(glbs[json.dumps(CASES[-1])])  # 1025: 257^2 vertices in 4 x 4 chunks of 64 quads
    nodes = {n["name"]: n for n in doc["nodes"]}
    chunks = [doc["nodes"][c] for c in nodes["terrain"]["children"]]
    assert len(chunks) == 16 and chunks[0]["name"] == "terrain_0_0"
    materials = [m["name"] for m in doc["materials"]]
    assert materials[:2] == ["terrain", "water"]
    terrain = doc["materials"][0]
    assert "baseColorTexture" in terrain["pbrMetallicRoughness"] and "normalTexture" in terrain
    vertices = 0
    for chunk in chunks:
        (prim,) = doc["meshes"][chunk["mesh"]]["primitives"]
        assert set(prim["attributes"]) == {"POSITION", "NORMAL", "TANGENT", "TEXCOORD_0"}
        assert prim["material"] == 0
        vertices += doc["accessors"][prim["attributes"]["POSITION"]]["count"]
    assert vertices == 16 * 65 * 65  # neighbours share their edge vertices
    (water,) = doc["meshes"][nodes["water"]["mesh"]]["primitives"]
    assert doc["materials"][water["material"]]["alphaMode"] == "BLEND"
    for view in doc["bufferViews"]:  # vertex and index data say so; images carry no target
        assert view.get("target") in (34962, 34963, None)
    images = [doc["bufferViews"][im["bufferView"]] for im in doc["images"]]
    assert all("target" not in v for v in images)
    albedo = Image.open(io.BytesIO(binary[images[0]["byteOffset"] : images[0]["byteOffset"] + images[0]["byteLength"]]))
    assert albedo.size == (1024, 1024)  # power of two: engines mipmap and compress it
    pos = doc["accessors"][doc["meshes"][chunks[0]["mesh"]]["primitives"][0]["attributes"]["POSITION"]]
    assert pos["min"][0] == pytest.approx(-2000.0) and np.isclose(pos["max"][0], -2000.0 + 4000.0 * 64 / 256)


def test_tiling_texture_repeats_and_detail_normal_is_flat_at_full_mesh_resolution(glbs) -> None:
    doc, binary = glb_json(glbs[json.dumps(CASES[len(LANDFORMS)])])  # 129, tileable: mesh = heightmap grid
    assert {s["wrapS"] for s in doc["samplers"]} == {10497}  # REPEAT
    view = doc["bufferViews"][doc["images"][1]["bufferView"]]
    detail = np.asarray(Image.open(io.BytesIO(binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]])))
    assert detail.shape == (128, 128, 3)
    # The mesh already has every height sample, so no detail is left: the tangent-space normal points straight out.
    assert np.abs(detail.astype(int) - [128, 128, 255]).max() <= 1
