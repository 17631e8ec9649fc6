"""--auth: a visitor who has not logged in gets the login form and nothing of the API (raw HTTP, real server)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from tests.app.conftest import start_server, stop_server

# Words of the schema and the component config that the full page carries and the login page must not.
SCHEMA_WORDS = ["/terrain", "/image", "parameter_name", "fn_index", "Size (px)", "size_px", "Negative prompt"]


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("auth-server")
    proc, url = start_server(tmp, "--auth", "ann:secret")
    yield url
    stop_server(proc)


def get(url: str, cookie: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def login(url: str, user: str, password: str) -> str:
    """POST /login; the Cookie header that carries the login."""
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    with urllib.request.urlopen(url + "login", data=form, timeout=20) as resp:
        cookies = [h.split(";", 1)[0] for h in resp.headers.get_all("set-cookie")]
    return "; ".join(cookies)


def test_the_page_before_login_holds_no_schema_and_no_components(auth_server):
    status, page = get(auth_server)
    assert status == 200
    assert '"auth_required":true' in page
    assert '"components":[]' in page
    assert "response.status === 429" in page  # the script that shows a login back-off's message
    for word in SCHEMA_WORDS:
        assert word not in page, word


def test_gradio_run_history_page_is_off(auth_server):
    status, page = get(auth_server + "gradio_api/runs")
    assert status == 404
    for word in SCHEMA_WORDS:
        assert word not in page, word


def test_after_login_the_page_and_the_api_work(auth_server):
    status, page = get(auth_server, login(auth_server, "ann", "secret"))
    assert status == 200
    assert "/terrain" in page and "Size (px)" in page
    assert "response.status === 429" not in page
    from gradio_client import Client

    client = Client(auth_server, auth=("ann", "secret"), analytics_enabled=False, verbose=False, download_files=False)
    *_, recipe, _ = client.predict(prompt="fjords", size_px=129, seed=3, api_name="/terrain")
    assert recipe["seed"] == 3


def test_a_stale_cookie_counts_as_no_login(auth_server):
    cookie = login(auth_server, "ann", "secret").replace("=", "=x", 1)
    _, page = get(auth_server, cookie)
    assert "/terrain" not in page
