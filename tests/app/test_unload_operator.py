"""--admin: only the operator may unload models, even over the raw API by fn_index (raw HTTP, real server)."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from tests.app.conftest import start_server, stop_server
from tests.app.raw_queue import completed, fetch_json, fn_index, join, run_direct
from tests.generators.image.helpers import save_tiny_sd

KEY = "image:tiny-sd"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("operator-server")
    save_tiny_sd(tmp / "models" / "tiny-sd")
    flags = ("--auth", "ann:secret", "--auth", "bob:hunter2", "--admin", "ann", "--model-dir", str(tmp / "models"))
    proc, url = start_server(tmp, *flags)
    yield url
    stop_server(proc)


def login(url: str, user: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    with urllib.request.urlopen(url + "login", data=form, timeout=20) as resp:
        return "; ".join(h.split(";", 1)[0] for h in resp.headers.get_all("set-cookie"))


def call(url: str, cookie: str, session: str, index: int, data: list[object]) -> dict[str, object]:
    status, answer = join(url, index, data, session, cookie)
    assert status == 200, answer
    (result,) = completed(url, session, cookie)
    return result


def panel_events(url: str, cookie: str) -> dict[str, int]:
    config = fetch_json(url + "config", cookie)
    names = {"refresh": "models-summary", "unload": "models-unload", "unload_all": "models-unload-all"}
    found = {name: fn_index(config, elem_id=elem) for name, elem in names.items() if name != "refresh"}
    # The timer's refresh is the event whose outputs start with the summary and whose trigger is the timer.
    summary = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "models-summary")
    timers = {c["id"] for c in config["components"] if c.get("type") == "timer"}  # the Train tab has one too
    found["refresh"] = next(
        d["id"] for d in config["dependencies"] if d["outputs"][:1] == [summary] and d["targets"][0][0] in timers
    )
    note = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "models-read-only")
    found["show_controls"] = next(d["id"] for d in config["dependencies"] if d["outputs"][-1:] == [note])
    return found


def test_only_the_operator_is_shown_the_unload_controls(studio):
    ann, bob = login(studio, "ann", "secret"), login(studio, "bob", "hunter2")
    events = panel_events(studio, bob)
    controls, note = run_direct(studio, events["show_controls"], [], "bob-page", bob)["data"]
    assert (controls["visible"], note["visible"]) == (False, True)
    controls, note = run_direct(studio, events["show_controls"], [], "ann-page", ann)["data"]
    assert (controls["visible"], note["visible"]) == (True, False)


def test_a_visitor_cannot_unload_and_the_operator_can(studio):
    from gradio_client import Client

    ann, bob = login(studio, "ann", "secret"), login(studio, "bob", "hunter2")
    client = Client(studio, auth=("ann", "secret"), analytics_enabled=False, verbose=False, download_files=False)
    client.predict(prompt="red apple", model="tiny-sd", num_steps=2, seed=7, width=64, height=64, api_name="/image")
    events = panel_events(studio, bob)

    # Bob's session sees the loaded model (so the dropdown accepts it), then asks to unload it, and all idle ones.
    rows = run_direct(studio, events["refresh"], [None], "bob-tab", bob)["data"][1]["data"]
    assert KEY in [r[0] for r in rows]
    for index, data in ((events["unload"], [KEY]), (events["unload_all"], [])):
        result = call(studio, bob, "bob-tab", index, data)
        assert not result["success"]
        assert "for the studio's operator only" in str(result["output"])

    # The model is still loaded: the operator's Unload of it succeeds (it fails for a model that is not loaded).
    run_direct(studio, events["refresh"], [None], "ann-tab", ann)
    result = call(studio, ann, "ann-tab", events["unload"], [KEY])
    assert result["success"], result
    assert KEY not in str(result["output"])


def test_only_the_operator_may_start_stop_or_resume_training(studio):
    """A run holds the device for everyone and its model is listed for everyone: with --auth, only --admin trains."""
    bob = login(studio, "bob", "hunter2")
    config = fetch_json(studio + "config", bob)
    values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}  # the page's defaults
    inputs0 = next(d["inputs"] for d in config["dependencies"] if d.get("api_name") == "train_start")
    for api_name in ("train_start", "train_stop", "train_resume"):
        index = fn_index(config, api_name=api_name)
        inputs = next(d["inputs"] for d in config["dependencies"] if d["id"] == index)
        data = [values[i] for i in inputs]
        result = call(studio, bob, f"bob-{api_name}", index, data)
        assert not result["success"], api_name
        assert "for the studio's operators" in str(result["output"]), api_name
    ann = login(studio, "ann", "secret")  # the operator passes the gate and meets the next check: no pictures given
    result = call(studio, ann, "ann-start", fn_index(config, api_name="train_start"), [values[i] for i in inputs0])
    assert not result["success"] and "for the studio's operators" not in str(result["output"])
