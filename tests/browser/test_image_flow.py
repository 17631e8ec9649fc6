"""Image in a real browser: generate with the built-in diffusion model, see preview and gallery, compare built-ins."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_tab, pick

pytestmark = pytest.mark.browser


def generate_image(page, prompt: str, steps: int, seed: int) -> None:
    """Type a prompt into the Image tab, set steps and seed, generate, and wait for the images."""
    open_tab(page, "Image")
    page.locator("#imageparams-prompt textarea").fill(prompt)
    page.locator("#imageparams-num_steps input[type='number']").fill(str(steps))
    page.locator("#imageparams-seed input").fill(str(seed))
    page.locator("#image-generate").click()
    page.wait_for_selector("#image-gallery img")
    page.wait_for_function(f"document.querySelector('#image-status')?.innerText.includes('seed {seed}')")


def test_image_generate_and_compare(page):
    generate_image(page, "red apple", steps=8, seed=3)
    href = page.locator("#image-files a[download]").first.get_attribute("href")
    assert href and (href.endswith(".png") or href.endswith(".json"))
    # One picture stays a thumbnail in its column (Gradio 6 would stretch it across the gallery, cropped).
    for gallery in ("#image-gallery", "#history-gallery"):
        page.wait_for_selector(f"{gallery} img")
        thumb = page.locator(f"{gallery} img").first.bounding_box()
        whole = page.locator(gallery).bounding_box()
        assert thumb and whole and thumb["width"] < whole["width"] / 3, gallery

    # The same settings again come from the cache.
    page.locator("#image-generate").click()
    page.wait_for_function("document.querySelector('#image-status')?.innerText.includes('From cache')")

    # Compare: the three built-ins side by side, one seed.
    page.get_by_text("Compare the built-in models").click()
    page.locator("#image-compare").click()
    for kind in ("emoji-diffusion", "emoji-gan", "emoji-vae"):
        page.wait_for_selector(f"#compare-{kind} img")
    page.wait_for_function("document.querySelector('#image-compare-status')?.innerText.includes('seed 3')")


def test_controls_the_model_does_not_use_are_hidden(page):
    open_tab(page, "Image")
    steps, style = page.locator("#imageparams-num_steps"), page.locator("#imageparams-style")
    steps.wait_for(state="visible")
    style.wait_for(state="visible")  # the built-in diffusion model learnt four drawing styles
    pick(page, "imageparams-model", "Emoji GAN (built-in, 128×128)")
    steps.wait_for(state="hidden")  # a GAN draws in one pass, and learnt Twemoji only
    style.wait_for(state="hidden")
    assert page.locator("#imageparams-seed").is_visible()
    pick(page, "imageparams-model", "Emoji diffusion (built-in, 128×128 latent diffusion, 4 styles)")
    steps.wait_for(state="visible")
    style.wait_for(state="visible")


def test_a_chosen_style_is_drawn_and_recorded(page):
    open_tab(page, "Image")
    pick(page, "imageparams-style", "openmoji")
    generate_image(page, "red apple", steps=6, seed=21)
    page.locator("#image-gallery").get_by_text("seed 21 · openmoji").first.wait_for()  # the caption says which
