"""Music in a real browser: type a prompt, generate, hear/see the piece, extend it, download the MIDI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import open_tab

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not any((ROOT / "assets" / "models").glob("*/vocab.json")), reason="no built-in music model")
def test_music_generate_extend_and_download(page, tmp_path):
    open_tab(page, "Music")
    page.locator("#musicparams-prompt textarea").fill("calm folk melody in D minor")
    page.locator("#musicparams-duration_s input[type=number]").fill("6")
    page.locator("#musicparams-seed input").fill("4")
    page.locator("#music-generate").click()
    page.wait_for_function("document.querySelector('#music-status')?.innerText.includes('seed 4')")
    page.wait_for_selector("#music-roll img")
    assert "D minor" in page.locator("#music-used").inner_text()
    assert page.locator("#music-files a[download='music.wav']").count() == 1
    first_status = page.locator("#music-status").inner_text()

    page.locator("#musicparams-seed input").fill("5")
    page.locator("#music-extend").click()
    page.wait_for_function("document.querySelector('#music-status')?.innerText.includes('seed 5')")
    assert page.locator("#music-status").inner_text() != first_status

    with page.expect_download() as dl:
        page.locator("#music-files a[download='music.mid']").click()
    path = tmp_path / "music.mid"
    dl.value.save_as(path)
    assert path.read_bytes()[:4] == b"MThd"
