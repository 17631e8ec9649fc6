"""Every event handler, reached the way an attacker would: the raw HTTP API with ``fn_index``, private handlers too.

Each handler gets values that name server files where the page would send data (history entries, recipes,
gallery and file values, text boxes), and recipe ids that are paths where it would write. Nothing may leak (the
bytes of a server file, another file of the cache folder, the server key), nothing may be written outside the
studio's folders, and the server must answer a normal request afterwards.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import ROOT, start_server
from tests.app.raw_queue import run_event

pytestmark = pytest.mark.timeout(900)


def file_value(path: str) -> dict[str, Any]:
    return {"path": path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}


def hostile_value(kind: str, props: dict[str, Any], planted: str, target: str) -> Any:
    """A value for a component of type ``kind`` that names server files where data belongs."""
    forged = {
        "id": target,
        "modality": "terrain",
        "prompt": "x",
        "params": {"prompt": "x"},
        "info": {"settings": {}},
        "thumb": planted,
        "path": planted,
        "created": "",
    }
    if kind == "textbox":
        return planted
    if kind in ("json",):
        return forged
    if kind == "browserstate":
        return [{**forged, "id": "0" * 64}, forged, {**forged, "id": 7}]
    if kind == "state":
        return [forged["id"]] if isinstance(props.get("value"), list) else props.get("value")
    if kind in ("file", "image", "model3d", "audio", "video"):
        return file_value(planted)
    if kind == "gallery":
        return [{"image": file_value(planted), "caption": None}]
    if kind == "imageeditor":
        return {"background": file_value(planted), "layers": [file_value(planted)], "composite": file_value(planted)}
    if kind == "dataset":
        return 0
    return props.get("value")


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    proc, url = start_server(tmp)
    yield url, tmp / "cache"
    proc.terminate()
    proc.wait(20)


def test_no_handler_leaks_or_writes_server_files(studio):
    url, cache = studio
    token = secrets.token_hex(16)
    planted_tmp = Path(tempfile.gettempdir()) / f"planted-{token}.png"
    planted_tmp.write_text(f"a file another program left in the temp folder: {token}")
    secrets_of_server = {
        "temp file": planted_tmp.read_bytes(),
        "settings.py": (ROOT / "studio" / "settings.py").read_bytes(),
        "git config": (ROOT / ".git" / "config").read_bytes() if (ROOT / ".git" / "config").is_file() else b"",
    }
    if (cache / "server-key").is_file():
        secrets_of_server["server key"] = (cache / "server-key").read_bytes()
    planted_paths = [str(planted_tmp), str(ROOT / "studio" / "settings.py"), str(cache / "server-key")]
    config = json.load(urllib.request.urlopen(url + "config", timeout=30))
    components = {c["id"]: c for c in config["components"]}
    assert len(config["dependencies"]) > 40
    served: list[str] = []
    try:
        for dep in config["dependencies"]:
            if not dep.get("backend_fn"):
                continue
            planted = planted_paths[dep["id"] % len(planted_paths)]
            target = str(Path(tempfile.gettempdir()) / f"written-{token}-{dep['id']}")
            data = [
                hostile_value(components[i]["type"], components[i].get("props", {}), planted, target)
                for i in dep["inputs"]
            ]
            status, text = run_event(url, dep, data, {"index": 0, "value": planted, "selected": True})
            for name, content in secrets_of_server.items():
                probe = content.strip().splitlines()[-1][:60] if content.strip() else b""
                assert not probe or probe.decode("utf-8", "replace") not in text, (dep["id"], name)
            assert status == 200 or "Traceback" not in text, (dep["id"], text[:500])  # a model may write anything
            written = list(Path(tempfile.gettempdir()).glob(f"written-{token[:12]}*"))
            assert not written, (dep["id"], written)
            if status == 200:
                served += [s for s in strings_in(json.loads(text)) if "/" in s and len(s) < 500]
        # Every file the handlers handed out: none is a server file.
        for path in {s for s in served if s.startswith("/")}:
            quoted = urllib.parse.quote(path)
            try:
                with urllib.request.urlopen(url + f"gradio_api/file={quoted}", timeout=30) as r:
                    content = r.read()
            except urllib.error.HTTPError:
                continue
            assert content not in secrets_of_server.values(), path
    finally:
        planted_tmp.unlink(missing_ok=True)
    # ... and the server still answers a normal request.
    from gradio_client import Client

    client = Client(url, analytics_enabled=False, verbose=False, download_files=False)
    *_, recipe, _ = client.predict(prompt="archipelago", size_px=129, seed=2, api_name="/terrain")
    assert recipe["seed"] == 2


@pytest.mark.parametrize("prompt", [123, ["a", "list"], {"a": "dict"}, True])
def test_a_prompt_that_is_not_text_is_refused_by_name(studio, prompt):
    url, _ = studio
    config = json.load(urllib.request.urlopen(url + "config", timeout=30))
    dep = next(d for d in config["dependencies"] if d.get("api_name") == "terrain")
    components = {c["id"]: c for c in config["components"]}
    data = [components[i].get("props", {}).get("value") for i in dep["inputs"]]
    data[0] = prompt
    status, text = run_event(url, dep, data, None)
    assert status != 200 and "prompt: must be text" in text, text[:300]


WRONG_SHAPES = [
    {"id": 7, "modality": ["terrain"], "info": ["not", "a", "dict"], "params": "x"},
    {"id": "0" * 64, "modality": "image", "info": {"prompt_for": "image", "settings": 3}, "params": [1]},
    ["a", "list"],
    "a string",
]


@pytest.mark.parametrize("shape", range(len(WRONG_SHAPES)))
def test_recipes_of_any_shape_get_an_answer_not_an_exception(studio, shape):
    """Every handler that takes a recipe (the sends, the History's listeners): a recipe of the wrong shape is
    ignored or refused with the studio's own message (a gr.Error has a title), never a Python exception's text."""
    url, _ = studio
    config = json.load(urllib.request.urlopen(url + "config", timeout=30))
    components = {c["id"]: c for c in config["components"]}
    takes_recipe = [
        d
        for d in config["dependencies"]
        if d.get("backend_fn") and any(components[i]["type"] == "json" for i in d["inputs"])
    ]
    assert len(takes_recipe) >= 10
    for dep in takes_recipe:
        data = [
            WRONG_SHAPES[shape]
            if components[i]["type"] == "json"
            else "a helper's prompt"
            if components[i]["type"] == "textbox"
            else components[i].get("props", {}).get("value")
            for i in dep["inputs"]
        ]
        status, text = run_event(url, dep, data, None)
        assert status == 200 or '"title"' in text, (dep["id"], dep.get("api_name"), text[:300])
