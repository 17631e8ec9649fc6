"""Small helpers for pure ASGI middleware: read a request's body once and replay it, answer in JSON, know the caller.

Gradio's ``App`` (``scope["app"]``) keeps logins in ``app.tokens`` (cookie value → username) under the cookie name
``access-token-<app.cookie_id>`` (or its ``-unsecure-`` twin); ``logged_in_user`` reads them the way Gradio's own
``get_current_user`` route does, so the middleware and Gradio agree on who is logged in.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import cookie_parser
from starlette.types import Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """A request body longer than the middleware is willing to hold in memory."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; raises ``BodyTooLarge`` past ``limit`` bytes (nothing more is read then)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` once, then defers to the real one (for disconnects)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def send_json(send: Send, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    """Answer the request with ``payload`` as JSON (and any extra ``headers``)."""
    body = json.dumps(payload).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def client_host(scope: Scope) -> str:
    """The client's address as uvicorn reports it ("" when unknown).

    uvicorn (run by Gradio with its defaults) trusts ``X-Forwarded-For`` from 127.0.0.1 and ::1 only: a request
    through a local proxy or the share tunnel gets the address the proxy reports, or the proxy's own without one.
    """
    client = scope.get("client")
    return str(client[0]) if client else ""


def header(scope: Scope, name: bytes) -> str:
    """One request header's value ("" when absent); ``name`` in lower case."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def auth_required(scope: Scope) -> bool:
    """Whether the Gradio app serving this request asks for a user:password login (``launch(auth=...)``)."""
    return getattr(scope.get("app"), "auth", None) is not None


def logged_in_user(scope: Scope) -> str | None:
    """The username whose login cookie this request carries, or None (no cookie, or a stale one)."""
    app = scope.get("app")
    cookie_id = getattr(app, "cookie_id", None)
    tokens = getattr(app, "tokens", None)
    if cookie_id is None or not isinstance(tokens, dict):
        return None
    cookies = cookie_parser(header(scope, b"cookie"))
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    user = tokens.get(token) if token else None
    return user if isinstance(user, str) else None
