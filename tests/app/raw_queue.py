"""Calling a studio event the way a browser does, over raw HTTP: look it up in /config, join the queue, read the
stream of /gradio_api/queue/data."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def fetch_json(url: str, cookie: str = "") -> Any:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=20) as resp:
        return json.loads(resp.read())


def fn_index(config: dict[str, Any], *, api_name: str | None = None, elem_id: str | None = None) -> int:
    """The index of the event named ``api_name``, or of the (first) event triggered by the component ``elem_id``."""
    if api_name is not None:
        return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
    ids = {c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id}
    return next(d["id"] for d in config["dependencies"] if any(t[0] in ids for t in d["targets"]))


def join(url: str, index: int, data: list[Any], session_hash: str, cookie: str = "") -> tuple[int, dict[str, Any]]:
    """POST /gradio_api/queue/join; (status, JSON answer)."""
    body = json.dumps({"data": data, "fn_index": index, "session_hash": session_hash, "event_data": None}).encode()
    headers = {"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})}
    request = urllib.request.Request(url + "gradio_api/queue/join", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def completed(url: str, session_hash: str, cookie: str = "", timeout: float = 120) -> list[dict[str, Any]]:
    """Every ``process_completed`` message of ``session_hash``, read until the server closes its stream."""
    request = urllib.request.Request(
        url + f"gradio_api/queue/data?session_hash={session_hash}", headers={"Cookie": cookie} if cookie else {}
    )
    done = []
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        for line in resp:
            if not line.startswith(b"data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "process_completed":
                done.append(message)
            if message.get("msg") == "close_stream":
                break
    return done


def run_direct(url: str, index: int, data: list[Any], session_hash: str, cookie: str = "") -> dict[str, Any]:
    """POST /gradio_api/run/predict for an event that skips the queue (``queue=False``); its JSON answer."""
    body = json.dumps({"data": data, "fn_index": index, "session_hash": session_hash}).encode()
    headers = {"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})}
    request = urllib.request.Request(url + "gradio_api/run/predict", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as resp:
        return json.loads(resp.read())
