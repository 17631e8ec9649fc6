"""The Image tab: prompt and settings in; a live preview, a gallery of PNGs (recipe inside) and downloads out.

Modes: text-to-image, image-to-image (an init image) and inpainting (paint over the init image in the editor:
painted = repaint). "Compare built-ins" runs the three built-in models (diffusion, GAN, VAE) on one prompt and
seed, side by side. The API endpoint ``/image`` takes the params' field names as keywords; ``init_image`` and
``mask_image`` are files there (``gradio_client.handle_file``), both optional.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components import Component

from studio.engine import Result
from studio.generators.image.upload import mask_of_layers
from studio.params import SEED_MAX, ParamError, spec_of
from studio.services import Services
from studio.ui.common import (
    api_handler,
    api_widgets,
    check_values,
    file_path,
    model_choices,
    optional_files,
    prompt_widget,
    read_upload,
    run_request,
    show_used_widgets,
    skips,
    status_line,
    widget_for,
)
from studio.ui.fields import checked_editor
from studio.ui.handles import Prepare, TabHandles

EXAMPLES = ["red apple", "smiling face", "rocket", "heart", "dog"]
FILE_FIELDS = ("init_image", "mask_image")
SIZE_FIELDS = ("width", "height")
BUILTINS = ("emoji-diffusion", "emoji-gan", "emoji-vae")


@dataclass(frozen=True)
class _Inputs:
    widgets: dict[str, Component]  # params field name -> widget
    prompt: gr.Textbox
    mode: gr.Radio
    generate: gr.Button
    stop: gr.Button
    editor: gr.ImageEditor  # the init image (img2img), and the mask painted over it (inpaint)


@dataclass(frozen=True)
class _Outputs:
    status: gr.Markdown
    preview: gr.Image  # the live preview while the model denoises
    gallery: gr.Gallery
    files: gr.File
    send_row: gr.Row
    recipe: gr.JSON

    def results(self) -> list[Component]:
        """The components a result fills, in the order ``_outputs_of`` gives their values."""
        return [self.gallery, self.files, self.recipe, self.status]


@dataclass(frozen=True)
class _Compare:
    button: gr.Button
    images: list[gr.Image]  # one per built-in model
    status: gr.Markdown

    def results(self) -> list[Component]:
        return [*self.images, self.status]


def _images(result: Result) -> list[tuple[str, str]]:
    """(path, caption) of each picture: its seed, and its drawing style when the model chose or was given one."""
    info = result.recipe.get("info", {})
    seeds = info.get("seeds", [])
    styles = info.get("styles") or [""] * len(seeds)
    paths = [str(result.paths[a.name]) for a in result.by_role("image")]
    captions = [f"seed {s}" + (f" · {st}" if st else "") for s, st in zip(seeds, styles, strict=False)]
    return list(zip(paths, captions, strict=False)) or [(p, "") for p in paths]


def _outputs_of(result: Result) -> tuple[Any, ...]:
    files = [str(p) for p in result.paths.values()]
    return (_images(result), files, result.recipe, status_line(result))


def _editor_files(value: Any) -> tuple[bytes, bytes]:
    """(init image bytes, mask bytes) from an ImageEditor value: the background, and the painted layers' alpha.

    Only bytes are read here; every layer is checked by its header before it is decoded (``mask_of_layers``), and
    the background by the generator, like any init image."""
    if not isinstance(value, dict) or not value.get("background"):
        return b"", b""
    init = read_upload(file_path(value["background"]), "init_image")
    layers = [read_upload(p, "mask_image") for p in (file_path(v) for v in value.get("layers") or []) if p]
    try:
        return init, mask_of_layers("mask_image", layers)
    except ParamError as exc:
        raise gr.Error(str(exc), title="Invalid input") from None


def prepare(values: dict[str, Any]) -> dict[str, Any]:
    """The request's values: a size of 0 is the model's own size (None)."""
    return {**values, **{n: values.get(n) or None for n in SIZE_FIELDS}}


def _size_widgets(params_type: type) -> dict[str, Component]:
    widgets: dict[str, Component] = {}
    with gr.Row():
        for n in SIZE_FIELDS:
            spec = spec_of(params_type, n)
            # The browser sends an empty Number as 0, so 0 stands for "the model's own size" here.
            widgets[n] = gr.Number(
                value=0,
                label=spec.label,
                info="0 = the model's own size (128 for the built-ins, 512 for SD 1.5)",
                precision=0,
                minimum=0,
                maximum=spec.max,
                step=spec.step or 8,
                elem_id=f"imageparams-{n}",
            )
    return widgets


def _inputs(services: Services, params_type: type) -> _Inputs:
    choices = model_choices(services, "image")
    widgets: dict[str, Component] = {}
    widgets["prompt"] = prompt = prompt_widget(params_type, placeholder="e.g. red apple", lines=2, max_lines=4)
    widgets["negative_prompt"] = widget_for(params_type, "negative_prompt")
    with gr.Row():
        generate = gr.Button("Generate", variant="primary", elem_id="image-generate")
        stop = gr.Button("Stop", variant="stop", elem_id="image-stop")
    gr.Examples(EXAMPLES, inputs=[prompt], label="Try")
    widgets["model"] = gr.Dropdown(
        choices=choices,
        value=choices[0][1] if choices else None,
        label="Model",
        info="the built-in models, or a diffusers checkpoint from the HF cache / --model-dir",
        elem_id="imageparams-model",
    )
    widgets["style"] = widget_for(params_type, "style")
    widgets["mode"] = mode = gr.Radio(
        choices=list(spec_of(params_type, "mode").choices or ()),
        value="txt2img",
        label="Mode",
        info="img2img / inpaint: upload a picture below; for inpaint, paint what to redraw",
        elem_id="imageparams-mode",
    )
    editor = checked_editor(
        gr.ImageEditor(
            label="Init image (img2img) · paint the mask (inpaint)",
            type="filepath",
            sources=("upload", "clipboard"),
            layers=True,
            visible=False,
            elem_id="image-editor",
            height=320,
        ),
        "init_image",
        "mask_image",
    )
    for n in ("scheduler", "num_steps", "guidance_scale", "num_images", "seed"):
        widgets[n] = widget_for(params_type, n)
    widgets.update(_size_widgets(params_type))
    with gr.Accordion("Advanced", open=False):
        for n in ("strength", "interpolate_seed"):
            widgets[n] = widget_for(params_type, n)
    return _Inputs(widgets, prompt, mode, generate, stop, editor)


def _outputs() -> tuple[_Outputs, _Compare]:
    status = gr.Markdown("", elem_id="image-status")
    preview = gr.Image(label="Live preview", type="pil", interactive=False, height=160, elem_id="image-preview")
    gallery = gr.Gallery(
        label="Images (PNG with the recipe inside)",
        columns=4,
        fit_columns=False,  # one picture stays a thumbnail (Gradio 6 stretches it to the full width)
        height=380,
        object_fit="contain",
        interactive=False,
        buttons=["download", "fullscreen"],
        format="png",
        elem_id="image-gallery",
    )
    files = gr.File(label="Downloads (PNG, recipe)", file_count="multiple", elem_id="image-files")
    send_row = gr.Row()  # "send to" buttons go here once every tab is built (ui/send.py)
    with gr.Accordion("Recipe", open=False):
        recipe = gr.JSON(label="Recipe")
    with gr.Accordion("Compare the built-in models", open=False):
        gr.Markdown("Diffusion, GAN and VAE on the prompt above, with one seed, side by side.")
        button = gr.Button("Compare built-ins", elem_id="image-compare")
        with gr.Row():
            images = [
                gr.Image(label=kind, type="filepath", interactive=False, height=200, elem_id=f"compare-{kind}")
                for kind in BUILTINS
            ]
        compare_status = gr.Markdown("", elem_id="image-compare-status")
    return _Outputs(status, preview, gallery, files, send_row, recipe), _Compare(button, images, compare_status)


def _compare_body(services: Services) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """The handler body of "Compare built-ins": each built-in model on the same prompt and seed."""

    def compare_body(values: dict[str, Any], progress: gr.Progress) -> Iterator[tuple[Any, ...]]:
        values = prepare(values)
        available = {s.id for s in services.catalog.models("image")}
        seed = values.get("seed")
        if seed is None or int(seed) < 0:
            seed = secrets.randbelow(SEED_MAX)  # one seed for all three
        cells: list[Any] = [None] * len(BUILTINS)
        notes = []
        for i, kind in enumerate(BUILTINS):
            if kind not in available:
                notes.append(f"{kind}: not installed")
                continue
            one = {**values, "model": kind, "seed": int(seed), "num_images": 1, "mode": "txt2img"}
            one.update(init_image=b"", mask_image=b"", interpolate_seed=-1)
            params = check_values(services, "image", one)
            for item in run_request(services, "image", params, progress):
                if isinstance(item, Result):
                    cells[i] = _images(item)[0][0]
                    notes.append(f"{kind}: {item.elapsed_s:.2f} s{' (cache)' if item.from_cache else ''}")
                    yield (*cells, f"seed {seed} · " + " · ".join(notes))
                else:
                    yield skips(len(BUILTINS) + 1)
        yield (*cells, f"seed {seed} · " + " · ".join(notes))

    return compare_body


def _bodies(services: Services, n_results: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(Generate's handler body, the API's): results, then (page only) the live preview."""

    def run(values: dict[str, Any], progress: gr.Progress, lineage: list[str] | None = None) -> Iterator[Any]:
        params = check_values(services, "image", values)
        for item in run_request(services, "image", params, progress, parents=lineage or []):
            if isinstance(item, Result):
                yield (*_outputs_of(item), None)  # the preview has done its job once the images are in
            elif item.kind == "preview" and item.data is not None:
                yield (*skips(n_results), item.data)
            else:
                yield skips(n_results + 1)  # lets Stop end the handler at the next step

    def ui_body(values: dict[str, Any], editor_value: Any, lineage: list[str], progress: gr.Progress) -> Any:
        values = prepare(values)
        init, mask = _editor_files(editor_value) if values.get("mode") != "txt2img" else (b"", b"")
        values["init_image"], values["mask_image"] = init, mask
        yield from run(values, progress, lineage)

    def api_body(values: dict[str, Any], init_file: Any, mask_file: Any, progress: gr.Progress) -> Any:
        values["init_image"] = read_upload(file_path(init_file), "init_image")
        values["mask_image"] = read_upload(file_path(mask_file), "mask_image")
        for item in run(values, progress):
            yield item[:n_results]

    return ui_body, api_body


def _listen(
    services: Services,
    inputs: _Inputs,
    outputs: _Outputs,
    compare: _Compare,
    parents: gr.State,
    api: tuple[list[Component], gr.Button, gr.Button],
    plain: list[str],
) -> None:
    """The editor's visibility, Generate (button or Enter), Compare, the hidden endpoints, and Stop."""
    api_inputs, api_button, compare_button = api
    results = outputs.results()
    ui_body, api_body = _bodies(services, len(results))
    compare_body = _compare_body(services)
    inputs.mode.change(
        lambda mode: gr.ImageEditor(visible=mode != "txt2img"),
        inputs.mode,
        inputs.editor,
        api_visibility="private",
        queue=False,
    )
    ui_inputs = [*(inputs.widgets[n] for n in plain), inputs.editor, parents]
    ui_event = inputs.generate.click(
        api_handler(plain, ui_body, extra=["editor", "parents"]),
        inputs=ui_inputs,
        outputs=[*results, outputs.preview],
        api_visibility="private",
        concurrency_id="gpu",
    )
    submitted = inputs.prompt.submit(
        api_handler(plain, ui_body, extra=["editor", "parents"]),
        inputs=ui_inputs,
        outputs=[*results, outputs.preview],
        api_visibility="private",
        concurrency_id="gpu",
    )
    compared = compare.button.click(
        api_handler(plain, compare_body),
        inputs=[inputs.widgets[n] for n in plain],
        outputs=compare.results(),
        api_visibility="private",
        concurrency_id="gpu",
    )
    api_event = api_button.click(
        optional_files(api_handler(plain, api_body, extra=list(FILE_FIELDS)), FILE_FIELDS),
        inputs=api_inputs,
        outputs=results,
        api_name="image",
        concurrency_id="gpu",
    )
    api_compare = compare_button.click(
        api_handler(plain, compare_body),
        inputs=api_inputs[: len(plain)],
        outputs=compare.results(),
        api_name="image_compare",
        concurrency_id="gpu",
    )
    inputs.stop.click(None, cancels=[ui_event, submitted, compared, api_event, api_compare], api_visibility="private")


def build_image_tab(services: Services) -> TabHandles:
    """Build the tab's components and listeners; returns the handles the app and the history wire to."""
    params_type = services.studio.params_type("image")
    names = [f.name for f in dataclasses.fields(params_type)]
    plain = [n for n in names if n not in FILE_FIELDS]
    parents = gr.State([])  # recipe ids of outputs sent here from other tabs (lineage)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            inputs = _inputs(services, params_type)
        with gr.Column(scale=3, min_width=320):
            outputs, compare = _outputs()
    with gr.Row(visible=False):
        api_inputs = api_widgets(services, "image", plain)
        api_inputs += [gr.File(label=n, visible=False) for n in FILE_FIELDS]
        api_button = gr.Button(visible=False)
        compare_button = gr.Button(visible=False)

    show_used_widgets(services, "image", inputs.widgets)
    _listen(services, inputs, outputs, compare, parents, (api_inputs, api_button, compare_button), plain)
    return TabHandles(
        modality="image",
        prompt=inputs.prompt,
        widgets=inputs.widgets,
        recipe=outputs.recipe,
        prepare=Prepare(prepare),
        parents=parents,
        send_row=outputs.send_row,
        editor=inputs.editor,
    )
