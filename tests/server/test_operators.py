"""The operator policy: --admin names with a login; the local visitor without one, unless the studio is shared."""

from __future__ import annotations

from studio.server.operators import Operators


def test_with_a_login_only_the_named_admins_operate():
    ops = Operators.from_flags(["ann"], has_auth=True, share=False)
    assert ops.allows("ann", "203.0.113.9")
    assert not ops.allows("bob", "127.0.0.1")
    assert not ops.allows(None, "127.0.0.1")


def test_without_a_login_the_local_visitor_operates_unless_shared():
    local = Operators.from_flags([], has_auth=False, share=False)
    assert local.allows(None, "127.0.0.1") and local.allows(None, "::1") and local.allows(None, "127.0.1.1")
    assert not local.allows(None, "192.168.1.20") and not local.allows(None, "")
    shared = Operators.from_flags([], has_auth=False, share=True)
    assert not shared.allows(None, "127.0.0.1")
