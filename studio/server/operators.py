"""Who operates the studio: the people allowed to act for every visitor at once (unloading models, and training
unless ``--trainers everyone``).

- With a login (``--auth``), the operators are the users named by ``--admin`` (none if none are named).
- With no login and no share link, the operator is whoever browses from this machine (a loopback address); with
  ``--host 0.0.0.0`` a visitor from elsewhere on the network is not one. Behind a reverse proxy on this machine
  that sets no ``X-Forwarded-For`` every visitor looks local: put such a studio behind ``--auth`` and ``--admin``.
- With no login and a share link, nobody is: every visitor arrives through the tunnel from the loopback address,
  so an address says nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Operators:
    """The operator policy: logged-in usernames that operate, and whether a local visitor without a login does."""

    admins: frozenset[str] = frozenset()
    local_visitor: bool = False
    everyone_trains: bool = False  # --trainers everyone: any visitor may start, stop and resume training runs

    @classmethod
    def from_flags(cls, admins: Iterable[str], has_auth: bool, share: bool, trainers: str = "operators") -> Operators:
        """The policy for ``--admin`` names, given whether the studio has ``--auth`` and ``--share``."""
        return cls(
            admins=frozenset(admins), local_visitor=not has_auth and not share, everyone_trains=trainers == "everyone"
        )

    def may_train(self, username: str | None, host: str) -> bool:
        """Whether this visitor may start, stop or resume training runs: a run holds the device for everyone and
        its model is listed for everyone, so by default that is an operator's act, like unloading."""
        return self.everyone_trains or self.allows(username, host)

    def allows(self, username: str | None, host: str) -> bool:
        """Whether the visitor logged in as ``username`` (None: no login) from address ``host`` is an operator."""
        if username is not None:
            return username in self.admins
        return self.local_visitor and is_loopback(host)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's own address (127.0.0.0/8, ::1, or the name localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
