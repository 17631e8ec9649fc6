"""The /terrain endpoint through gradio_client against a real server: outputs, cache, validation."""

from __future__ import annotations

import json
import urllib.request

import pytest

TERRAIN = {"prompt": "snowy jagged mountains with a lake", "size_px": 129, "seed": 7}


def _call(client, **kw):
    return client.predict(**{**TERRAIN, **kw}, api_name="/terrain")


def test_terrain_endpoint_returns_every_output(client):
    preview, mesh, files, recipe, status = _call(client)
    names = {f["path"].rsplit("/", 1)[-1] if isinstance(f, dict) else str(f).rsplit("/", 1)[-1] for f in files}
    assert any(n.endswith(".png") for n in names)
    assert any(n.endswith(".glb") for n in names)
    assert any(n.endswith(".r16") or n.endswith(".raw") for n in names)
    assert "recipe.json" in names
    assert recipe["modality"] == "terrain" and recipe["seed"] == 7
    assert recipe["params"]["prompt"] == TERRAIN["prompt"]
    assert "seed 7" in status
    assert str(preview).endswith(".png") or preview["path"].endswith(".png")
    assert str(mesh).endswith(".glb") or mesh["path"].endswith(".glb")


def test_same_request_comes_from_cache(client):
    _call(client, seed=11)
    *_, recipe, status = _call(client, seed=11)
    assert "From cache" in status and recipe["seed"] == 11


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"size_px": 100}, "size_px"),
        ({"roughness": "nan"}, "roughness"),
        ({"prompt": "x" * 5000}, "prompt"),
        ({"prompt": "evil\u202etext"}, "prompt"),
        ({"roughness": 7.0}, "roughness"),
        ({"roughness": "rough"}, "roughness"),
    ],
)
def test_bad_input_gets_a_clear_error_and_server_survives(client, bad, field):
    with pytest.raises(Exception) as err:
        _call(client, **bad)
    assert field in str(err.value)
    # The next request still works.
    *_, recipe, _ = _call(client, seed=3)
    assert recipe["seed"] == 3


def test_api_lists_keyword_parameters(client):
    info = client.view_api(print_info=False, return_format="dict")
    params = {p["parameter_name"] for p in info["named_endpoints"]["/terrain"]["parameters"]}
    assert {"prompt", "size_px", "seed", "roughness", "erosion", "water_level"} <= params
    json.dumps(info)


def test_nan_sent_as_raw_json_is_refused(client, server):
    """JSON clients can send NaN (Python's json does); the server must refuse it, naming the field."""
    info = client.view_api(print_info=False, return_format="dict")
    params = info["named_endpoints"]["/terrain"]["parameters"]
    data = [{**TERRAIN, "seed": float("nan")}.get(p["parameter_name"], p.get("parameter_default")) for p in params]
    req = urllib.request.Request(
        server + "gradio_api/call/terrain",
        data=json.dumps({"data": data}).encode(),  # json.dumps writes NaN
        headers={"Content-Type": "application/json"},
    )
    event_id = json.loads(urllib.request.urlopen(req, timeout=30).read())["event_id"]
    stream = urllib.request.urlopen(f"{server}gradio_api/call/terrain/{event_id}", timeout=60).read().decode()
    assert "event: error" in stream and "seed" in stream


def test_sketch_file_steers_the_terrain_and_a_bad_one_is_refused(client, tmp_path):
    from gradio_client import handle_file
    from PIL import Image, ImageDraw

    good = tmp_path / "map.png"
    im = Image.new("RGB", (64, 64), (60, 60, 60))
    ImageDraw.Draw(im).ellipse((8, 8, 30, 30), fill=(40, 90, 220))  # a lake in the north-west
    im.save(good)
    *_, recipe, _ = _call(client, prompt="gentle hills", sketch=handle_file(str(good)))
    assert recipe["params"]["sketch"]["bytes"] == good.stat().st_size  # the recipe names the sketch by its hash
    assert recipe["info"]["water_fraction"] > 0.05 and "sketch" in json.dumps(recipe["params"])
    flat = tmp_path / "flat.png"
    Image.new("RGB", (64, 64), (60, 60, 60)).save(flat)
    with pytest.raises(Exception) as err:
        _call(client, sketch=handle_file(str(flat)))
    assert "sketch" in str(err.value) and "one colour" in str(err.value)
