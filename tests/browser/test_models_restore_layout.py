"""The Loaded models panel, restoring settings from a dropped output file, and the layout on a phone, in a real
browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_page, open_tab
from tests.browser.test_image_flow import generate_image
from tests.browser.test_terrain_flow import generate_terrain

pytestmark = pytest.mark.browser

# The table is re-rendered every few seconds (the panel's timer), so it can be missing for a moment: not an answer.
TABLE_HAS = "(k) => document.querySelector('#models-table')?.innerText.includes(k) === true"
TABLE_LACKS = "(k) => document.querySelector('#models-table')?.innerText.includes(k) === false"


def test_models_panel_shows_a_loaded_model_and_unloads_it(page):
    generate_image(page, "smiling face", steps=4, seed=41)

    page.locator("#models-panel").get_by_text("Loaded models").click()
    key = "image:emoji-diffusion"
    page.wait_for_function(TABLE_HAS, arg=key)  # the panel refreshes itself from the memory manager
    assert "MB" in page.locator("#models-table").inner_text()
    assert "cpu" in page.locator("#models-table").inner_text()

    page.locator("#models-choice input").first.click()
    page.get_by_role("option", name=key, exact=True).click()
    page.locator("#models-unload").click()
    page.wait_for_function(TABLE_LACKS, arg=key)


def test_dropping_an_output_restores_its_settings(browser, studio_url, tmp_path):
    maker, pg = open_page(browser, studio_url)
    generate_terrain(pg, "archipelago")
    with pg.expect_download() as dl:
        pg.locator("#terrain-files a[download$='.glb']").first.click()
    glb = tmp_path / "terrain.glb"
    dl.value.save_as(glb)
    with pg.expect_download() as dl:
        pg.locator("#terrain-files a[download='recipe.json']").click()
    recipe_json = tmp_path / "recipe.json"
    dl.value.save_as(recipe_json)
    maker.close()

    # Another visitor (no history) drops the mesh: the Terrain tab opens with the settings that made it.
    ctx, page = open_page(browser, studio_url)
    page.locator("#history-drop input[type=file]").set_input_files(str(glb))
    page.wait_for_function(
        "document.querySelector('#terrainparams-prompt textarea')?.value === 'archipelago'", timeout=60_000
    )
    assert page.locator("#terrainparams-seed input").input_value() == "5"

    # A file without a recipe is refused with a message that says so.
    plain = tmp_path / "plain.json"
    plain.write_text('{"hello": "world"}')
    page.locator("#history-drop input[type=file]").set_input_files(str(plain))
    page.get_by_text("not a studio output").first.wait_for()

    # A file dropped anywhere on a tab (here the Text tab's chat) restores its settings too.
    open_tab(page, "Text")
    page.wait_for_selector("#history-drop input[type=file]", state="attached")  # the refused file is cleared
    drop_file_on(page, "#text-chat", recipe_json)
    page.wait_for_selector("#terrain-generate", state="visible")
    page.wait_for_function("document.querySelector('#terrainparams-prompt textarea')?.value === 'archipelago'")
    ctx.close()


def drop_file_on(page, selector: str, path) -> None:
    """Drop ``path`` onto the element, as a file dragged from the desktop would be."""
    data = list(path.read_bytes())
    files = page.evaluate_handle(
        "([bytes, name]) => { const dt = new DataTransfer();"
        " dt.items.add(new File([new Uint8Array(bytes)], name)); return dt; }",
        [data, path.name],
    )
    page.dispatch_event(selector, "dragover", {"dataTransfer": files})
    page.dispatch_event(selector, "drop", {"dataTransfer": files})


@pytest.mark.parametrize("title", ["Text", "Image", "Music", "Terrain"])
def test_each_tab_fits_a_phone_screen(browser, studio_url, title):
    ctx, page = open_page(browser, studio_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    open_tab(page, title)
    page.wait_for_selector(f"#{title.lower()}-generate", state="visible")
    # Nothing sticks out sideways: the page does not scroll horizontally, and Generate is within the screen.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{title} tab is {overflow}px wider than a phone screen"
    box = page.locator(f"#{title.lower()}-generate").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391
    ctx.close()
