"""The model listing everyone else reads: the /models Gradio endpoint, the API endpoints' model choices and
``python -m studio models``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_models_endpoint_lists_each_modality_with_its_unused_params(text_server):
    from gradio_client import Client

    client = Client(text_server, analytics_enabled=False, verbose=False, download_files=False)
    listing = client.predict(api_name="/models")
    assert set(listing) == {"text", "image", "music", "terrain"}
    text = {m["id"]: m for m in listing["text"]}
    assert text["smollm2-135m-instruct"]["default"] and text["tiny-llama"]["source"] == "folder"
    gan = next(m for m in listing["image"] if m["id"] == "emoji-gan")
    assert {"num_steps", "guidance_scale"} <= set(gan["unused"]) and gan["kind"] == "emoji-gan"
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    model = next(p for p in api["/text"]["parameters"] if p["parameter_name"] == "model")
    assert {"", "smollm2-135m-instruct", "tiny-llama"} <= set(model["python_type"]["type"].split("'")[1::2])
    image_model = next(p for p in api["/image"]["parameters"] if p["parameter_name"] == "model")
    assert "emoji-vae" in image_model["python_type"]["type"]


def test_cli_lists_the_models_as_json_and_as_a_table(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "studio", "models", *args, "--cache-dir", str(tmp_path)]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)

    as_json = run("--json")
    assert as_json.returncode == 0, as_json.stderr
    listing = json.loads(as_json.stdout)
    assert [m["id"] for m in listing["image"]][:3] == ["emoji-diffusion", "emoji-gan", "emoji-vae"]
    table = run("--modality", "image")
    assert table.returncode == 0 and "emoji-gan" in table.stdout and "unused: guidance_scale" in table.stdout
    assert "text:" not in table.stdout
