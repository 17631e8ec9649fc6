"""Pages served before login carry no API schema.

Gradio's page routes (``/``, ``/gradio_api/runs``) always embed ``window.gradio_api_info`` (every endpoint, its
parameters and component labels) in the HTML, even to a visitor who has not logged in, while ``/gradio_api/info``
itself answers 401. ``HideSchemaBeforeLogin`` rewrites that one script of an HTML page, for requests without a
valid login cookie, into an empty schema. The component config of such a page is already empty (Gradio sends only
``auth_required``), so the login form is all an anonymous visitor gets. Apps without ``auth`` are left alone.
Optionally a ``script`` is put into such pages' ``<head>`` (the login throttle's way to show why it refused).
"""

from __future__ import annotations

import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studio.server.asgi import auth_required, logged_in_user, send_json

log = logging.getLogger(__name__)

# Gradio's template: <script>window.gradio_api_info = {{ gradio_api_info | toorjson }};</script>. ``toorjson``
# escapes every "<", so the JSON cannot contain ";</script>" and the first one ends it.
API_INFO = re.compile(rb"window\.gradio_api_info\s*=.*?;</script>", re.DOTALL)
EMPTY_API_INFO = b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'


def strip_api_info(html: bytes, script: bytes = b"") -> bytes | None:
    """``html`` with its embedded API schema emptied (and ``script`` added before ``</head>``, if it has one);
    None if a schema may be there but was not found."""
    stripped, count = API_INFO.subn(EMPTY_API_INFO, html)
    if count == 0 and b"gradio_api_info" in html:
        return None
    if script:
        stripped = stripped.replace(b"</head>", script + b"</head>", 1)
    return stripped


class HideSchemaBeforeLogin:
    """ASGI middleware: HTML answered to a request with no valid login loses its API schema."""

    def __init__(self, app: ASGIApp, script: bytes = b"") -> None:
        self.app = app
        self.script = script

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not auth_required(scope):
            await self.app(scope, receive, send)
            return
        if logged_in_user(scope) is not None:
            await self.app(scope, receive, send)
            return

        start: Message | None = None
        chunks: list[bytes] = []

        async def hold_html(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"text/html"):
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await send_stripped(start, b"".join(chunks))
                return
            await send(message)

        async def send_stripped(head: Message, html: bytes) -> None:
            stripped = strip_api_info(html, self.script)
            if stripped is None:
                # Fail closed: Gradio's template changed and the schema could not be located.
                log.error("could not remove the API schema from a page served before login; refusing the page")
                await send_json(send, 500, {"detail": "This page cannot be served before login."})
                return
            headers = [(k, v) for k, v in head.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(stripped)).encode()))
            await send({**head, "headers": headers})
            await send({"type": "http.response.body", "body": stripped})

        await self.app(scope, receive, hold_html)
