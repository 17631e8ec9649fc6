"""Train in a real browser: drop pictures, see the data check, train a few steps, see the curves and a sample;
the model then appears in the Image tab's menu and generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import open_tab, pick
from tests.training.pictures import write_squares

pytestmark = pytest.mark.browser


def test_drop_check_train_watch_and_generate(page, tmp_path: Path) -> None:
    files = write_squares(tmp_path / "pictures", 6)
    (tmp_path / "pictures" / "notes.png").write_bytes(b"not a picture")
    open_tab(page, "Train")
    page.set_input_files("#train-files input[type=file]", [*map(str, files), str(tmp_path / "pictures" / "notes.png")])
    page.wait_for_function("document.querySelector('#train-files')?.innerText.includes('notes')")
    page.locator("#train-check").click()
    page.wait_for_function("document.querySelector('#train-data-summary')?.innerText.includes('6 usable picture')")
    page.wait_for_function("document.querySelector('#train-refused')?.innerText.includes('not an image')")
    page.wait_for_selector("#train-grid img")

    page.locator("#trainparams-name input").fill("browser-squares")
    pick(page, "trainparams-technique", "dbn")
    page.locator("#trainparams-steps input").fill("12")
    page.locator("#trainparams-batch_size input").fill("4")
    page.locator("#train-start").click()
    page.wait_for_function("document.querySelector('#train-status')?.innerText.includes('finished')", timeout=180_000)
    page.wait_for_selector("#train-curves img")
    page.wait_for_selector("#train-samples img")

    open_tab(page, "Image")
    pick(page, "imageparams-model", "browser-squares (trained here)")
    page.locator("#imageparams-seed input").fill("4")
    page.locator("#image-generate").click()
    page.wait_for_selector("#image-gallery img")
    page.wait_for_function("document.querySelector('#image-status')?.innerText.includes('seed 4')")
