"""The Terrain tab: a prompt and sliders in, a hillshaded preview, a 3D mesh and game-ready heightmaps out."""

from __future__ import annotations

import dataclasses
from typing import Any

import gradio as gr

from studio.engine import Result
from studio.params import spec_of
from studio.services import Services
from studio.ui.common import api_handler, check_values, run_request, status_line, widget_for

EXAMPLES = [
    "snowy jagged mountains with a lake",
    "gentle green hills",
    "desert canyon",
    "volcanic island",
    "archipelago",
]


def _files(result: Result) -> list[str]:
    return [str(p) for p in result.paths.values()]


def _first(result: Result, *roles: str) -> str | None:
    for role in roles:
        for a in result.by_role(role):
            return str(result.paths[a.name])
    return None


def build_terrain_tab(services: Services) -> dict[str, Any]:
    """Build the tab's components and listeners; returns the handles other tabs wire to (``prompt``, ...)."""
    params_type = services.studio.params_type("terrain")
    names = [f.name for f in dataclasses.fields(params_type)]
    widgets: dict[str, Any] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            widgets["prompt"] = widget_for(
                params_type, "prompt", placeholder="e.g. snowy jagged mountains with a lake", lines=2, max_lines=4
            )
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id="terrain-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="terrain-stop")
            gr.Examples(EXAMPLES, inputs=[widgets["prompt"]], label="Try")
            main = [n for n in names if n != "prompt" and not _advanced(params_type, n)]
            for n in main:
                widgets[n] = widget_for(params_type, n)
            advanced = [n for n in names if n != "prompt" and _advanced(params_type, n)]
            if advanced:
                with gr.Accordion("Advanced", open=False):
                    for n in advanced:
                        widgets[n] = widget_for(params_type, n)
        with gr.Column(scale=3, min_width=300):
            status = gr.Markdown("", elem_id="terrain-status")
            preview = gr.Image(label="Preview (hillshaded)", type="filepath", elem_id="terrain-preview", height=420)
            mesh = gr.Model3D(label="Mesh (GLB, vertex colours)", elem_id="terrain-mesh", height=360)
            files = gr.File(label="Downloads", file_count="multiple", elem_id="terrain-files")
            with gr.Accordion("Recipe", open=False):
                recipe = gr.JSON(label="Recipe")

    outputs = [preview, mesh, files, recipe, status]

    def body(values: dict[str, Any], progress: gr.Progress) -> Any:
        params = check_values(services, "terrain", values)
        for item in run_request(services, "terrain", params, progress):
            if isinstance(item, Result):
                yield (
                    _first(item, "preview", "image"),
                    _first(item, "model3d"),
                    _files(item),
                    item.recipe,
                    status_line(item),
                )
            else:
                # Yielding on each step lets Stop end the handler at the next step.
                yield tuple(gr.skip() for _ in outputs)

    handler = api_handler(names, body)
    event = generate.click(
        handler,
        inputs=[widgets[n] for n in names],
        outputs=outputs,
        api_name="terrain",
        concurrency_id="terrain",
        concurrency_limit=2,
    )
    submitted = widgets["prompt"].submit(
        handler, inputs=[widgets[n] for n in names], outputs=outputs, api_visibility="private", concurrency_id="terrain"
    )
    stop.click(None, cancels=[event, submitted], api_visibility="private")
    return {"prompt": widgets["prompt"], "widgets": widgets, "outputs": outputs, "generate": generate}


def _advanced(params_type: type, name: str) -> bool:
    return spec_of(params_type, name).advanced
