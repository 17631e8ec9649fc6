"""Cross-tab "send to": one tab's output becomes another tab's input, and the recipe records where it came from.

- Terrain → Image: the hillshaded render becomes the init image of image-to-image.
- Image → Terrain: the image's dominant colours become the terrain's land colours.
- Text → Image / Music / Terrain: the prompt helper's text becomes that tab's prompt.

Each send also puts the source's recipe id into the target tab's ``parents`` state, which its next run passes to the
engine, so the new recipe lists its parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from studio.generators.image.upload import MAX_UPLOAD_BYTES, open_checked
from studio.outputs import valid_recipe_id
from studio.params import ParamError
from studio.services import Services
from studio.ui.common import picture_in
from studio.ui.handles import TabHandles


def dominant_colours(path: str | Path, k: int = 5) -> str:
    """The image's ``k`` most common colours as "#rrggbb, ...", darkest first (low ground to high)."""
    from PIL import Image

    p = Path(path)
    if p.stat().st_size > MAX_UPLOAD_BYTES:
        raise ParamError(
            "colours", f"the picture is {p.stat().st_size / 1e6:.0f} MB; at most {MAX_UPLOAD_BYTES // 2**20} MB"
        )
    rgb = open_checked("colours", p.read_bytes()).convert("RGB")  # refused by its header before it is decoded
    rgb.thumbnail((128, 128))
    small = rgb.quantize(colors=k, method=Image.Quantize.MEDIANCUT)
    palette: list[int] = list(small.getpalette() or [])
    # A palette ("P") image counts palette indices: (count, index) pairs.
    counts = sorted(((n, i) for n, i in small.getcolors() or [] if isinstance(i, int)), reverse=True)
    colours = []
    for _, idx in counts[:k]:
        r, g, b = palette[3 * idx : 3 * idx + 3]
        colours.append((0.2126 * r + 0.7152 * g + 0.0722 * b, f"#{r:02x}{g:02x}{b:02x}"))
    return ", ".join(c for _, c in sorted(colours))


def _recipe_id(recipe: Any) -> list[str]:
    return [recipe["id"]] if isinstance(recipe, dict) and valid_recipe_id(recipe.get("id")) else []


def sent_picture(services: Services, recipe: Any) -> Path | None:
    """The picture of the result a tab shows, found by the recipe's modality and id in the outputs folder.

    The recipe (and any gallery or image value) comes back from the browser, so no path in it is used: a send
    can only hand on a file the studio itself wrote."""
    if not isinstance(recipe, dict):
        return None
    return picture_in(services.outputs.files(recipe.get("modality"), recipe.get("id")))


def wire_sends(services: Services, handles: dict[str, TabHandles], tabs: gr.Tabs) -> None:
    """Add the "send to" buttons to the tabs that have both ends, and their listeners (``handles``: by modality)."""
    text, image, terrain = handles.get("text"), handles.get("image"), handles.get("terrain")
    if text is not None:
        wire_prompt_sends(text, handles, tabs)
    if terrain is not None and image is not None:
        wire_terrain_to_image(services, terrain, image, tabs)
        wire_image_to_terrain(services, image, terrain, tabs)


def wire_prompt_sends(text: TabHandles, handles: dict[str, TabHandles], tabs: gr.Tabs) -> None:
    """Wire the Text tab's "Send to <tab>" buttons: the helper's prompt goes into that tab's prompt box, the tab
    opens, and the helper's recipe id goes into the tab's ``parents`` (when it has one), so the next recipe there
    names it."""
    if text.output is None:
        return
    for target, button in text.send_buttons.items():
        h = handles.get(target)
        if h is None:
            continue
        lineage = h.parents
        outputs = [tabs, h.prompt, *([lineage] if lineage is not None else [])]

        def send(prompt: str, recipe: Any, target: str = target, lineage: Any = lineage) -> tuple[Any, ...]:
            if not isinstance(prompt, str) or not prompt.strip():
                raise gr.Error("Use a prompt-helper preset first: its output is what gets sent.")
            info = recipe.get("info") if isinstance(recipe, dict) else None
            made_here = isinstance(info, dict) and bool(info.get("prompt_for"))
            out: tuple[Any, ...] = (gr.Tabs(selected=target), prompt.strip())
            return (*out, _recipe_id(recipe) if made_here else []) if lineage is not None else out

        # Queued: an error (nothing to send yet) reaches the page as a message only from a queued event.
        button.click(send, [text.output, text.recipe], outputs, api_visibility="private")


def wire_terrain_to_image(services: Services, terrain: TabHandles, image: TabHandles, tabs: gr.Tabs) -> None:
    """Terrain's "Send render to Image": the render becomes the init image of image-to-image."""
    if image.editor is None or image.parents is None or terrain.send_row is None:
        return
    with terrain.send_row:
        to_image = gr.Button("Send render to Image (img2img)", size="sm", elem_id="terrain-send-image")

    def terrain_to_image(recipe: Any) -> tuple[Any, ...]:
        preview = sent_picture(services, recipe)
        if preview is None or recipe.get("modality") != "terrain":
            raise gr.Error("Generate a terrain first, then send its render.")
        editor = {"background": str(preview), "layers": [], "composite": str(preview)}
        return gr.Tabs(selected="image"), editor, "img2img", _recipe_id(recipe)

    # Queued (not queue=False): only a queued event's gr.Error reaches the page as a message.
    to_image.click(
        terrain_to_image,
        [terrain.recipe],
        [tabs, image.editor, image.widgets["mode"], image.parents],
        api_visibility="private",
    )


def wire_image_to_terrain(services: Services, image: TabHandles, terrain: TabHandles, tabs: gr.Tabs) -> None:
    """Image's "Send colours to Terrain": the image's dominant colours become the terrain's land colours."""
    if "colours" not in terrain.widgets or terrain.parents is None or image.send_row is None:
        return
    with image.send_row:
        to_terrain = gr.Button("Send colours to Terrain", size="sm", elem_id="image-send-terrain")

    def image_to_terrain(recipe: Any) -> tuple[Any, ...]:
        picture = sent_picture(services, recipe)
        if picture is None or recipe.get("modality") != "image":
            raise gr.Error("Generate an image first, then send its colours.")
        try:
            colours = dominant_colours(picture)
        except ParamError as exc:
            raise gr.Error(str(exc), title="Invalid input") from None
        return gr.Tabs(selected="terrain"), colours, _recipe_id(recipe)

    to_terrain.click(
        image_to_terrain,
        [image.recipe],
        [tabs, terrain.widgets["colours"], terrain.parents],
        api_visibility="private",
    )
