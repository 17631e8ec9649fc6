"""Assemble the studio's Blocks from its tabs; ``app.py`` at the repository root launches it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from studio import __version__
from studio.listing import listing
from studio.server.operators import Operators
from studio.services import Services
from studio.ui.cards import build_model_card
from studio.ui.check import build_check_tab
from studio.ui.handles import TabHandles
from studio.ui.history import build_history, load_gallery
from studio.ui.image import build_image_tab
from studio.ui.models_panel import build_models_panel
from studio.ui.music import build_music_tab
from studio.ui.send import wire_sends
from studio.ui.sweep import build_sweep
from studio.ui.terrain import build_terrain_tab
from studio.ui.text import build_text_tab
from studio.ui.train import build_train_tab

log = logging.getLogger(__name__)

# (tab title, modality, builder) in the order the tabs appear.
TABS: list[tuple[str, str, Callable[[Services], TabHandles]]] = [
    ("Text", "text", build_text_tab),
    ("Image", "image", build_image_tab),
    ("Music", "music", build_music_tab),
    ("Terrain", "terrain", build_terrain_tab),
]

FOOTER = (
    "Everything this studio makes is **AI-generated**; each file carries the recipe that made it, Content "
    "Credentials and an invisible watermark (see *Check a file*). "
    "Credit the models you use, and don't pass generated work off as human-made. "
    f"studio {__version__}"
)

# Ctrl+Enter (Cmd+Enter on a Mac) presses the visible tab's Generate button. A file dropped anywhere on the page
# outside an upload box (which takes its own drops) goes to the History drop zone, which restores its settings.
HEAD = """
<script>
document.addEventListener("keydown", (e) => {
  if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey)) return;
  const buttons = [...document.querySelectorAll("button[id$='-generate']")].filter((b) => b.offsetParent !== null);
  if (buttons.length) { e.preventDefault(); buttons[0].click(); }
});
const studioDropTarget = () => document.querySelector("#history-drop input[type=file]");
document.addEventListener("dragover", (e) => {
  if (e.dataTransfer && [...e.dataTransfer.types].includes("Files") && studioDropTarget()) e.preventDefault();
});
document.addEventListener("drop", (e) => {
  const input = studioDropTarget();
  if (e.defaultPrevented || !input || !e.dataTransfer || e.dataTransfer.files.length !== 1) return;
  e.preventDefault();
  const files = new DataTransfer();
  files.items.add(e.dataTransfer.files[0]);
  input.files = files.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
});
</script>
"""

CSS = """
#studio-footer { opacity: 0.8; font-size: 0.9em; }
"""


def build_app(services: Services, operators: Operators | None = None) -> gr.Blocks:
    """The studio's Blocks: one tab per modality that has a generator, then the footer.

    ``operators`` may unload models (default: a local visitor of a studio without login or share link).
    """
    if operators is None:
        operators = Operators(local_visitor=True)
    handles: dict[str, TabHandles] = {}  # by modality, in tab order
    # Gradio deletes the copies of outputs it served, and uploads, some time after it made them; the janitor keeps
    # the folder under its byte budget in between.
    with gr.Blocks(title="Studio", analytics_enabled=False, delete_cache=services.settings.delete_cache) as demo:
        gr.Markdown("# Studio\nText, images, music and landscapes, generated on this machine.")
        with gr.Tabs(elem_id="studio-tabs") as tabs:
            for title, modality, build in TABS:
                if modality not in services.studio.generators:
                    continue
                with gr.Tab(title, id=modality, elem_id=f"tab-{modality}") as tab:
                    handles[modality] = build(services)
                    build_sweep(services, modality, handles[modality])
                    build_model_card(services, modality, handles[modality])
                refresh_models_on_select(services, tab, handles[modality])
            if services.jobs is not None:
                with gr.Tab("Train", id="train", elem_id="tab-train"):
                    build_train_tab(services, demo, operators)
            with gr.Tab("Check a file", id="check", elem_id="tab-check"):
                build_check_tab(services)
        wire_sends(services, handles, tabs)
        hist = build_history(services, handles, tabs)
        build_models_panel(demo, services, operators)
        gr.api(models_endpoint(services), api_name="models", queue=False)
        gr.Markdown(FOOTER, elem_id="studio-footer")
        demo.load(load_gallery(services), [hist.history], [hist.gallery], api_visibility="private", queue=False)
    return demo


def refresh_models_on_select(services: Services, tab: gr.Tab, handles: TabHandles) -> None:
    """Opening a tab re-reads its model menu from the catalog, so a model trained meanwhile is listed at once."""
    menu = handles.widgets.get("model")
    if not isinstance(menu, gr.Dropdown):
        return
    modality = handles.modality

    def refresh(current: str | None) -> gr.Dropdown:
        choices = [(s.display, s.id) for s in services.catalog.models(modality)]
        ids = [c[1] for c in choices]
        return gr.Dropdown(choices=choices, value=current if current in ids else (ids[0] if ids else None))

    tab.select(refresh, [menu], [menu], api_visibility="private", queue=False)


def models_endpoint(services: Services) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    """The ``/models`` endpoint's function: every modality's models (``studio.listing``)."""

    def models() -> dict[str, list[dict[str, Any]]]:
        """Modality -> its models: id (the `model` parameter), label, source, kind, the params it does not use."""
        return listing(services.studio)

    return models


def theme() -> gr.themes.Base:
    """The default theme with system fonts only (a web font would be fetched from the network)."""
    return gr.themes.Default(
        primary_hue="indigo",
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
    )
