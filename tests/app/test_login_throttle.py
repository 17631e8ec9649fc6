"""--auth: repeated wrong passwords make POST /login answer 429 with Retry-After, even for the right one, until the
delay passes (raw HTTP, real server)."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message

from tests.app.conftest import start_server, stop_server


def post_login(url: str, user: str, password: str) -> tuple[int, Message, str]:
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    try:
        with urllib.request.urlopen(url + "login", data=form, timeout=20) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def test_failed_logins_back_off_and_a_success_resets(tmp_path):
    proc, url = start_server(tmp_path, "--auth", "ann:secret")
    try:
        # Three failures are free; the fourth starts a 1 s back-off.
        assert [post_login(url, "ann", f"guess{i}")[0] for i in range(4)] == [400, 400, 400, 400]
        status, headers, body = post_login(url, "ann", "secret")
        assert status == 429, body
        assert headers["Retry-After"] == "1"
        assert "Too many failed logins" in body
        time.sleep(1.2)
        # The fifth failure doubles the wait; the right password is refused during it without being checked.
        assert post_login(url, "ann", "guess5")[0] == 400
        status, headers, _ = post_login(url, "ann", "secret")
        assert (status, headers["Retry-After"]) == (429, "2")
        time.sleep(2.2)
        assert post_login(url, "ann", "secret")[0] == 200
        # A success forgets the failures: the next wrong password is an ordinary 400 again.
        assert post_login(url, "ann", "guess6")[0] == 400
    finally:
        stop_server(proc)
