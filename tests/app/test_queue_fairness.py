"""--max-jobs-per-visitor / --max-jobs-per-address: one visitor cannot take the whole queue (raw HTTP, real server)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from tests.app.conftest import start_server, stop_server
from tests.app.raw_queue import completed, fetch_json, fn_index, join


def post_json(url: str, payload: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def terrain_inputs(url: str, **values: object) -> tuple[int, list[object]]:
    """The /terrain event's index and a full input list: its defaults, with ``values`` put in."""
    info = fetch_json(url + "gradio_api/info")["named_endpoints"]["/terrain"]["parameters"]
    data = [values.get(p["parameter_name"], p.get("parameter_default")) for p in info]
    return fn_index(fetch_json(url + "config"), api_name="terrain"), data


def test_one_visitor_is_capped_and_another_is_still_served(tmp_path):
    proc, url = start_server(tmp_path, "--max-jobs-per-visitor", "2", "--max-jobs-per-address", "3")
    try:
        # 1025 px terrains take long enough that the first two are still waiting or running during the third join.
        slow = [terrain_inputs(url, prompt="alps", size_px=1025, seed=s) for s in (1, 2, 3)]
        assert [join(url, i, data, "greedy")[0] for i, data in slow[:2]] == [200, 200]
        status, answer = join(url, *slow[2], "greedy")
        assert status == 429
        assert "at most 2 per visitor" in answer["detail"] and "Wait for one to finish" in answer["detail"]

        index, data = terrain_inputs(url, prompt="dunes", size_px=129, seed=4)
        assert join(url, index, data, "patient")[0] == 200
        status, answer = join(url, index, data, "third-tab")  # a fresh session_hash, same address: 4 > 3
        assert status == 429 and "at most 3 per address" in answer["detail"]
        # Gradio's REST route queues under a fresh session each time: the address cap holds there too.
        status, answer = post_json(url + "gradio_api/call/terrain", {"data": data})
        assert status == 429 and "at most 3 per address" in answer["detail"]
        # And the direct route that would skip the queue is closed for queued events.
        assert post_json(url + "gradio_api/run/terrain", {"data": data})[0] == 404

        (result,) = completed(url, "patient")
        assert result["success"], result
        assert [m["success"] for m in completed(url, "greedy")] == [True, True]
        # Once its jobs are done the greedy visitor may join again.
        assert join(url, index, data, "greedy")[0] == 200
    finally:
        stop_server(proc)
