"""--share --auth: a login is required, and with no tunnel to be had the studio says so and stays local."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.app.conftest import start_server


def test_share_with_auth_requires_login_and_falls_back_to_local(tmp_path):
    proc, url = start_server(tmp_path, "--share", "--auth", "ann:secret")
    try:
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "gradio_api/info", timeout=10)
        assert err.value.code == 401
        from gradio_client import Client

        client = Client(url, auth=("ann", "secret"), analytics_enabled=False, verbose=False, download_files=False)
        *_, recipe, _ = client.predict(prompt="archipelago", size_px=129, seed=1, api_name="/terrain")
        assert recipe["seed"] == 1
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises its own error types for a bad login)
            Client(url, auth=("ann", "wrong"), analytics_enabled=False, verbose=False)
    finally:
        proc.terminate()
        proc.wait(20)
    log = (tmp_path / "server.log").read_text()
    assert "share link" in log.lower()
