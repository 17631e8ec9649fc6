"""The Text tab in a real browser, on a tiny Llama from --model-dir: chat turns, per-session history, stop, the
prompt helper sending to the Terrain tab, the Markdown download."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.conftest import start_server
from tests.browser.conftest import open_page, open_tab, pick
from tests.generators.text.helpers import save_tiny_llama

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def text_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("text-browser")
    save_tiny_llama(tmp / "models" / "tiny-llama")
    proc, url = start_server(tmp, "--model-dir", str(tmp / "models"))
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


# True once the status line names a recipe other than the one in ``s`` (the previous status line).
NEW_RECIPE = (
    "(s) => { const m = document.querySelector('#text-status')?.innerText.match(/recipe ([0-9a-f]{12})/);"
    " const old = (s.match(/recipe ([0-9a-f]{12})/) || [])[1]; return m && m[1] !== old; }"
)


def _page(browser, url):
    context, page = open_page(browser, url, timeout_ms=60_000, viewport={"width": 1366, "height": 1000})
    open_tab(page, "Text")
    page.wait_for_selector("#text-generate")
    return context, page


def test_chat_is_per_session_and_the_helper_sends_to_terrain(browser, text_url):
    ctx_a, a = _page(browser, text_url)
    ctx_b, b = _page(browser, text_url)
    try:
        pick(a, "textparams-model", "tiny-llama (local folder)")
        a.locator("#textparams-max_new_tokens input[type=number]").first.fill("8")
        a.locator("#textparams-prompt textarea").first.fill("first question")
        a.click("#text-generate")
        a.wait_for_selector("#text-status:has-text('recipe')")
        first_status = a.locator("#text-status").inner_text()
        a.locator("#textparams-prompt textarea").first.fill("second question")
        a.click("#text-generate")
        # The second answer is done when the status names a new recipe.
        a.wait_for_function(
            NEW_RECIPE,
            arg=first_status,
        )
        chat_a = a.locator("#text-chat").inner_text()
        assert "first question" in chat_a and "second question" in chat_a
        # The other browser session has its own, empty chat.
        assert "first question" not in b.locator("#text-chat").inner_text()
        with a.expect_download() as dl:
            a.locator("#text-download a").first.click()
        body = Path(dl.value.path()).read_text(encoding="utf-8")
        assert "second question" in body and "studio-recipe" in body

        pick(a, "textparams-preset", "terrain-prompt")
        a.wait_for_selector("#text-send-terrain", state="visible")
        a.locator("#textparams-prompt textarea").first.fill("a place to ski")
        second_status = a.locator("#text-status").inner_text()
        a.click("#text-generate")
        a.wait_for_function(
            NEW_RECIPE,
            arg=second_status,
        )
        helper = a.locator("#text-output textarea").input_value()
        a.click("#text-send-terrain")
        a.wait_for_selector("#terrain-generate", state="visible")
        assert a.locator("#terrainparams-prompt textarea").first.input_value() == helper.strip()
        # The terrain made from the sent prompt names the helper's recipe as its parent.
        helper_id = a.locator("#text-status").inner_text().split("recipe ")[-1][:12]
        a.locator("#terrainparams-seed input").fill("4")
        a.click("#terrain-generate")
        a.wait_for_function("document.querySelector('#terrain-status')?.innerText.includes('seed 4')")
        with a.expect_download() as dl:
            a.locator("#terrain-files a[download='recipe.json']").click()
        parents = json.loads(Path(dl.value.path()).read_text())["parents"]
        assert len(parents) == 1 and parents[0].startswith(helper_id)
    finally:
        ctx_a.close()
        ctx_b.close()


def test_text_sweep_puts_the_variants_side_by_side(browser, text_url):
    ctx, page = _page(browser, text_url)
    try:
        pick(page, "textparams-model", "tiny-llama (local folder)")
        page.locator("#textparams-max_new_tokens input[type=number]").first.fill("4")
        page.locator("#textparams-prompt textarea").first.fill("once upon a time")
        page.locator("#textparams-seed input").first.fill("5")
        page.locator("#text-sweep").get_by_text("Sweep (X/Y plot)").click()
        pick(page, "text-sweep-x", "Temperature")
        page.locator("#text-sweep-xvals textarea").fill("0, 1.5")
        page.locator("#text-sweep-run").click()
        page.wait_for_function("document.querySelector('#text-sweep-status')?.innerText.includes('2 cells')")
        table = page.locator("#text-sweep-table").inner_text()
        assert "Temperature = 0.0" in table and "Temperature = 1.5" in table
    finally:
        ctx.close()
