"""QueueCaps and the count of a visitor's jobs in a stand-in for Gradio's queue."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from studio.server.fairness import QueueCaps, queued_jobs


def event(session_hash: str, host: str) -> SimpleNamespace:
    return SimpleNamespace(session_hash=session_hash, request=SimpleNamespace(client=SimpleNamespace(host=host)))


def test_waiting_and_running_jobs_count_per_session_and_per_address():
    queue = SimpleNamespace(
        event_queue_per_concurrency_id={
            "gpu": SimpleNamespace(queue=[event("a", "1.1.1.1"), event("b", "1.1.1.1")]),
            "terrain": SimpleNamespace(queue=[event("a", "1.1.1.1")]),
        },
        active_jobs=[None, [event("a", "1.1.1.1")], [event("c", "2.2.2.2")]],
    )
    assert queued_jobs(queue, "a", "1.1.1.1") == (3, 4)
    assert queued_jobs(queue, "c", "2.2.2.2") == (1, 1)
    assert queued_jobs(queue, "new", "3.3.3.3") == (0, 0)


def test_the_refusal_names_the_cap_that_was_reached():
    caps = QueueCaps(per_visitor=4, per_address=10)
    assert caps.refusal(3, 9) is None
    assert "You have 4 requests waiting or running; at most 4 per visitor" in (caps.refusal(4, 4) or "")
    assert "at most 10 per address" in (caps.refusal(1, 10) or "")
    with pytest.raises(ValueError, match="at least 1"):
        QueueCaps(per_visitor=0)
