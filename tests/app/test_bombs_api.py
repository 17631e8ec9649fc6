"""Memory bombs sent the way an attacker would, through a real server's HTTP API: each is refused by its header
with a message naming the field, the server's peak memory (VmHWM) barely moves, and the next request is served."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.app.conftest import start_server
from tests.app.raw_queue import run_event
from tests.generators.music.helpers import make_tiny_musicgen, midi_bytes
from tests.generators.music.test_files import lie_in_streaminfo
from tests.png_helpers import png_of

pytestmark = pytest.mark.timeout(600)
GROWTH_MB = 200  # each bomb cost 450 MB to 1.5 GB (or an out-of-memory kill) before


def peak_mb(pid: int) -> float:
    """The process's peak resident memory so far, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bombs")
    models = tmp / "models"
    make_tiny_musicgen(models / "tiny-musicgen-melody", melody=True)
    proc, url = start_server(tmp, "--model-dir", str(models))
    from gradio_client import Client

    client = Client(url, analytics_enabled=False, verbose=False, download_files=False)
    client.predict(prompt="archipelago", size_px=129, seed=1, api_name="/terrain")  # warm: the baseline peak
    yield proc.pid, url, client
    proc.terminate()
    proc.wait(20)


def refused(call, field: str) -> str:
    with pytest.raises(Exception) as err:  # gradio_client raises its AppError carrying the server message
        call()
    message = str(err.value)
    assert field in message and "Traceback" not in message, message
    return message


def still_serves(client) -> None:
    *_, recipe, _ = client.predict(prompt="gentle green hills", size_px=129, seed=5, api_name="/terrain")
    assert recipe["seed"] == 5


def test_a_midi_whose_last_note_is_hours_away(studio, tmp_path):
    pid, _, client = studio
    from gradio_client import handle_file

    bomb = tmp_path / "late.mid"
    bomb.write_bytes(midi_bytes(late_tick=10**9))
    before = peak_mb(pid)
    refused(
        lambda: client.predict(prompt="folk", duration_s=10, extend_from=handle_file(str(bomb)), api_name="/music"),
        "extend_from",
    )
    assert peak_mb(pid) - before < GROWTH_MB
    still_serves(client)


def test_a_flac_whose_header_claims_half_an_hour_of_8_channels(studio, tmp_path):
    pid, _, client = studio
    from gradio_client import handle_file

    buf = io.BytesIO()
    sf.write(buf, np.zeros((16000, 1), np.float32), 16000, format="FLAC")
    bomb = tmp_path / "long.flac"
    bomb.write_bytes(lie_in_streaminfo(buf.getvalue(), channels=8, frames=30 * 60 * 16000))
    before = peak_mb(pid)
    refused(
        lambda: client.predict(
            prompt="calm",
            model="tiny-musicgen-melody",
            duration_s=1,
            melody_audio=handle_file(str(bomb)),
            api_name="/music",
        ),
        "melody_audio",
    )
    assert peak_mb(pid) - before < GROWTH_MB
    still_serves(client)


def test_a_huge_layer_in_the_image_editor(studio, tmp_path):
    """The Image tab's own Generate handler (private, reached by fn_index) with a 12,000² layer to inpaint."""
    pid, url, client = studio
    config = httpx.get(url + "config").json()
    components = {c["id"]: c for c in config["components"]}
    dep = next(d for d in config["dependencies"] if any(components[i]["type"] == "imageeditor" for i in d["inputs"]))

    def upload(name: str, data: bytes) -> dict:
        r = httpx.post(url + "gradio_api/upload", files={"files": (name, data, "image/png")})
        return {"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    from PIL import Image

    small = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(small, format="PNG")
    editor = {
        "background": upload("bg.png", small.getvalue()),
        "layers": [upload("layer.png", png_of(12000, 12000, rows=12000))],
    }
    data = []
    for i in dep["inputs"]:
        c = components[i]
        props = c.get("props", {})
        if c["type"] == "imageeditor":
            data.append({**editor, "composite": None})
        elif props.get("elem_id") == "imageparams-mode":
            data.append("inpaint")
        else:
            data.append(props.get("value"))
    before = peak_mb(pid)
    status, text = run_event(url, dep, data, None)
    assert status != 200 and "mask_image" in text and "12000x12000" in text, text[:400]
    assert peak_mb(pid) - before < GROWTH_MB
    still_serves(client)
