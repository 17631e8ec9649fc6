"""Screenshots of the studio's tabs for the README: serve the studio, run one prompt per tab in headless Chromium,
and save ``docs/<tab>_tab.png``.

    python scripts/tab_screenshots.py                 # every tab
    python scripts/tab_screenshots.py --tabs text     # one tab

Uses the built-in models (the Text tab's first run converts SmolLM2 once, ~20 s) and a throwaway cache folder, so
every picture shows a fresh generation. Needs Debian's chromium and playwright (``scripts/test.sh`` installs both).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (tab title, prompt, seed); each tab's ids follow the studio's naming: #<tab>params-<field>, #<tab>-generate.
SHOTS = {
    "text": ("Text", "Write a haiku about a mountain lake at dawn.", 7),
    "image": ("Image", "smiling face", 1),
    "music": ("Music", "calm folk melody in D minor", 3),
    "terrain": ("Terrain", "snowy jagged mountains with a lake", 7),
}


def shoot(page, tab: str, out: Path) -> None:
    """Run the tab's prompt and screenshot the page once its status line names the recipe."""
    title, prompt, seed = SHOTS[tab]
    page.get_by_role("tab", name=title).click()
    page.locator(f"#{tab}params-prompt textarea").first.fill(prompt)
    page.locator(f"#{tab}params-seed input").first.fill(str(seed))
    page.locator(f"#{tab}-generate").click()
    page.wait_for_function(f"document.querySelector('#{tab}-status').innerText.includes('recipe')")
    page.wait_for_timeout(1500)  # let images and the mesh viewer paint
    page.screenshot(path=str(out), full_page=False)
    print(out)


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.app.conftest import start_server
    from tests.browser.conftest import ARGS, CHROMIUM

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tabs", nargs="+", choices=list(SHOTS), default=list(SHOTS))
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-shots-") as tmp:
        proc, url = start_server(Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1366, "height": 1100})
                page.set_default_timeout(300_000)
                page.goto(url)
                page.wait_for_selector("#studio-tabs")
                for tab in args.tabs:
                    shoot(page, tab, args.out / f"{tab}_tab.png")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
