"""LoginBackoff on a fake clock: free failures, doubling delays up to the cap, reset on success, bounded table."""

from __future__ import annotations

import pytest

from studio.server.login_throttle import LoginBackoff, login_keys


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_after_the_free_failures_up_to_the_cap():
    clock = Clock()
    backoff = LoginBackoff(free_failures=2, first_delay_s=1.0, max_delay_s=5.0, clock=clock)
    keys = login_keys("10.0.0.1", "ann")
    waits = []
    for _ in range(6):
        backoff.failed(keys)
        waits.append(backoff.wait_s(keys))
        clock.now += waits[-1]
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 5.0]


def test_a_blocked_address_blocks_every_username_and_a_blocked_username_every_address():
    backoff = LoginBackoff(free_failures=0, first_delay_s=10.0, clock=Clock())
    backoff.failed(login_keys("10.0.0.1", "ann"))
    assert backoff.wait_s(login_keys("10.0.0.1", "bob")) == 10.0
    assert backoff.wait_s(login_keys("10.0.0.2", "ann")) == 10.0
    assert backoff.wait_s(login_keys("10.0.0.2", "bob")) == 0.0


def test_success_forgets_the_failures():
    backoff = LoginBackoff(free_failures=1, clock=Clock())
    keys = login_keys("10.0.0.1", "ann")
    backoff.failed(keys)
    backoff.failed(keys)
    assert backoff.wait_s(keys) > 0
    backoff.succeeded(keys)
    assert backoff.wait_s(keys) == 0.0 and len(backoff) == 0


def test_the_table_is_bounded_and_forgets_the_oldest():
    backoff = LoginBackoff(free_failures=0, max_entries=3, clock=Clock())
    for i in range(10):
        backoff.failed([f"addr:10.0.0.{i}"])
    assert len(backoff) == 3
    assert backoff.wait_s(["addr:10.0.0.9"]) > 0 and backoff.wait_s(["addr:10.0.0.0"]) == 0.0


def test_nonsense_settings_are_refused():
    with pytest.raises(ValueError, match="first_delay_s"):
        LoginBackoff(first_delay_s=0)
