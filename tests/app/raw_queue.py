"""Calling a studio event the way a browser does, over raw HTTP: look it up in /config, join the queue, read the
stream of /gradio_api/queue/data."""

from __future__ import annotations

import json
import os
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


def post(url: str, body: dict[str, Any], timeout: float = 180) -> tuple[int, str]:
    """POST ``body`` as JSON; (status, the answer's text), for error statuses too."""
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def run_event(url: str, dep: dict[str, Any], data: list[Any], event_data: Any) -> tuple[int, str]:
    """Run the event ``dep`` as the page would: through the queue (join, then read the stream) when it is queued,
    else ``/gradio_api/run/predict``. (status, the answer's JSON text: the completed message's output)."""
    session = os.urandom(8).hex()
    body = {"data": data, "fn_index": dep["id"], "session_hash": session, "event_data": event_data}
    if not dep.get("queue", True):
        return post(url + "gradio_api/run/predict", body)
    status, text = post(url + "gradio_api/queue/join", body)
    if status != 200:
        return status, text
    with urllib.request.urlopen(url + f"gradio_api/queue/data?session_hash={session}", timeout=300) as resp:
        for line in resp:
            if line.startswith(b"data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    output = json.dumps(message.get("output", {}))
                    return (200 if message.get("success") else 500), output
    return 500, "no answer"
