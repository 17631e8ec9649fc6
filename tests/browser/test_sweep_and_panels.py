"""The sweep grid, the Loaded models panel and Ctrl+Enter, in a real browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_tab, pick

pytestmark = pytest.mark.browser


def test_terrain_sweep_makes_a_grid_and_reuses_the_cache(page):
    open_tab(page, "Terrain")
    page.locator("#terrainparams-prompt textarea").fill("gentle green hills")
    pick(page, "terrainparams-size_px", "129")
    page.locator("#terrainparams-seed input").fill("2")
    page.locator("#terrain-sweep").get_by_text("Sweep (X/Y plot)").click()
    pick(page, "terrain-sweep-x", "Water level")
    page.locator("#terrain-sweep-xvals textarea").fill("0.1, 0.4")
    page.locator("#terrain-sweep-run").click()
    page.wait_for_selector("#terrain-sweep-grid img")
    page.wait_for_function("document.querySelector('#terrain-sweep-status')?.innerText.includes('2 cells')")
    # Each cell joins this browser's History, so any variant's settings can be restored.
    page.wait_for_function("document.querySelectorAll('#history-gallery img').length === 2")
    page.locator("#terrain-sweep-run").click()  # same sweep again: every cell from the cache
    page.wait_for_function("document.querySelector('#terrain-sweep-status')?.innerText.includes('2 from cache')")


def test_a_sweep_cell_is_the_request_generate_makes(page):
    # Sliders left alone follow the prompt in a sweep too: the "desert canyon" cell is the Generate run just made
    # (same request, so it comes from the cache), and each prompt gets its own water and snow.
    open_tab(page, "Terrain")
    page.locator("#terrainparams-prompt textarea").fill("desert canyon")
    pick(page, "terrainparams-size_px", "129")
    page.locator("#terrainparams-seed input").fill("3")
    page.locator("#terrain-generate").click()
    page.wait_for_function("document.querySelector('#terrain-status')?.innerText.includes('seed 3')")
    page.locator("#terrain-sweep").get_by_text("Sweep (X/Y plot)").click()
    pick(page, "terrain-sweep-x", "Prompt")
    page.locator("#terrain-sweep-xvals textarea").fill("desert canyon | snowy jagged mountains with a lake")
    page.locator("#terrain-sweep-run").click()
    page.wait_for_function("document.querySelector('#terrain-sweep-status')?.innerText.includes('1 from cache')")


def test_bad_sweep_values_get_a_clear_error(page):
    open_tab(page, "Terrain")
    page.locator("#terrain-sweep").get_by_text("Sweep (X/Y plot)").click()
    pick(page, "terrain-sweep-x", "Roughness")
    page.locator("#terrain-sweep-xvals textarea").fill("0.2, lots")
    page.locator("#terrain-sweep-run").click()
    page.get_by_text("roughness: must be a number, got 'lots'").wait_for()


def test_ctrl_enter_generates(page):
    open_tab(page, "Terrain")
    page.locator("#terrainparams-prompt textarea").fill("archipelago")
    pick(page, "terrainparams-size_px", "129")
    page.locator("#terrainparams-seed input").fill("9")
    page.locator("#terrainparams-prompt textarea").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function("document.querySelector('#terrain-status')?.innerText.includes('seed 9')")
