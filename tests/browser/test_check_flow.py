"""The Check tab in a real browser: a studio file dropped with its sidecar, an edited one and a stranger's file each
get their one line; the Image tab's model card names the built-in's limits."""

from __future__ import annotations

import io
import os

from PIL import Image

from tests.browser.conftest import open_tab


def test_check_tab_says_what_each_dropped_file_is(page, tmp_path):
    from studio.services import build_services
    from studio.settings import Settings

    services = build_services(Settings(cache_dir=tmp_path / "cache"))
    params = services.studio.check("terrain", {"prompt": "island", "seed": 4, "size_px": 129})
    files = {a.name: a.data for a in services.studio.generate("terrain", params).artifacts}
    (tmp_path / "terrain.png").write_bytes(files["terrain.png"])
    (tmp_path / "terrain.glb").write_bytes(files["terrain.glb"])
    (tmp_path / "terrain.glb.c2pa").write_bytes(files["terrain.glb.c2pa"])
    edited = bytearray(files["terrain.png"])
    edited[edited.index(b"IDAT") + 300] ^= 0x10
    (tmp_path / "edited.png").write_bytes(bytes(edited))
    stranger = io.BytesIO()
    Image.new("RGB", (80, 80), (20, 120, 200)).save(stranger, format="PNG")
    (tmp_path / "photo.png").write_bytes(stranger.getvalue())

    open_tab(page, "Check a file")
    names = ["terrain.png", "terrain.glb", "terrain.glb.c2pa", "edited.png", "photo.png"]
    page.locator("#check-files input[type=file]").set_input_files([str(tmp_path / n) for n in names])
    verdicts = page.locator("#check-verdicts")
    verdicts.get_by_text("photo.png").wait_for()
    text = verdicts.inner_text()
    lines = {line.split(":", 1)[0].strip("- "): line for line in text.splitlines() if ":" in line}
    assert "made by this studio with procedural, seed 4" in lines["terrain.png"]
    assert "made by this studio with procedural, seed 4" in lines["terrain.glb"]  # read with its sidecar
    assert "terrain.glb.c2pa" not in lines
    assert "edited since it was made" in lines["edited.png"]
    assert "no sign of this studio" in lines["photo.png"]
    assert "untrusted" in page.locator("#check-explainer").inner_text()
    if os.environ.get("STUDIO_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["STUDIO_SCREENSHOTS"], "check-tab.png"), full_page=True)

    open_tab(page, "Image")
    page.locator("#image-card").get_by_text("Model card").click()
    page.locator("#image-card").get_by_text("Known limits and biases").wait_for()
    if os.environ.get("STUDIO_SCREENSHOTS"):
        page.locator("#image-card").screenshot(path=os.path.join(os.environ["STUDIO_SCREENSHOTS"], "image-card.png"))
