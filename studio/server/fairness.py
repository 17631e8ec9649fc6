"""Per-visitor fairness in Gradio's queue: caps on the jobs one browser session, and one address, may have in it.

Without caps one client can fill the whole queue (``max_size``) and lock everyone else out. ``QueueFairness`` sits
in front of ``POST /gradio_api/queue/join`` and counts, in Gradio's own queue, the jobs waiting or running for the
join's ``session_hash`` and for the caller's address; past either cap the join is refused with 429 and a message
the browser shows as the event's error. Completed jobs no longer count. Gradio's REST route
``POST /gradio_api/call/<api_name>`` queues a job too, under a fresh session of its own, so there only the
per-address cap applies. (Direct ``/gradio_api/run/`` calls skip the queue altogether; the launcher closes them for
queued events with ``queue(api_open=False)``.)

``session_hash`` is chosen by the client, so a script can use a new one per request: the per-address cap (larger,
since several people can share an address) bounds that. The address is the one uvicorn reports (``client_host``):
a connection from this machine (a ``--share`` tunnel, a local reverse proxy) is taken at its ``X-Forwarded-For``
word, and without one every visitor behind it shares the tunnel's local address, so the per-address cap counts
them all together and only the per-visitor cap tells them apart.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from studio.server.asgi import BodyTooLarge, client_host, read_body, replay, send_json

log = logging.getLogger(__name__)

JOIN_PATHS = ("/gradio_api/queue/join", "/gradio_api/queue/join/")
CALL_PREFIX = "/gradio_api/call/"  # /call/<api_name> and /call/v2/<api_name>; GET /call/.../<event_id> streams
# A join carries the inputs' JSON (files go through /upload); a browser's stored History can make it large.
MAX_JOIN_BODY = 32 * 1024 * 1024


@dataclass(frozen=True)
class QueueCaps:
    """How many jobs may wait or run at once for one visitor (browser session) and for one client address."""

    per_visitor: int = 4
    per_address: int = 16

    def __post_init__(self) -> None:
        if self.per_visitor < 1 or self.per_address < 1:
            raise ValueError(f"queue caps must be at least 1, got {self.per_visitor} and {self.per_address}")

    def refusal(self, visitor_jobs: int, address_jobs: int) -> str | None:
        """Why one more job may not join, or None if it may."""
        if visitor_jobs >= self.per_visitor:
            return (
                f"You have {visitor_jobs} requests waiting or running; at most {self.per_visitor} per visitor. "
                "Wait for one to finish."
            )
        if address_jobs >= self.per_address:
            return (
                f"Your address has {address_jobs} requests waiting or running; at most {self.per_address} per "
                "address. Wait for one to finish."
            )
        return None


def queued_jobs(queue: Any, session_hash: str | None, host: str) -> tuple[int, int]:
    """(jobs of ``session_hash``, jobs from ``host``) waiting or running in Gradio's ``Queue``.

    Reads Gradio 6's queue internals: ``event_queue_per_concurrency_id[*].queue`` holds waiting events,
    ``active_jobs`` lists the running ones (None for a free worker); each event knows its ``session_hash`` and the
    ``request`` that joined it.
    """
    waiting = [e for q in queue.event_queue_per_concurrency_id.values() for e in q.queue]
    running = [e for job in queue.active_jobs if job for e in job]
    visitor = address = 0
    for event in waiting + running:
        visitor += event.session_hash == session_hash
        client = getattr(event.request, "client", None)
        address += (client.host if client else "") == host
    return visitor, address


class QueueFairness:
    """ASGI middleware: refuse a queue join past the ``QueueCaps`` of its session or its address."""

    def __init__(self, app: ASGIApp, caps: QueueCaps | None = None) -> None:
        self.app = app
        self.caps = caps or QueueCaps()
        # Joins are checked and pushed one at a time, so two joins at once cannot both take the last place.
        self._joining = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_join = scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in JOIN_PATHS
        is_call = scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith(CALL_PREFIX)
        if not (is_join or is_call):
            await self.app(scope, receive, send)
            return
        # The whole body first: a slow sender must not hold the lock below while it trickles in.
        try:
            body = await read_body(receive, MAX_JOIN_BODY)
        except BodyTooLarge:
            await send_json(send, 413, {"detail": f"A request's inputs may be at most {MAX_JOIN_BODY >> 20} MB."})
            return
        session_hash = _session_hash(body) if is_join else None
        if is_join and session_hash is None:  # Gradio refuses a join without one itself
            await self.app(scope, replay(body, receive), send)
            return
        await self.admit(scope, replay(body, receive), send, session_hash)

    async def admit(self, scope: Scope, receive: Receive, send: Send, session_hash: str | None) -> None:
        """Pass the request on to be queued unless ``session_hash`` (None: a fresh session) or its address is full."""
        queue = getattr(scope["app"].get_blocks(), "_queue", None)
        if queue is None:
            await self.app(scope, receive, send)
            return
        host = client_host(scope)
        async with self._joining:
            visitor_jobs, address_jobs = queued_jobs(queue, session_hash, host)
            refusal = self.caps.refusal(visitor_jobs if session_hash is not None else 0, address_jobs)
            if refusal is not None:
                log.info("queue join refused for session %s from %s: %s", (session_hash or "-")[:8], host, refusal)
                await send_json(send, 429, {"detail": refusal, "error": refusal})
                return
            await self.app(scope, receive, send)


def _session_hash(body: bytes) -> str | None:
    """The join's ``session_hash``, or None when the body is not a JSON object holding a string one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = payload.get("session_hash") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None
