"""What a tab hands to the rest of the app: the components the History, the sweep and the sends wire to.

Each tab builder returns one ``TabHandles``; fields a tab lacks stay None (only Music and Terrain have sliders that
follow the prompt, only Image has an editor). ``widgets`` maps a params field name to its input component, in the
order the tab made them: the History restores a recipe through it and the sweep varies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from gradio.components import Component


@dataclass(frozen=True)
class Prepare:
    """The tab's turn from widget values to request values, and the session state it reads besides the widgets.

    ``fn(values, *state_values)`` gives the values the tab's Generate would send, so a sweep cell is that request.
    """

    fn: Callable[..., dict[str, Any]]
    inputs: list[Component] = field(default_factory=list)


@dataclass(frozen=True)
class OverridesNote:
    """The line that says which prompt-following sliders the visitor set: its box and the text for a list of names."""

    box: gr.Markdown
    describe: Callable[[list[str]], str]


@dataclass
class TabHandles:
    """One tab's components that other parts of the app wire to (``sweep_recipes`` is filled by the sweep)."""

    modality: str
    prompt: gr.Textbox
    widgets: dict[str, Component]  # params field name -> input widget
    recipe: gr.JSON  # the last result's recipe; its change feeds the History
    prepare: Prepare | None = None
    parents: gr.State | None = None  # recipe ids of outputs sent here from other tabs (lineage)
    overridden: gr.State | None = None  # the prompt-following sliders the visitor set (a restore sets it too)
    overrides_note: OverridesNote | None = None
    send_row: gr.Row | None = None  # "send to" buttons go here once every tab is built (ui/send.py)
    editor: gr.ImageEditor | None = None  # Image: a terrain render sent here becomes the init image
    output: gr.Textbox | None = None  # Text: the prompt helper's output, sent to other tabs' prompts
    send_buttons: dict[str, gr.Button] = field(default_factory=dict)  # Text: target modality -> its send button
    queue: str = "gpu"  # the concurrency id of the tab's Generate (a sweep waits in the same queue)
    sweep_recipes: gr.JSON | None = None  # every sweep cell's recipe: the History adds them
