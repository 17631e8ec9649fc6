"""The Music tab: a prompt and sliders in; an audio player, a piano roll, MIDI/WAV downloads and "Extend" out.

The prompt sets style, key, metre, tempo and instrument in words; a menu you change (or the tempo slider, once
moved) wins over the prompt. "Extend" continues the last piece of this browser session by the chosen duration:
its MIDI goes back to the built-in model, its audio to MusicGen. The API endpoint ``/music`` takes the params'
field names; ``melody_audio`` and ``extend_from`` are files there (``gradio_client.handle_file``).
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import gradio as gr

from studio.engine import Result
from studio.params import spec_of
from studio.services import Services
from studio.ui.common import (
    api_handler,
    auto_fields,
    check_values,
    follow_prompt,
    run_request,
    show_used_widgets,
    status_line,
    widget_for,
)

EXAMPLES = [
    "calm folk melody in D minor",
    "joyful chorale",
    "fast dance in 6/8",
    "gentle lullaby on the music box",
    "a sad waltz in F# minor on piano",
    "lively reel on the fiddle",
]
FILE_FIELDS = ("melody_audio", "extend_from")
MAX_UPLOAD_MB = 20


def _path(result: Result, role: str) -> str | None:
    for a in result.by_role(role):
        return str(result.paths[a.name])
    return None


def _outputs_of(result: Result) -> tuple[Any, ...]:
    files = [str(p) for p in result.paths.values()]
    info = result.recipe.get("info", {})
    c = info.get("controls")
    used = f"**{c['style']}** · {c['key']} · {c['metre']} · {c['tempo_bpm']:g} BPM · {c['instrument']}" if c else ""
    words = ", ".join(c.get("prompt_words", [])) if c else ""
    summary = used + (f"  \nfrom the prompt: *{words}*" if words else "")
    last = {
        "recipe_id": result.recipe["id"],
        "model": result.recipe.get("model", {}).get("id", ""),
        "kind": info.get("kind", ""),
        "midi": _path(result, "midi"),
        "wav": _path(result, "audio"),
    }
    return (_path(result, "audio"), _path(result, "image"), files, result.recipe, status_line(result), summary, last)


def _read_upload(path: str | None, field: str) -> bytes:
    """Bytes of an uploaded file, refusing huge ones before reading them."""
    if not path:
        return b""
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_UPLOAD_MB * 1024 * 1024:
        raise gr.Error(f"{field}: the file is {size / 1e6:.0f} MB; at most {MAX_UPLOAD_MB} MB", title="Invalid input")
    return p.read_bytes()


def _model_choices(services: Services) -> list[tuple[str, str]]:
    return [(s.display, s.id) for s in services.catalog.models("music")]


def build_music_tab(services: Services) -> dict[str, Any]:
    """Build the tab's components and listeners; returns the handles the app and the history wire to."""
    params_type = services.studio.params_type("music")
    names = [f.name for f in dataclasses.fields(params_type)]
    plain = [n for n in names if n not in FILE_FIELDS]
    autos = auto_fields(params_type)
    widgets: dict[str, Any] = {}
    overridden = gr.State([])
    last = gr.State(None)  # the last piece of this session, for Extend
    parents = gr.State([])  # recipe ids of outputs sent here from other tabs (lineage)
    choices = _model_choices(services)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            widgets["prompt"] = widget_for(
                params_type, "prompt", placeholder="e.g. calm folk melody in D minor", lines=2, max_lines=4
            )
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id="music-generate")
                extend = gr.Button("Extend", elem_id="music-extend")
                stop = gr.Button("Stop", variant="stop", elem_id="music-stop")
            gr.Examples(EXAMPLES, inputs=[widgets["prompt"]], label="Try")
            widgets["model"] = gr.Dropdown(
                choices=choices,
                value=choices[0][1] if choices else None,
                label="Model",
                info="built-in symbolic model, or a MusicGen checkpoint from the HF cache / --model-dir",
                elem_id="musicparams-model",
            )
            for n in plain:
                if n not in ("prompt", "model") and not spec_of(params_type, n).advanced:
                    widgets[n] = widget_for(params_type, n)
            with gr.Accordion("Advanced", open=False):
                for n in plain:
                    if n not in ("prompt", "model") and spec_of(params_type, n).advanced:
                        widgets[n] = widget_for(params_type, n)
                melody = gr.Audio(
                    label="Melody (MusicGen melody checkpoints)",
                    type="filepath",
                    sources=["upload"],
                    elem_id="music-melody",
                )
            follow = gr.Button("Tempo follows the prompt", size="sm", elem_id="music-follow")
        with gr.Column(scale=3, min_width=300):
            status = gr.Markdown("", elem_id="music-status")
            used = gr.Markdown("", elem_id="music-used")
            player = gr.Audio(label="Listen", type="filepath", interactive=False, elem_id="music-audio")
            roll = gr.Image(label="Piano roll", type="filepath", interactive=False, elem_id="music-roll", height=300)
            files = gr.File(
                label="Downloads (WAV, MIDI, piano roll, recipe)", file_count="multiple", elem_id="music-files"
            )
            with gr.Accordion("Recipe", open=False):
                recipe = gr.JSON(label="Recipe")
    with gr.Row(visible=False):
        api_inputs = [widget_for(params_type, n, api_only=True) for n in plain]
        api_files = [gr.File(label=n, visible=False) for n in FILE_FIELDS]
        api_button = gr.Button(visible=False)

    outputs = [player, roll, files, recipe, status, used, last]
    show_used_widgets(services, "music", widgets)
    auto_widgets = [widgets[n] for n in autos]

    for n in autos:

        def mark(ov: list[str], n: str = n) -> list[str]:
            return sorted({*ov, n})

        widgets[n].input(mark, overridden, overridden, api_visibility="private", queue=False)
    follow.click(lambda: [], None, overridden, api_visibility="private", queue=False)

    def run(values: dict[str, Any], parents: list[str], progress: gr.Progress) -> Any:
        params = check_values(services, "music", values)
        for item in run_request(services, "music", params, progress, parents=parents):
            if isinstance(item, Result):
                yield _outputs_of(item)
            elif item.kind == "preview" and item.data is not None:
                yield (gr.skip(), item.data, *(gr.skip() for _ in outputs[2:]))
            else:
                yield tuple(gr.skip() for _ in outputs)  # lets Stop end the handler at the next step

    def prepare(values: dict[str, Any], ov: list[str]) -> dict[str, Any]:
        return follow_prompt(values, autos, ov)

    def ui_values(values: dict[str, Any], ov: list[str], melody_path: str | None) -> dict[str, Any]:
        return {**prepare(values, ov), "melody_audio": _read_upload(melody_path, "melody_audio")}

    def with_sliders(items: Any, ov: list[str]) -> Any:
        """Append the values the prompt chose for the auto sliders the user did not set (shown after each run)."""
        for item in items:
            recipe = item[3]
            used = recipe.get("info", {}).get("settings", {}) if isinstance(recipe, dict) else {}
            yield (*item, *(used.get(n, gr.skip()) if n not in ov else gr.skip() for n in autos))

    def ui_body(
        values: dict[str, Any], ov: list[str], melody_path: str | None, lineage: list[str], progress: gr.Progress
    ) -> Any:
        yield from with_sliders(run(ui_values(values, ov, melody_path), lineage or [], progress), ov)

    def extend_body(
        values: dict[str, Any],
        ov: list[str],
        melody_path: str | None,
        lineage: list[str],
        prev: dict[str, Any] | None,
        progress: gr.Progress,
    ) -> Any:
        if not prev:
            raise gr.Error("Generate a piece first; Extend continues the last one.", title="Nothing to extend")
        values = ui_values(values, ov, melody_path)
        values["model"] = prev["model"]  # a piece is continued by the model that made it
        source = prev["midi"] if prev.get("kind") == "symbolic" else prev["wav"]
        values["extend_from"] = _read_upload(source, "extend_from")
        yield from with_sliders(run(values, [prev["recipe_id"]], progress), ov)

    def api_body(values: dict[str, Any], melody_file: Any, extend_file: Any, progress: gr.Progress) -> Any:
        values["melody_audio"] = _read_upload(_file_path(melody_file), "melody_audio")
        values["extend_from"] = _read_upload(_file_path(extend_file), "extend_from")
        for item in run(values, [], progress):
            yield item[:-1]  # the session's "last piece" is the browser's business

    ui_inputs = [*(widgets[n] for n in plain), overridden, melody, parents]
    ui_event = generate.click(
        api_handler(plain, ui_body, extra=["overridden", "melody", "parents"]),
        inputs=ui_inputs,
        outputs=outputs + auto_widgets,
        api_visibility="private",
        concurrency_id="gpu",
    )
    submitted = widgets["prompt"].submit(
        api_handler(plain, ui_body, extra=["overridden", "melody", "parents"]),
        inputs=ui_inputs,
        outputs=outputs + auto_widgets,
        api_visibility="private",
        concurrency_id="gpu",
    )
    extended = extend.click(
        api_handler(plain, extend_body, extra=["overridden", "melody", "parents", "last"]),
        inputs=[*ui_inputs, last],
        outputs=outputs + auto_widgets,
        api_visibility="private",
        concurrency_id="gpu",
    )
    api_event = api_button.click(
        _optional_files(api_handler(plain, api_body, extra=list(FILE_FIELDS))),
        inputs=[*api_inputs, *api_files],
        outputs=outputs[:-1],
        api_name="music",
        concurrency_id="gpu",
    )
    stop.click(None, cancels=[ui_event, submitted, extended, api_event], api_visibility="private")
    return {
        "prompt": widgets["prompt"],
        "widgets": {n: w for n, w in widgets.items()},
        "recipe": recipe,
        "generate": generate,
        "parents": parents,  # a gr.State other tabs set when they send something here
        "overridden": overridden,  # the sliders the visitor set (restoring a recipe sets it too)
        "prepare": (prepare, [overridden]),  # widget values -> request values, for the sweep
        "events": [ui_event, submitted, extended, api_event],
    }


def _optional_files(handler: Any) -> Any:
    """Give the file parameters a default of None, so API clients may leave them out (Gradio reads the signature)."""
    sig = inspect.signature(handler)
    params = [p.replace(default=None) if p.name in FILE_FIELDS else p for p in sig.parameters.values()]
    handler.__signature__ = sig.replace(parameters=params)
    return handler


def _file_path(value: Any) -> str | None:
    """A gr.File value (a path string, or a dict with "path") as a path."""
    if isinstance(value, dict):
        return value.get("path")
    return str(value) if value else None
