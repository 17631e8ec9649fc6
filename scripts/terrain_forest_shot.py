"""The README's forest picture: serve the studio, generate a forest scene on the Terrain tab in headless Chromium,
zoom the 3D viewer in on the trees, and save ``docs/terrain_forest.png`` (the viewer's canvas).

    python scripts/terrain_forest_shot.py [--prompt "..."] [--size 513] [--zoom 6]

Needs Debian's chromium and playwright (``scripts/test.sh`` installs both).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.app.conftest import start_server, stop_server
    from tests.browser.conftest import ARGS, CHROMIUM

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompt", default="pine forest on rolling hills with a lake")
    ap.add_argument("--size", default="513")
    ap.add_argument("--seed", default="7")
    ap.add_argument("--zoom", type=int, default=6, help="mouse-wheel steps towards the ground")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "terrain_forest.png")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(180_000)
                page.goto(url)
                page.get_by_role("tab", name="Terrain").click()
                page.locator("#terrainparams-prompt textarea").fill(args.prompt)
                page.locator("#terrainparams-size_px input").first.click()
                page.get_by_role("option", name=args.size, exact=True).click()
                page.locator("#terrainparams-seed input").fill(args.seed)
                page.locator("#terrain-generate").click()
                canvas = page.locator("#terrain-mesh canvas")
                canvas.wait_for()
                page.wait_for_timeout(5000)
                box = canvas.bounding_box()
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.6)
                for _ in range(args.zoom):
                    page.mouse.wheel(0, -300)
                    page.wait_for_timeout(400)
                page.wait_for_timeout(6000)
                canvas.screenshot(path=str(args.out))
                browser.close()
        finally:
            stop_server(proc)
    print(args.out)


if __name__ == "__main__":
    main()
