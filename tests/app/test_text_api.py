"""The /text endpoint through gradio_client against a real server with a tiny Llama in --model-dir."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.app.conftest import start_server, stop_server
from tests.generators.text.helpers import save_tiny_llama

TEXT = {"prompt": "Hello there", "model": "tiny-llama", "max_new_tokens": 12, "seed": 3}


@pytest.fixture(scope="module")
def text_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from gradio_client import Client

    tmp = tmp_path_factory.mktemp("text-server")
    save_tiny_llama(tmp / "models" / "tiny-llama")
    proc, url = start_server(tmp, "--model-dir", str(tmp / "models"))
    yield Client(url, analytics_enabled=False, verbose=False, download_files=False)
    stop_server(proc)


def test_text_endpoint_takes_the_documented_names(text_client):
    api = text_client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/text"]
    names = [p["parameter_name"] for p in api["parameters"]]
    for name in ("prompt", "model", "mode", "max_new_tokens", "temperature", "top_p", "top_k", "seed"):
        assert name in names
    assert {"repetition_penalty", "system_prompt", "history", "preset", "stop"} <= set(names)


def test_text_endpoint_returns_text_markdown_and_recipe_then_hits_the_cache(text_client):
    text, md, recipe, status = text_client.predict(**TEXT, api_name="/text")
    assert isinstance(text, str) and text
    assert md["path"].endswith("text.md")
    assert recipe["modality"] == "text" and recipe["seed"] == 3 and recipe["model"]["id"] == "tiny-llama"
    assert recipe["info"]["new_tokens"] <= 12 and "Generated" in status
    assert recipe["params"]["stop"] == []  # left out, the API's stop list is empty (the model's own end only)
    again = text_client.predict(**TEXT, api_name="/text")
    assert again[0] == text and "From cache" in again[3]


def test_text_endpoint_streams(text_client):
    job = text_client.submit(**{**TEXT, "seed": 4, "max_new_tokens": 20}, api_name="/text")
    deadline = time.time() + 120
    while not job.done() and time.time() < deadline:
        time.sleep(0.05)
    texts = [o[0] for o in job.outputs() if o and isinstance(o[0], str)]
    assert len(texts) >= 3 and texts[-1].startswith(texts[-2])


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"stop": "a,,b"}, "stop[1]"),
        ({"max_new_tokens": 100000}, "max_new_tokens"),
        ({"temperature": -1}, "temperature"),
        ({"mode": "complete", "history": '[["hi", "hello"]]'}, "history"),
        ({"model": "no-such-model"}, "model"),
        ({"prompt": "fox " * 900, "max_new_tokens": 12}, "prompt"),
    ],
)
def test_bad_input_is_a_clear_error(text_client, bad, field):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        text_client.predict(**{**TEXT, **bad}, api_name="/text")
    assert field in str(err.value)
