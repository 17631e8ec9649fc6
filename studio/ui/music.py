"""The Music tab: a prompt and sliders in; an audio player, a piano roll, MIDI/WAV downloads and "Extend" out.

The prompt sets style, key, metre, tempo and instrument in words; a menu you change (or the tempo slider, once
moved) wins over the prompt. "Extend" continues the last piece of this browser session by the chosen duration:
its MIDI goes back to the built-in model, its audio to MusicGen. The API endpoint ``/music`` takes the params'
field names; ``melody_audio`` and ``extend_from`` are files there (``gradio_client.handle_file``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components import Component

from studio.engine import Result
from studio.params import spec_of
from studio.services import Services
from studio.ui.common import (
    api_handler,
    api_widgets,
    auto_fields,
    check_values,
    file_path,
    follow_prompt,
    model_choices,
    number_widget,
    optional_files,
    path_of,
    prompt_follower,
    prompt_widget,
    read_upload,
    run_request,
    show_used_widgets,
    skips,
    status_line,
    widget_for,
)
from studio.ui.handles import Prepare, TabHandles

EXAMPLES = [
    "calm folk melody in D minor",
    "joyful chorale",
    "fast dance in 6/8",
    "gentle lullaby on the music box",
    "a sad waltz in F# minor on piano",
    "lively reel on the fiddle",
]
FILE_FIELDS = ("melody_audio", "extend_from")


@dataclass(frozen=True)
class _Inputs:
    widgets: dict[str, Component]  # params field name -> widget
    prompt: gr.Textbox
    generate: gr.Button
    extend: gr.Button
    stop: gr.Button
    melody: gr.Audio
    follow: gr.Button


@dataclass(frozen=True)
class _Outputs:
    status: gr.Markdown
    used: gr.Markdown  # the controls the piece was made with
    player: gr.Audio
    roll: gr.Image
    files: gr.File
    recipe: gr.JSON

    def results(self, last: gr.State) -> list[Component]:
        """The components a result fills, in the order ``_outputs_of`` gives their values."""
        return [self.player, self.roll, self.files, self.recipe, self.status, self.used, last]


@dataclass(frozen=True)
class _States:
    overridden: gr.State  # the prompt-following sliders the visitor set
    last: gr.State  # the last piece of this session, for Extend
    parents: gr.State  # recipe ids of outputs sent here from other tabs (lineage)


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
        "midi": path_of(result, "midi"),
        "wav": path_of(result, "audio"),
    }
    return (
        path_of(result, "audio"),
        path_of(result, "image"),
        files,
        result.recipe,
        status_line(result),
        summary,
        last,
    )


def _inputs(services: Services, params_type: type, plain: list[str]) -> _Inputs:
    widgets: dict[str, Component] = {}
    choices = model_choices(services, "music")
    widgets["prompt"] = prompt = prompt_widget(
        params_type, placeholder="e.g. calm folk melody in D minor", lines=2, max_lines=4
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
            label="Melody (MusicGen melody checkpoints)", type="filepath", sources=["upload"], elem_id="music-melody"
        )
    follow = gr.Button("Tempo follows the prompt", size="sm", elem_id="music-follow")
    return _Inputs(widgets, prompt, generate, extend, stop, melody, follow)


def _outputs() -> _Outputs:
    status = gr.Markdown("", elem_id="music-status")
    used = gr.Markdown("", elem_id="music-used")
    player = gr.Audio(label="Listen", type="filepath", interactive=False, elem_id="music-audio")
    roll = gr.Image(label="Piano roll", type="filepath", interactive=False, elem_id="music-roll", height=300)
    files = gr.File(label="Downloads (WAV, MIDI, piano roll, recipe)", file_count="multiple", elem_id="music-files")
    with gr.Accordion("Recipe", open=False):
        recipe = gr.JSON(label="Recipe")
    return _Outputs(status, used, player, roll, files, recipe)


def _listen_overrides(inputs: _Inputs, autos: list[str], overridden: gr.State) -> None:
    """A slider the visitor moves is theirs (the prompt no longer sets it) until "Tempo follows the prompt"."""
    for n in autos:

        def mark(ov: list[str], n: str = n) -> list[str]:
            return sorted({*ov, n})

        number_widget(inputs.widgets, n).input(mark, overridden, overridden, api_visibility="private", queue=False)
    inputs.follow.click(lambda: [], None, overridden, api_visibility="private", queue=False)


def _bodies(services: Services, autos: list[str], n_results: int) -> tuple[Callable[..., Any], ...]:
    """(Generate's handler body, Extend's, the API's)."""

    def run(values: dict[str, Any], parents: list[str], progress: gr.Progress) -> Iterator[tuple[Any, ...]]:
        params = check_values(services, "music", values)
        for item in run_request(services, "music", params, progress, parents=parents):
            if isinstance(item, Result):
                yield _outputs_of(item)
            elif item.kind == "preview" and item.data is not None:
                yield (gr.skip(), item.data, *skips(n_results - 2))
            else:
                yield skips(n_results)  # lets Stop end the handler at the next step

    def ui_values(values: dict[str, Any], ov: list[str], melody_path: str | None) -> dict[str, Any]:
        return {**follow_prompt(values, autos, ov), "melody_audio": read_upload(melody_path, "melody_audio")}

    def with_sliders(items: Iterator[tuple[Any, ...]], ov: list[str]) -> Iterator[tuple[Any, ...]]:
        """Append the values the prompt chose for the auto sliders the user did not set (shown after each run)."""
        for item in items:
            recipe = item[3]
            used = recipe.get("info", {}).get("settings", {}) if isinstance(recipe, dict) else {}
            yield (*item, *(used.get(n, gr.skip()) if n not in ov else gr.skip() for n in autos))

    def ui_body(
        values: dict[str, Any], ov: list[str], melody_path: str | None, lineage: list[str], progress: gr.Progress
    ) -> Iterator[tuple[Any, ...]]:
        yield from with_sliders(run(ui_values(values, ov, melody_path), lineage or [], progress), ov)

    def extend_body(
        values: dict[str, Any],
        ov: list[str],
        melody_path: str | None,
        lineage: list[str],
        prev: dict[str, Any] | None,
        progress: gr.Progress,
    ) -> Iterator[tuple[Any, ...]]:
        if not prev:
            raise gr.Error("Generate a piece first; Extend continues the last one.", title="Nothing to extend")
        values = ui_values(values, ov, melody_path)
        values["model"] = prev["model"]  # a piece is continued by the model that made it
        source = prev["midi"] if prev.get("kind") == "symbolic" else prev["wav"]
        values["extend_from"] = read_upload(source, "extend_from")
        yield from with_sliders(run(values, [prev["recipe_id"]], progress), ov)

    def api_body(
        values: dict[str, Any], melody_file: Any, extend_file: Any, progress: gr.Progress
    ) -> Iterator[tuple[Any, ...]]:
        values["melody_audio"] = read_upload(file_path(melody_file), "melody_audio")
        values["extend_from"] = read_upload(file_path(extend_file), "extend_from")
        for item in run(values, [], progress):
            yield item[:-1]  # the session's "last piece" is the browser's business

    return ui_body, extend_body, api_body


def _listen(
    services: Services,
    inputs: _Inputs,
    outputs: _Outputs,
    states: _States,
    api: tuple[list[Component], gr.Button],
    plain: list[str],
    autos: list[str],
) -> None:
    """Generate (button or Enter), Extend, the hidden ``/music`` endpoint, and Stop."""
    api_inputs, api_button = api
    results = outputs.results(states.last)
    ui_body, extend_body, api_body = _bodies(services, autos, len(results))
    targets = results + [inputs.widgets[n] for n in autos]
    ui_inputs = [*(inputs.widgets[n] for n in plain), states.overridden, inputs.melody, states.parents]
    ui_event = inputs.generate.click(
        api_handler(plain, ui_body, extra=["overridden", "melody", "parents"]),
        inputs=ui_inputs,
        outputs=targets,
        api_visibility="private",
        concurrency_id="gpu",
    )
    submitted = inputs.prompt.submit(
        api_handler(plain, ui_body, extra=["overridden", "melody", "parents"]),
        inputs=ui_inputs,
        outputs=targets,
        api_visibility="private",
        concurrency_id="gpu",
    )
    extended = inputs.extend.click(
        api_handler(plain, extend_body, extra=["overridden", "melody", "parents", "last"]),
        inputs=[*ui_inputs, states.last],
        outputs=targets,
        api_visibility="private",
        concurrency_id="gpu",
    )
    api_event = api_button.click(
        optional_files(api_handler(plain, api_body, extra=list(FILE_FIELDS)), FILE_FIELDS),
        inputs=api_inputs,
        outputs=results[:-1],
        api_name="music",
        concurrency_id="gpu",
    )
    inputs.stop.click(None, cancels=[ui_event, submitted, extended, api_event], api_visibility="private")


def build_music_tab(services: Services) -> TabHandles:
    """Build the tab's components and listeners; returns the handles the app and the history wire to."""
    params_type = services.studio.params_type("music")
    names = [f.name for f in dataclasses.fields(params_type)]
    plain = [n for n in names if n not in FILE_FIELDS]
    autos = auto_fields(params_type)
    states = _States(overridden=gr.State([]), last=gr.State(None), parents=gr.State([]))
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            inputs = _inputs(services, params_type, plain)
        with gr.Column(scale=3, min_width=300):
            outputs = _outputs()
    with gr.Row(visible=False):
        api_inputs = api_widgets(services, "music", plain)
        api_inputs += [gr.File(label=n, visible=False) for n in FILE_FIELDS]
        api_button = gr.Button(visible=False)

    show_used_widgets(services, "music", inputs.widgets)
    _listen_overrides(inputs, autos, states.overridden)
    _listen(services, inputs, outputs, states, (api_inputs, api_button), plain, autos)
    return TabHandles(
        modality="music",
        prompt=inputs.prompt,
        widgets=inputs.widgets,
        recipe=outputs.recipe,
        prepare=Prepare(prompt_follower(autos), [states.overridden]),
        parents=states.parents,
        overridden=states.overridden,
    )
