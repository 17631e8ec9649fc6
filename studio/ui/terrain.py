"""The Terrain tab: a prompt and sliders in, a hillshaded preview, a 3D mesh and game-ready heightmaps out.

The prompt sets the look; a slider you move overrides what the prompt set for that one setting (it is marked
"yours" until you press "Sliders follow the prompt"). After each run the sliders you did not touch show the values
the prompt chose. The API endpoint ``/terrain`` takes the same names; a slider left out there follows the prompt.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gradio as gr

from studio.engine import Result
from studio.params import spec_of
from studio.services import Services
from studio.ui.common import api_handler, auto_fields, check_values, follow_prompt, run_request, status_line, widget_for

EXAMPLES = [
    "snowy jagged mountains with a lake",
    "gentle green hills",
    "desert canyon",
    "volcanic island",
    "archipelago",
]


def _first(result: Result, *roles: str) -> str | None:
    for role in roles:
        for a in result.by_role(role):
            return str(result.paths[a.name])
    return None


def _outputs_of(result: Result) -> tuple[Any, ...]:
    files = [str(p) for p in result.paths.values()]
    return (_first(result, "preview", "image"), _first(result, "model3d"), files, result.recipe, status_line(result))


def build_terrain_tab(services: Services) -> dict[str, Any]:
    """Build the tab's components and listeners; returns the handles other tabs wire to (``prompt``, ...)."""
    params_type = services.studio.params_type("terrain")
    names = [f.name for f in dataclasses.fields(params_type)]
    autos = auto_fields(params_type)
    widgets: dict[str, Any] = {}
    overridden = gr.State([])
    parents = gr.State([])  # recipe ids of outputs sent here from other tabs (lineage)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            widgets["prompt"] = widget_for(
                params_type, "prompt", placeholder="e.g. snowy jagged mountains with a lake", lines=2, max_lines=4
            )
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id="terrain-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="terrain-stop")
            gr.Examples(EXAMPLES, inputs=[widgets["prompt"]], label="Try")
            for n in names:
                if n != "prompt" and not spec_of(params_type, n).advanced:
                    widgets[n] = widget_for(params_type, n)
            with gr.Accordion("Advanced", open=False):
                for n in names:
                    if n != "prompt" and spec_of(params_type, n).advanced:
                        widgets[n] = widget_for(params_type, n)
            follow = gr.Button("Sliders follow the prompt", size="sm", elem_id="terrain-follow")
            yours = gr.Markdown("Every slider follows the prompt.", elem_id="terrain-overrides")
        with gr.Column(scale=3, min_width=300):
            status = gr.Markdown("", elem_id="terrain-status")
            preview = gr.Image(
                label="Preview (hillshaded)", type="filepath", interactive=False, elem_id="terrain-preview", height=420
            )
            mesh = gr.Model3D(label="Mesh (GLB, vertex colours)", elem_id="terrain-mesh", height=360)
            files = gr.File(label="Downloads", file_count="multiple", elem_id="terrain-files")
            send_row = gr.Row()  # "send to" buttons go here once every tab is built (ui/send.py)
            with gr.Accordion("Recipe", open=False):
                recipe = gr.JSON(label="Recipe")
    with gr.Row(visible=False):
        api_inputs = [widget_for(params_type, n, api_only=True) for n in names]
        api_button = gr.Button(visible=False)

    outputs = [preview, mesh, files, recipe, status]
    auto_widgets = [widgets[n] for n in autos]

    def describe(ov: list[str]) -> str:
        if not ov:
            return "Every slider follows the prompt."
        labels = ", ".join(spec_of(params_type, n).label or n for n in ov)
        return f"Set by you (the prompt no longer changes them): **{labels}**"

    for n in autos:

        def mark(ov: list[str], n: str = n) -> tuple[list[str], str]:
            ov = sorted({*ov, n})
            return ov, describe(ov)

        widgets[n].input(mark, overridden, [overridden, yours], api_visibility="private", queue=False)
    follow.click(lambda: ([], describe([])), None, [overridden, yours], api_visibility="private", queue=False)

    def run(values: dict[str, Any], progress: gr.Progress, lineage: list[str] | None = None) -> Any:
        params = check_values(services, "terrain", values)
        for item in run_request(services, "terrain", params, progress, parents=lineage or []):
            if isinstance(item, Result):
                yield item
            else:
                yield None  # lets Stop end the handler at the next step

    def api_body(values: dict[str, Any], progress: gr.Progress) -> Any:
        # Only the result is yielded: a gr.skip() tick makes Gradio 6.31 keep a per-session copy of each output,
        # and the value after it files that copy again under a new id, so an API client's session grew by five
        # components (~70 KB) per request for as long as it lived. Progress still reaches the client.
        for item in run(values, progress):
            if item is not None:
                yield _outputs_of(item)

    def prepare(values: dict[str, Any], ov: list[str]) -> dict[str, Any]:
        return follow_prompt(values, autos, ov)

    def ui_body(values: dict[str, Any], ov: list[str], lineage: list[str], progress: gr.Progress) -> Any:
        for item in run(prepare(values, ov), progress, lineage):
            if item is None:
                yield tuple(gr.skip() for _ in outputs + auto_widgets)
                continue
            used = item.recipe.get("info", {}).get("settings", {})
            slider_values = tuple(used.get(n, gr.skip()) if n not in ov else gr.skip() for n in autos)
            yield _outputs_of(item) + slider_values

    ui_event = generate.click(
        api_handler(names, ui_body, extra=["overridden", "parents"]),
        inputs=[*(widgets[n] for n in names), overridden, parents],
        outputs=outputs + auto_widgets,
        api_visibility="private",
        concurrency_id="terrain",
        concurrency_limit=2,
    )
    submitted = widgets["prompt"].submit(
        api_handler(names, ui_body, extra=["overridden", "parents"]),
        inputs=[*(widgets[n] for n in names), overridden, parents],
        outputs=outputs + auto_widgets,
        api_visibility="private",
        concurrency_id="terrain",
    )
    api_event = api_button.click(
        api_handler(names, api_body), inputs=api_inputs, outputs=outputs, api_name="terrain", concurrency_id="terrain"
    )
    stop.click(None, cancels=[ui_event, submitted, api_event], api_visibility="private")
    return {
        "prompt": widgets["prompt"],  # other tabs send prompts here
        "widgets": widgets,  # field name -> component, for restoring a recipe's settings
        "recipe": recipe,  # the last result's recipe; its change feeds the history
        "generate": generate,
        "parents": parents,  # a gr.State other tabs set when they send something here
        "overridden": overridden,  # the sliders the visitor set (restoring a recipe sets it too)
        "overrides_note": (yours, describe),  # the line saying which they are
        "prepare": (prepare, [overridden]),  # widget values -> request values, for the sweep
        "queue": "terrain",  # CPU work: its own queue, not the GPU's
        "preview": preview,
        "send_row": send_row,
        "events": [ui_event, submitted, api_event],
    }
