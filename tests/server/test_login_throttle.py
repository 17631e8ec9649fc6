"""LoginBackoff on a fake clock: free failures, doubling delays up to the cap, reset on success, bounded table."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from studio.server.login_throttle import REFUSAL_SCRIPT, LoginBackoff, login_keys


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


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_the_login_page_script_shows_a_429_message_and_returns_every_response_unchanged():
    script = REFUSAL_SCRIPT.decode().removeprefix("<script>").removesuffix("</script>")
    harness = """
    const alerts = [];
    const answers = {
      "/login": { status: 429, clone: () => ({ json: async () => ({ detail: "wait 2 s" }) }) },
      "/other": { status: 400, clone: () => ({ json: async () => ({ detail: "not shown" }) }) },
    };
    globalThis.window = { alert: (m) => alerts.push(m), fetch: async (url) => answers[url] };
    SCRIPT
    (async () => {
      const a = await window.fetch("/login", { method: "POST" });
      const b = await window.fetch("/other");
      await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify({ same: a === answers["/login"] && b === answers["/other"], alerts }));
    })();
    """.replace("SCRIPT", script)
    out = subprocess.run(["node", "-e", harness], capture_output=True, text=True, timeout=30, check=True).stdout
    assert json.loads(out) == {"same": True, "alerts": ["wait 2 s"]}
