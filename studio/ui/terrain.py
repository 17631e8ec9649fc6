"""The Terrain tab: a prompt and sliders in, a hillshaded preview, a 3D mesh and game-ready heightmaps out.

The prompt sets the look; a slider you move overrides what the prompt set for that one setting (it is marked
"yours" until you press "Sliders follow the prompt"). After each run the sliders you did not touch show the values
the prompt chose. The API endpoint ``/terrain`` takes the same names; a slider left out there follows the prompt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr
from gradio.components import Component

from studio.engine import Result
from studio.generators.terrain.objects.assets import KINDS as OBJECT_KINDS
from studio.params import spec_of
from studio.services import Services
from studio.ui.common import (
    api_handler,
    auto_fields,
    check_values,
    file_path,
    follow_prompt,
    number_widget,
    optional_files,
    path_of,
    prompt_follower,
    prompt_widget,
    read_upload,
    run_request,
    skips,
    status_line,
    widget_for,
)
from studio.ui.fields import checked_editor
from studio.ui.handles import OverridesNote, Prepare, TabHandles

EXAMPLES = [
    "snowy jagged mountains with a lake",
    "gentle green hills",
    "desert canyon",
    "volcanic island",
    "archipelago",
]
QUEUE = "terrain"  # CPU work: its own queue, not the GPU's
LOUD_CAP = 1_000_000  # objects asked for above which the status line says they were capped (the recipe always does)
FILE_FIELDS = ("sketch",)  # params given as files (the API) or painted (the page), not as widget values


@dataclass(frozen=True)
class _Inputs:
    widgets: dict[str, Component]  # params field name -> widget
    prompt: gr.Textbox
    generate: gr.Button
    stop: gr.Button
    follow: gr.Button
    yours: gr.Markdown  # which sliders the visitor set
    sketch: gr.ImageEditor  # the painted map (the ``sketch`` param's bytes come from its composite)


@dataclass(frozen=True)
class _Outputs:
    status: gr.Markdown
    preview: gr.Image
    mesh: gr.Model3D
    mesh_path: gr.State  # the page's handler fills this; a plain step then hands it to ``mesh`` (see _show_mesh)
    files: gr.File
    send_row: gr.Row
    recipe: gr.JSON

    def results(self) -> list[Component]:
        """The components a result fills, in the order ``_outputs_of`` gives their values."""
        return [self.preview, self.mesh, self.files, self.recipe, self.status]

    def page_results(self) -> list[Component]:
        """The same for the page's own events: the mesh goes through ``mesh_path`` (see ``_show_mesh``)."""
        return [self.preview, self.mesh_path, self.files, self.recipe, self.status]


def _outputs_of(result: Result) -> tuple[Any, ...]:
    files = [str(p) for p in result.paths.values()]
    status = status_line(result)
    info = result.recipe.get("info", {})
    notes = info.get("objects_capped") or []
    if notes and info.get("objects_asked", 0) >= LOUD_CAP:  # millions asked for: say which field was capped
        status += "  \n" + "; ".join(str(n) for n in notes)
    return (path_of(result, "image"), path_of(result, "model3d"), files, result.recipe, status)


def describe(params_type: type, overridden: list[str]) -> str:
    """The line naming the sliders the visitor set."""
    if not overridden:
        return "Every slider follows the prompt."
    labels = ", ".join(spec_of(params_type, n).label or n for n in overridden)
    return f"Set by you (the prompt no longer changes them): **{labels}**"


def _inputs(params_type: type, names: list[str]) -> _Inputs:
    widgets: dict[str, Component] = {}
    widgets["prompt"] = prompt = prompt_widget(
        params_type, placeholder="e.g. snowy jagged mountains with a lake", lines=2, max_lines=4
    )
    with gr.Row():
        generate = gr.Button("Generate", variant="primary", elem_id="terrain-generate")
        stop = gr.Button("Stop", variant="stop", elem_id="terrain-stop")
    gr.Examples(EXAMPLES, inputs=[widgets["prompt"]], label="Try")
    for n in names:
        if n == "object_kinds":
            widgets[n] = _kinds_widget(params_type)
        elif n != "prompt" and not spec_of(params_type, n).advanced:
            widgets[n] = widget_for(params_type, n)
    with gr.Accordion("Advanced", open=False):
        for n in names:
            if n != "prompt" and spec_of(params_type, n).advanced:
                widgets[n] = widget_for(params_type, n)
    with gr.Accordion("Sketch (optional)", open=False):
        sketch = _sketch_editor()
    follow = gr.Button("Sliders follow the prompt", size="sm", elem_id="terrain-follow")
    yours = gr.Markdown("Every slider follows the prompt.", elem_id="terrain-overrides")
    return _Inputs(widgets, prompt, generate, stop, follow, yours, sketch)


def _sketch_editor() -> gr.ImageEditor:
    """A canvas to paint the rough map on (or a picture to upload): grey heights, blue water, green forest."""
    brush = gr.Brush(colors=["#ffffff", "#a0a0a0", "#505050", "#000000", "#2f6fe0", "#2e9e3a"], default_color="#ffffff")
    editor = gr.ImageEditor(
        label="white high · black low · blue water · green forest",  # short: the toolbar covers a long one
        type="filepath",
        sources=("upload", "clipboard"),
        canvas_size=(512, 512),
        brush=brush,
        elem_id="terrain-sketch",
        height=360,
    )
    return checked_editor(editor, "sketch", "sketch")


def sketch_bytes(value: Any) -> bytes:
    """The sketch's PNG bytes from an ImageEditor value (the composite of background and brush layers), or b""
    when nothing was uploaded or painted."""
    if not isinstance(value, dict) or not (value.get("background") or value.get("layers")):
        return b""
    return read_upload(file_path(value.get("composite")), "sketch")


def _kinds_widget(params_type: type) -> gr.CheckboxGroup:
    """Tick boxes for the kinds of object (none ticked: the prompt chooses)."""
    spec = spec_of(params_type, "object_kinds")
    return gr.CheckboxGroup(
        choices=list(OBJECT_KINDS), value=[], label=spec.label, info=spec.info, elem_id="terrainparams-object_kinds"
    )


def _outputs() -> _Outputs:
    status = gr.Markdown("", elem_id="terrain-status")
    preview = gr.Image(
        label="Preview (hillshaded)", type="filepath", interactive=False, elem_id="terrain-preview", height=420
    )
    mesh = gr.Model3D(label="3D scene (GLB)", elem_id="terrain-mesh", height=360)
    mesh_path = gr.State(None)
    files = gr.File(label="Downloads", file_count="multiple", elem_id="terrain-files")
    send_row = gr.Row()  # "send to" buttons go here once every tab is built (ui/send.py)
    with gr.Accordion("Recipe", open=False):
        recipe = gr.JSON(label="Recipe")
    return _Outputs(status, preview, mesh, mesh_path, files, send_row, recipe)


def _listen_overrides(inputs: _Inputs, autos: list[str], overridden: gr.State, note: OverridesNote) -> None:
    """A slider the visitor moves is theirs (the prompt no longer sets it) until "Sliders follow the prompt"."""
    for n in autos:

        def mark(ov: list[str], n: str = n) -> tuple[list[str], str]:
            ov = sorted({*ov, n})
            return ov, note.describe(ov)

        number_widget(inputs.widgets, n).input(
            mark, overridden, [overridden, note.box], api_visibility="private", queue=False
        )
    inputs.follow.click(
        lambda: ([], note.describe([])), None, [overridden, note.box], api_visibility="private", queue=False
    )


def _bodies(services: Services, autos: list[str], n_results: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(the page's handler body, the API's): a result's outputs, then (page only) the sliders the prompt chose."""

    def run(values: dict[str, Any], progress: gr.Progress, lineage: list[str] | None = None) -> Iterator[Any]:
        params = check_values(services, "terrain", values)
        for item in run_request(services, "terrain", params, progress, parents=lineage or []):
            yield item if isinstance(item, Result) else None  # None lets Stop end the handler at the next step

    def api_body(values: dict[str, Any], sketch: Any, progress: gr.Progress) -> Iterator[Any]:
        # Only the result is yielded: a gr.skip() tick makes Gradio 6.31 keep a per-session copy of each output,
        # and the value after it files that copy again under a new id, so an API client's session grew by five
        # components (~70 KB) per request for as long as it lived. Progress still reaches the client.
        values["sketch"] = read_upload(file_path(sketch), "sketch")
        for item in run(values, progress):
            if item is not None:
                yield _outputs_of(item)

    def ui_body(
        values: dict[str, Any], editor: Any, ov: list[str], lineage: list[str], progress: gr.Progress
    ) -> Iterator[Any]:
        values = {**follow_prompt(values, autos, ov), "sketch": sketch_bytes(editor)}
        for item in run(values, progress, lineage):
            if item is None:
                yield skips(n_results + len(autos))
                continue
            used = item.recipe.get("info", {}).get("settings", {})
            slider_values = tuple(used.get(n, gr.skip()) if n not in ov else gr.skip() for n in autos)
            yield _outputs_of(item) + slider_values

    return ui_body, api_body


def _listen(
    services: Services,
    inputs: _Inputs,
    outputs: _Outputs,
    states: tuple[gr.State, gr.State],
    api: tuple[list[Component], gr.Button],
    names: list[str],
    autos: list[str],
) -> None:
    """Generate (button or Enter), the hidden ``/terrain`` endpoint, and Stop."""
    overridden, parents = states
    api_inputs, api_button = api
    results = outputs.results()
    ui_body, api_body = _bodies(services, autos, len(results))
    targets = outputs.page_results() + [inputs.widgets[n] for n in autos]
    ui_inputs = [*(inputs.widgets[n] for n in names), inputs.sketch, overridden, parents]
    ui_event = inputs.generate.click(
        api_handler(names, ui_body, extra=["sketch", "overridden", "parents"]),
        inputs=ui_inputs,
        outputs=targets,
        api_visibility="private",
        concurrency_id=QUEUE,
        concurrency_limit=2,
    )
    submitted = inputs.prompt.submit(
        api_handler(names, ui_body, extra=["sketch", "overridden", "parents"]),
        inputs=ui_inputs,
        outputs=targets,
        api_visibility="private",
        concurrency_id=QUEUE,
    )
    api_event = api_button.click(
        optional_files(api_handler(names, api_body, extra=list(FILE_FIELDS)), FILE_FIELDS),
        inputs=api_inputs,
        outputs=results,
        api_name="terrain",
        concurrency_id=QUEUE,
    )
    inputs.stop.click(None, cancels=[ui_event, submitted, api_event], api_visibility="private")
    for event in (ui_event, submitted):
        _show_mesh(event, outputs)


def _show_mesh(event: Any, outputs: _Outputs) -> None:
    """Hand the new GLB to the 3D viewer once, from a plain (non-generator) step after the run.

    Gradio 6.31's Model3D loads its Babylon canvas lazily and drops that load when its value is set again before
    the load finishes, keeping only the download link. A generator handler sets every output twice (its last
    yield, then the completion message repeats it), so a viewer fed by the run itself never got a canvas.
    """
    event.success(lambda path: path, outputs.mesh_path, outputs.mesh, api_visibility="private", queue=False)


def build_terrain_tab(services: Services) -> TabHandles:
    """Build the tab's components and listeners; returns the handles other parts of the app wire to."""
    params_type = services.studio.params_type("terrain")
    names = [f.name for f in dataclasses.fields(params_type) if f.name not in FILE_FIELDS]
    autos = auto_fields(params_type)
    overridden = gr.State([])
    parents = gr.State([])  # recipe ids of outputs sent here from other tabs (lineage)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            inputs = _inputs(params_type, names)
        with gr.Column(scale=3, min_width=300):
            outputs = _outputs()
    with gr.Row(visible=False):
        api_inputs = [widget_for(params_type, n, api_only=True) for n in names]
        api_inputs += [gr.File(label=n, visible=False) for n in FILE_FIELDS]
        api_button = gr.Button(visible=False)

    note = OverridesNote(inputs.yours, partial(describe, params_type))
    _listen_overrides(inputs, autos, overridden, note)
    _listen(services, inputs, outputs, (overridden, parents), (api_inputs, api_button), names, autos)
    return TabHandles(
        modality="terrain",
        prompt=inputs.prompt,
        widgets=inputs.widgets,
        recipe=outputs.recipe,
        prepare=Prepare(prompt_follower(autos), [overridden]),
        parents=parents,
        overridden=overridden,
        overrides_note=note,
        send_row=outputs.send_row,
        queue=QUEUE,
    )
