"""The APIs' door: which Authorization headers let a caller in, and the back-off after wrong keys."""

from __future__ import annotations

import asyncio
import base64

from studio.server.api_keys import ApiKeys, is_api_path
from studio.server.login_throttle import LoginBackoff


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_keys_and_logins_open_the_door():
    door = ApiKeys(lambda *a: None, keys=["k1", "k2"], logins=[("ann", "pw")])
    assert door.allows("Bearer k2") and door.allows("bearer  k1 ") and door.allows("Bearer ann:pw")
    assert door.allows(_basic("ann", "pw")) and door.allows(_basic("anyone", "k1"))
    for wrong in ("Bearer k3", "Bearer ", "k1", _basic("ann", "nope"), "Basic !!!", "Basic " + "a" * 7, ""):
        assert not door.allows(wrong), wrong
    assert not door.open and ApiKeys(lambda *a: None).open


def test_only_the_api_paths_are_guarded():
    assert is_api_path("/v1/models") and is_api_path("/sdapi/v1/txt2img") and is_api_path("/v1")
    assert not is_api_path("/") and not is_api_path("/gradio_api/info") and not is_api_path("/v1x")


def _call(door: ApiKeys, authorization: str | None) -> int:
    sent: list[dict] = []
    reached: list[bool] = []

    async def app(scope, receive, send):
        reached.append(True)

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    headers = [(b"authorization", authorization.encode())] if authorization is not None else []
    door.app = app
    scope = {"type": "http", "path": "/v1/models", "method": "GET", "headers": headers, "client": ("10.0.0.9", 1)}
    asyncio.run(door(scope, receive, send))
    return 200 if reached else sent[0]["status"]


def test_wrong_keys_back_off_and_a_right_one_waits_too():
    now = [0.0]
    door = ApiKeys(None, keys=["k"], backoff=LoginBackoff(free_failures=2, clock=lambda: now[0]))  # type: ignore[arg-type]
    assert _call(door, None) == 401 and _call(door, "Bearer k") == 200
    assert [_call(door, "Bearer x") for _ in range(3)] == [401, 401, 401]
    assert _call(door, "Bearer k") == 429  # blocked: the key is not even looked at
    now[0] += 10
    assert _call(door, "Bearer k") == 200
