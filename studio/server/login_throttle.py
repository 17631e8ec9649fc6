"""Back-off for failed logins, per client address and per username.

``LoginBackoff`` is the policy, ``LoginThrottle`` the ASGI middleware in front of Gradio's ``POST /login``:

- Each key (``addr:<ip>`` and ``user:<name>``) counts its failed logins. The first ``free_failures`` cost nothing;
  each one after that blocks the key for ``first_delay_s``, doubling per further failure up to ``max_delay_s``.
- While any of a request's keys is blocked, ``POST /login`` answers 429 with ``Retry-After`` and does not look at
  the password at all, so a correct guess during the back-off is refused too.
- A successful login forgets both keys.
- The table holds at most ``max_entries`` keys; past that the least recently failed ones are forgotten.

The per-username key means someone who knows a username can keep its owner waiting (at most ``max_delay_s`` after
their last failure); that is the price of slowing down guessing spread over many addresses. Behind a ``--share``
tunnel that reports no ``X-Forwarded-For`` every visitor has the tunnel's local address (see ``client_host``), so
the address key is one for all: one guesser makes every visitor wait to log in (each wrong guess still costs the
guesser the same wait).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studio.server.asgi import BodyTooLarge, client_host, read_body, replay, send_json

log = logging.getLogger(__name__)

LOGIN_PATHS = ("/login", "/login/")
MAX_LOGIN_BODY = 64 * 1024

# Gradio's login form reacts to 400 ("Incorrect credentials") and 200 only; on a 429 it would stay silent. This
# script, put into the page served before login, shows the back-off message. It only watches responses: each
# one is returned to the caller unchanged.
REFUSAL_SCRIPT = b"""<script>
(() => {
  const fetchFirst = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const response = await fetchFirst(...args);
    if (response.status === 429) {
      response.clone().json().then((body) => { if (body && body.detail) window.alert(body.detail); }, () => {});
    }
    return response;
  };
})();
</script>"""


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0


class LoginBackoff:
    """Failed-login counts and the wait they impose; thread-unsafe, used from the server's event loop only."""

    def __init__(
        self,
        free_failures: int = 3,
        first_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if free_failures < 0 or first_delay_s <= 0 or max_delay_s < first_delay_s or max_entries < 1:
            raise ValueError(
                "LoginBackoff needs free_failures >= 0, 0 < first_delay_s <= max_delay_s, max_entries >= 1"
            )
        self.free_failures = free_failures
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.max_entries = max_entries
        self.clock = clock
        self._table: OrderedDict[str, _Failures] = OrderedDict()

    def wait_s(self, keys: list[str]) -> float:
        """Seconds until every key in ``keys`` may try again (0 when none is blocked)."""
        now = self.clock()
        return max([self._table[k].blocked_until - now for k in keys if k in self._table] + [0.0])

    def failed(self, keys: list[str]) -> None:
        """Count one failed login against each key; start or lengthen its block past the free failures."""
        now = self.clock()
        for key in keys:
            entry = self._table.pop(key, None) or _Failures()
            entry.count += 1
            over = entry.count - self.free_failures
            if over > 0:
                delay = min(self.first_delay_s * 2 ** min(over - 1, 60), self.max_delay_s)
                entry.blocked_until = now + delay
            self._table[key] = entry  # most recent last
        while len(self._table) > self.max_entries:
            self._table.popitem(last=False)

    def succeeded(self, keys: list[str]) -> None:
        """Forget the failures of each key."""
        for key in keys:
            self._table.pop(key, None)

    def __len__(self) -> int:
        return len(self._table)


def login_keys(host: str, username: str) -> list[str]:
    """The back-off keys of a login attempt: its address, and its username when it gave one."""
    keys = [f"addr:{host}"]
    if username:
        keys.append(f"user:{username}")
    return keys


class LoginThrottle:
    """ASGI middleware: ``POST /login`` under ``LoginBackoff``; Gradio's 200 is a success, its 400 a failure."""

    def __init__(self, app: ASGIApp, backoff: LoginBackoff | None = None) -> None:
        self.app = app
        self.backoff = backoff if backoff is not None else LoginBackoff()  # (an empty one is falsy: it has a len)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in LOGIN_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(receive, MAX_LOGIN_BODY)
        except BodyTooLarge:
            await send_json(send, 413, {"detail": "A login form is never that large."})
            return
        username = await _username(scope, body)
        keys = login_keys(client_host(scope), username)
        wait = self.backoff.wait_s(keys)
        if wait > 0:
            seconds = math.ceil(wait)
            await send_json(
                send,
                429,
                {"detail": f"Too many failed logins; wait {seconds} s before trying again."},
                {"Retry-After": str(seconds)},
            )
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.backoff.succeeded(keys)
                elif message["status"] == 400:  # Gradio's "Incorrect credentials."
                    self.backoff.failed(keys)
                    log.warning("failed login for %r from %s", username, client_host(scope))
            await send(message)

        await self.app(scope, replay(body, receive), watch)


async def _username(scope: Scope, body: bytes) -> str:
    """The form's ``username`` (urlencoded or multipart, as Gradio's login page sends it), stripped like Gradio does."""

    async def once() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(scope, once).form() as form:
            value = form.get("username")
    except (HTTPException, MultiPartException):  # a form that cannot be parsed has no username; Gradio refuses it
        return ""
    return value.strip() if isinstance(value, str) else ""
