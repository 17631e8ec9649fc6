"""The /image endpoint through gradio_client against a real server, on a tiny SD checkpoint from --model-dir."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image

from tests.app.conftest import start_server, stop_server
from tests.generators.image.helpers import save_tiny_sd

REQUEST = {"prompt": "red apple", "model": "tiny-sd", "num_steps": 2, "seed": 7, "width": 64, "height": 64}


@pytest.fixture(scope="module")
def image_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from gradio_client import Client

    tmp = tmp_path_factory.mktemp("image-server")
    models = tmp / "models"
    save_tiny_sd(models / "tiny-sd")
    proc, url = start_server(tmp, "--model-dir", str(models))
    try:
        yield Client(url, analytics_enabled=False, verbose=False, download_files=False)
    finally:
        stop_server(proc)


def _call(client, **kw):
    return client.predict(**{**REQUEST, **kw}, api_name="/image")


def _path(item) -> str:
    image = item.get("image", item) if isinstance(item, dict) else item
    return image["path"] if isinstance(image, dict) else str(image)


def test_image_endpoint_returns_pngs_with_the_recipe(image_client):
    gallery, files, recipe, status = _call(image_client, num_images=2)
    assert len(gallery) == 2
    with open(_path(gallery[0]), "rb") as f:
        png = Image.open(io.BytesIO(f.read()))
    assert png.size == (64, 64)
    assert png.text["parameters"].startswith("red apple\n") and "Seed: 7" in png.text["parameters"]
    assert recipe["modality"] == "image" and recipe["info"]["seeds"] == [7, 8]
    assert any(str(_path(f)).endswith("recipe.json") for f in files)
    assert "seed 7" in status


def test_repeat_comes_from_cache(image_client):
    _call(image_client, seed=21)
    *_, status = _call(image_client, seed=21)
    assert "From cache" in status


@pytest.mark.parametrize(
    ("bad", "field"),
    [({"num_steps": 0}, "num_steps"), ({"width": 100}, "width"), ({"scheduler": "nope"}, "scheduler")],
)
def test_bad_input_names_the_field(image_client, bad, field):
    with pytest.raises(Exception) as err:
        _call(image_client, **bad)
    assert field in str(err.value)


def test_api_lists_keyword_parameters(image_client):
    info = image_client.view_api(print_info=False, return_format="dict")
    params = {p["parameter_name"] for p in info["named_endpoints"]["/image"]["parameters"]}
    assert {"prompt", "negative_prompt", "model", "num_steps", "guidance_scale", "width", "height"} <= params
    assert {"num_images", "seed", "init_image", "mask_image"} <= params
