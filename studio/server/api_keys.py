"""The APIs' door: ``/v1`` (OpenAI) and ``/sdapi/v1`` (AUTOMATIC1111) answer only callers with a key, when the
studio has keys (``--api-key``) or logins (``--auth``).

A caller is let in by any of:

- ``Authorization: Bearer KEY`` with a ``--api-key`` KEY (what OpenAI clients send as their ``api_key``), or with
  ``USER:PASS`` of an ``--auth`` login;
- ``Authorization: Basic`` with an ``--auth`` user and password (what ``webuiapi`` and A1111's ``--api-auth``
  clients send), or any user name with a ``--api-key`` KEY as the password;
- the login cookie of a browser that logged in to the UI.

Wrong credentials count as failed logins in a ``LoginBackoff`` of the door's own (per address): after a few, the
door answers 429 with ``Retry-After`` without looking at the key. A studio with neither keys nor logins leaves
the APIs open, as it leaves the UI. Keys are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import math
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from studio.server.asgi import client_host, header, logged_in_user, send_json
from studio.server.login_throttle import LoginBackoff

log = logging.getLogger(__name__)

API_PREFIXES = ("/v1/", "/sdapi/v1/")


def is_api_path(path: str) -> bool:
    """Whether ``path`` is one of the APIs' routes."""
    return path.startswith(API_PREFIXES) or path in ("/v1", "/sdapi/v1")


def _same(given: str, secrets: Iterable[str]) -> bool:
    found = False
    for secret in secrets:  # every one compared, so the time says nothing about which one matched
        found |= hmac.compare_digest(given.encode(), secret.encode())
    return found


class ApiKeys:
    """ASGI middleware: the APIs' routes require a key or a login (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        keys: Iterable[str] = (),
        logins: Iterable[tuple[str, str]] = (),
        backoff: LoginBackoff | None = None,
    ) -> None:
        self.app = app
        self.keys = tuple(keys)
        self.logins = tuple(f"{user}:{password}" for user, password in logins)
        self.backoff = backoff if backoff is not None else LoginBackoff()  # (an empty one is falsy: it has a len)

    @property
    def open(self) -> bool:
        """Whether the APIs need no key at all (no ``--api-key``, no ``--auth``)."""
        return not self.keys and not self.logins

    def allows(self, authorization: str) -> bool:
        """Whether an ``Authorization`` header's value carries a key or login this studio accepts."""
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return _same(value, (*self.keys, *self.logins))
        if scheme.lower() == "basic" and value:
            try:
                pair = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            _, sep, password = pair.partition(":")
            return bool(sep) and (_same(pair, self.logins) or _same(password, self.keys))
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.open or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        authorization = header(scope, b"authorization")
        if not authorization and logged_in_user(scope) is not None:
            await self.app(scope, receive, send)
            return
        keys = [f"api:{client_host(scope)}"]
        wait = self.backoff.wait_s(keys)
        if wait > 0:
            seconds = math.ceil(wait)
            message = f"Too many requests with a wrong API key; wait {seconds} s before trying again."
            await send_json(send, 429, _refusal(message, "rate_limit_exceeded"), {"Retry-After": str(seconds)})
            return
        if authorization and self.allows(authorization):
            self.backoff.succeeded(keys)
            await self.app(scope, receive, send)
            return
        if authorization:
            self.backoff.failed(keys)
            log.warning("API request with a wrong key from %s", client_host(scope))
        message = "This studio's API needs a key: send 'Authorization: Bearer KEY' (--api-key) or a --auth login."
        await send_json(
            send, 401, _refusal(message, "invalid_api_key"), {"WWW-Authenticate": 'Bearer realm="studio", Basic'}
        )


def _refusal(message: str, code: str) -> dict[str, object]:
    """A refusal both kinds of client read: OpenAI's ``error`` object and A1111's (FastAPI's) ``detail``."""
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code},
        "detail": message,
    }
