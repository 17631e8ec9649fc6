"""Real-browser tests: Debian's chromium driven by playwright against a real studio server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.app.conftest import start_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Package scope: the server and the browser close when tests/browser is done. Playwright's sync API keeps an asyncio
# loop running in the main thread while it is open, and code that refuses to run inside a loop (Ray Serve's sync
# handle calls in tests/cluster) would fail in every later test of the session.
@pytest.fixture(scope="package")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser-studio")
    proc, url = start_server(tmp)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="package")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed test at teardown."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def open_page(browser, url: str, timeout_ms: int = 120_000, **context_options):
    """A new browser session (its own storage, so its own history) on the studio: (context, page)."""
    options = {"viewport": {"width": 1366, "height": 900}, "accept_downloads": True, **context_options}
    context = browser.new_context(**options)
    pg = context.new_page()
    pg.set_default_timeout(timeout_ms)
    pg.goto(url)
    pg.wait_for_selector("#studio-tabs")
    return context, pg


@pytest.fixture
def page(browser, studio_url, request, tmp_path):
    context, pg = open_page(browser, studio_url)
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        pg.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failed page: {shot}")
    context.close()


def open_tab(page, title: str) -> None:
    """Hidden tabs are not in the DOM until clicked. On a narrow screen Gradio moves the tabs that do not fit into
    its overflow menu (the "⋯" button at the end of the tab bar): open it and pick the tab there, as a person would."""
    tab = page.get_by_role("tab", name=title)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    page.locator(".overflow-menu button").first.click()
    page.locator(".overflow-dropdown button", has_text=title).first.click()


def pick(page, elem_id: str, option: str) -> None:
    """Choose ``option`` in the dropdown ``#elem_id`` by clicking it (typing and Enter is not reliable: the
    filtered list may not have settled when Enter arrives, and the old value stays)."""
    page.locator(f"#{elem_id} input").first.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.wait_for_function("([id, v]) => document.querySelector(`#${id} input`)?.value === v", arg=[elem_id, option])
