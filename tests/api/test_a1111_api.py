"""AUTOMATIC1111's /sdapi/v1 on a real studio server (behind --auth), driven by the ``webuiapi`` client, with the
built-in image models (drawn at 64×64 here, to be quick)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import numpy as np
import pytest

from tests.app.conftest import start_server, stop_server

FAST = {"prompt": "red apple", "seed": 7, "steps": 3, "width": 64, "height": 64, "cfg_scale": 5.0}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("a1111-server")
    proc, url = start_server(tmp, "--auth", "ann:secret-pw")
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def api(server: str):
    import webuiapi

    where = urlparse(server)
    return webuiapi.WebUIApi(host=where.hostname, port=where.port, username="ann", password="secret-pw")


def test_models_are_listed_and_the_current_one_switches(api):
    names = api.util_get_model_names()
    assert {"emoji-diffusion", "emoji-gan", "emoji-vae"} <= set(names)
    assert api.util_get_current_model() == "emoji-diffusion"
    api.util_set_model("emoji-gan")
    try:
        assert api.util_get_current_model() == "emoji-gan"
        result = api.txt2img(**FAST)
        assert result.info["sd_model_name"] == "emoji-gan"
    finally:
        api.util_set_model("emoji-diffusion")
    assert api.util_get_current_model() == "emoji-diffusion"
    assert {"Euler a", "DDIM"} <= set(api.util_get_sampler_names())


def test_txt2img_parameters_read_back_through_png_info(api):
    result = api.txt2img(**FAST, sampler_name="Euler a")
    (image,) = result.images
    assert image.size == (64, 64)
    assert result.info["all_seeds"] == [7] and result.info["steps"] == 3 and len(result.info["recipe_id"]) == 64
    read = api.png_info(image).info
    assert "Seed: 7" in read and "Steps: 3" in read and "Model: emoji-diffusion" in read
    parsed = api.png_info(image).json["parameters"]
    assert parsed["Prompt"] == "red apple" and parsed["Seed"] == 7 and parsed["Steps"] == 3
    assert parsed["Sampler"] == "Euler a"
    again = api.txt2img(**FAST, sampler_name="Euler a")
    assert again.json["images"] == result.json["images"]  # the same request: the result cache's bytes


def test_a_batch_gets_consecutive_seeds(api):
    result = api.txt2img(**{**FAST, "seed": 11}, batch_size=2)
    assert len(result.images) == 2 and result.info["all_seeds"] == [11, 12]


def test_img2img_with_a_mask_repaints(api):
    from PIL import Image

    start = api.txt2img(**FAST).image
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    result = api.img2img(
        images=[start],
        mask_image=mask,
        prompt="green apple",
        seed=3,
        steps=4,
        denoising_strength=0.6,
        width=64,
        height=64,
    )
    assert len(result.images) == 1 and result.info["denoising_strength"] == 0.6
    buf = io.BytesIO()
    result.image.save(buf, format="PNG")
    assert "Denoising strength: 0.6" in api.png_info(result.image).info


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"sampler_name": "Nope"}, "sampler_name"),
        ({"steps": 0}, "steps"),
        ({"enable_hr": True}, "enable_hr"),
        ({"styles": ["noto", "fluent"]}, "styles"),
        ({"styles": ["cinematic"]}, "styles"),
        ({"width": 70}, "width"),
    ],
)
def test_a_bad_request_names_the_field(api, bad, field):
    with pytest.raises(RuntimeError) as err:
        api.txt2img(**{**FAST, **bad})
    status, text = err.value.args
    assert status == 422 and field in text


def test_a_prompt_style_is_a_drawing_style(api):
    """A1111's prompt styles are the built-ins' drawing styles: listed, taken one at a time, reported in info."""
    assert [s["name"] for s in api.get_prompt_styles()] == ["twemoji", "noto", "openmoji", "fluent"]
    fast = {**FAST, "seed": 6}  # seed 6 of four styles: auto draws it in the third, OpenMoji's
    result = api.txt2img(**fast, styles=["openmoji"])
    assert result.info["styles"] == ["openmoji"]
    again = api.txt2img(**{**fast, "prompt": "red apple, openmoji style"})  # what the style adds to the prompt
    plain = api.txt2img(**fast)
    other = api.txt2img(**fast, styles=["noto"])

    def differ(a, b) -> float:  # mean pixel difference; each file carries its own watermark, a few levels
        return float(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).mean())

    same = max(differ(result.image, again.image), differ(result.image, plain.image))
    assert same < 6 and differ(result.image, other.image) > 2 * same


def test_progress_and_interrupt(api):
    done: dict[str, object] = {}
    worker = threading.Thread(target=lambda: done.setdefault("r", api.txt2img(**{**FAST, "steps": 150, "seed": 99})))
    worker.start()
    deadline = time.time() + 60
    seen = {}
    while time.time() < deadline:
        seen = api.get_progress()
        if seen["state"]["sampling_step"] > 0:
            break
        time.sleep(0.05)
    assert 0 < seen["progress"] < 1 and seen["state"]["sampling_steps"] == 150
    api.interrupt()
    worker.join(60)
    result = done["r"]
    assert result.images == [] and result.info["interrupted"] is True


def test_the_api_needs_the_login(server):
    import requests

    assert requests.get(server + "sdapi/v1/sd-models", timeout=10).status_code == 401
    assert requests.get(server + "sdapi/v1/sd-models", auth=("ann", "wrong"), timeout=10).status_code == 401
