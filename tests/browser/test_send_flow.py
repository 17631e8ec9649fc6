"""Cross-tab sends in a real browser: a terrain render goes to image-to-image, the image's colours go back to the
terrain, and each recipe names the output it came from."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import open_tab
from tests.browser.test_terrain_flow import generate_terrain

pytestmark = pytest.mark.browser


def recipe_of(page, tab: str, tmp_path) -> dict:
    """The tab's last recipe, downloaded the way a visitor would."""
    with page.expect_download() as dl:
        page.locator(f"#{tab}-files a[download='recipe.json']").first.click()
    path = tmp_path / f"{tab}-recipe.json"
    dl.value.save_as(path)
    return json.loads(path.read_text())


def test_terrain_render_to_image_and_colours_back(page, tmp_path):
    generate_terrain(page, "volcanic island")
    terrain = recipe_of(page, "terrain", tmp_path)

    page.locator("#terrain-send-image").click()
    page.wait_for_selector("#image-generate", state="visible")
    assert page.locator("#imageparams-mode input[value='img2img']").is_checked()
    page.wait_for_selector("#image-editor canvas, #image-editor img")
    page.locator("#imageparams-prompt textarea").fill("red heart")
    page.locator("#imageparams-num_steps input[type='number']").fill("4")
    page.locator("#imageparams-seed input").fill("8")
    page.locator("#image-generate").click()
    page.wait_for_function("document.querySelector('#image-status')?.innerText.includes('seed 8')")
    image = recipe_of(page, "image", tmp_path)
    assert image["params"]["mode"] == "img2img" and image["params"]["init_image"]  # the render's SHA-256
    assert image["parents"] == [terrain["id"]]

    page.locator("#image-send-terrain").click()
    page.wait_for_selector("#terrain-generate", state="visible")
    page.locator("#tab-terrain").get_by_text("Advanced").click()
    colours = page.locator("#terrainparams-colours textarea, #terrainparams-colours input").first.input_value()
    assert colours.count("#") >= 2
    page.locator("#terrain-generate").click()
    page.wait_for_function(
        "(old) => !document.querySelector('#terrain-status')?.innerText.includes(old)", arg=terrain["id"][:12]
    )
    again = recipe_of(page, "terrain", tmp_path)
    assert again["params"]["colours"] == colours and again["parents"] == [image["id"]]


def test_sending_without_an_output_says_what_to_do(page):
    open_tab(page, "Terrain")
    page.locator("#terrain-send-image").click()
    page.get_by_text("Generate a terrain first").first.wait_for()
