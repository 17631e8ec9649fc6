"""Terrain in a real browser: type, generate, see the preview and mesh, download, history survives a reload."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import open_page, open_tab, pick

pytestmark = pytest.mark.browser


def generate_terrain(page, prompt: str, size: str = "129", roughness: str | None = None) -> None:
    open_tab(page, "Terrain")
    page.locator("#terrainparams-prompt textarea").fill(prompt)
    pick(page, "terrainparams-size_px", size)
    page.locator("#terrainparams-seed input").fill("5")
    if roughness is not None:  # a slider the visitor sets overrides what the prompt chose
        page.locator("#terrainparams-roughness input[type=number]").fill(roughness)
        page.wait_for_function("document.querySelector('#terrain-overrides')?.innerText.includes('Roughness')")
    page.locator("#terrain-generate").click()
    page.wait_for_selector("#terrain-preview img")
    page.wait_for_function("document.querySelector('#terrain-status')?.innerText.includes('seed 5')")


def test_terrain_generate_download_and_history_reload(page, tmp_path):
    generate_terrain(page, "volcanic island", roughness="0.9")
    # The mesh viewer gets the GLB (test_viewer_draws_the_scene looks at its pixels).
    href = page.locator("#terrain-mesh a[download]").first.get_attribute("href")
    assert href and href.endswith(".glb")
    with page.expect_download() as dl:
        page.locator("#terrain-files a[download='recipe.json']").click()
    path = tmp_path / "recipe.json"
    dl.value.save_as(path)
    recipe = json.loads(path.read_text())
    assert recipe["params"]["prompt"] == "volcanic island" and recipe["seed"] == 5
    assert recipe["params"]["roughness"] == 0.9 and recipe["params"]["water_level"] is None  # set vs from the prompt

    # The history gallery shows it, and still does after a reload.
    page.wait_for_selector("#history-gallery img")
    page.reload()
    page.wait_for_selector("#history-gallery img")

    # Clicking it restores the settings into the Terrain tab: the slider that was set is marked as set again.
    open_tab(page, "Terrain")
    page.locator("#terrainparams-prompt textarea").fill("something else")
    page.locator("#history-gallery img").first.click()
    page.wait_for_function("document.querySelector('#terrainparams-prompt textarea')?.value === 'volcanic island'")
    assert page.locator("#terrainparams-seed input").input_value() == "5"
    assert page.locator("#terrainparams-roughness input[type=number]").input_value() == "0.9"
    page.wait_for_function("document.querySelector('#terrain-overrides')?.innerText.includes('Roughness')")

    # Running the restored settings again is served from the cache.
    page.locator("#terrain-generate").click()
    page.wait_for_function("document.querySelector('#terrain-status')?.innerText.includes('From cache')")


def test_each_visitor_sees_only_their_own_history(browser, studio_url):
    (ctx_a, a), (ctx_b, b) = open_page(browser, studio_url), open_page(browser, studio_url)
    generate_terrain(a, "desert canyon")
    a.wait_for_selector("#history-gallery img")
    b.reload()
    b.wait_for_selector("#studio-tabs")
    b.wait_for_timeout(1500)
    assert b.locator("#history-gallery img").count() == 0
    # B's own settings are untouched by A's run.
    open_tab(b, "Terrain")
    assert b.locator("#terrainparams-prompt textarea").input_value() == ""
    ctx_a.close()
    ctx_b.close()


def _drawn(png: bytes) -> tuple[int, float]:
    """(distinct colours, share of pixels unlike the commonest colour) of a screenshot."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3) // 8  # 32 levels per channel
    keys = rgb[:, 0].astype(np.int32) << 10 | rgb[:, 1].astype(np.int32) << 5 | rgb[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    return len(values), 1.0 - counts.max() / keys.size


def test_viewer_draws_the_scene(page, tmp_path):
    """After Generate the 3D viewer holds a canvas with the terrain drawn on it, not an empty box."""
    generate_terrain(page, "gentle green hills")
    canvas = page.locator("#terrain-mesh canvas")
    canvas.wait_for(timeout=60_000)  # Babylon's canvas; under SwiftShader the first frame takes a few seconds
    shot, colours, covered = b"", 0, 0.0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shot = canvas.screenshot()
        colours, covered = _drawn(shot)
        if colours >= 40 and covered >= 0.05:
            break
        page.wait_for_timeout(1000)
    (tmp_path / "viewer.png").write_bytes(shot)
    print(f"viewer screenshot: {tmp_path / 'viewer.png'}")
    assert colours >= 40 and covered >= 0.05, f"blank viewer: {colours} colours, {covered:.1%} drawn"
