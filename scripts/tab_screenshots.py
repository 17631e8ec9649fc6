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

# (tab title, prompts, seed): the picture shows the last prompt's result (the Text tab's chat shows both turns,
# and its status line a warm model's time rather than the first load's conversion). Each tab's ids follow the
# studio's naming: #<tab>params-<field>, #<tab>-generate, #<tab>-status.
# FIELDS: other number fields set first; the Image tab's shot also runs "Compare built-ins" and shows the whole page.
FIELDS = {"image": {"num_images": 4}}
SHOTS = {
    "text": ("Text", ["What is the capital of France?", "Write a haiku about a mountain lake at dawn."], 7),
    "image": ("Image", ["dog"], 1),
    "music": ("Music", ["calm folk melody in D minor"], 3),
    "terrain": ("Terrain", ["snowy jagged mountains with a lake"], 7),
}

NEW_RECIPE = (
    "([tab, old]) => { const m = document.querySelector(`#${tab}-status`)?.innerText.match(/recipe ([0-9a-f]{12})/);"
    " return m && m[1] !== old; }"
)


def shoot(page, tab: str, out: Path) -> None:
    """Run the tab's prompts and screenshot the page once the status line names the last one's recipe."""
    title, prompts, seed = SHOTS[tab]
    page.get_by_role("tab", name=title).click()
    for field, value in {**FIELDS.get(tab, {}), "seed": seed}.items():
        box = page.locator(f"#{tab}params-{field} input").first
        box.fill(str(value))
        box.press("Tab")
    old = ""
    for prompt in prompts:
        page.locator(f"#{tab}params-prompt textarea").first.fill(prompt)
        page.locator(f"#{tab}-generate").click()
        page.wait_for_function(NEW_RECIPE, arg=[tab, old])
        old = page.locator(f"#{tab}-status").inner_text().rsplit("recipe ", 1)[-1][:12]
    if tab == "image":
        page.get_by_text("Compare the built-in models").click()
        page.locator("#image-compare").click()
        page.wait_for_function("() => document.querySelector('#image-compare-status')?.innerText.includes('emoji-vae')")
    if tab == "terrain":  # the 3D viewer's canvas starts a few seconds after the result under SwiftShader
        page.locator("#terrain-mesh canvas").wait_for()
        page.wait_for_timeout(5000)
    page.wait_for_timeout(1500)  # let images and the mesh viewer paint
    page.screenshot(path=str(out), full_page=tab == "image")
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
