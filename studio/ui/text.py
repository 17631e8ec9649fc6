"""The Text tab: chat or completion with a local language model, streamed token by token, with presets and a prompt
helper that writes prompts for the Image, Music and Terrain tabs.

The chat so far lives in this browser session's ``gr.State`` (never on the server, never shared); each request
sends it as the ``history`` parameter, so the same question after the same conversation with the same seed comes
back from the cache. Stop ends generation at the next token and keeps what was written. Every reply can be
downloaded as Markdown with its recipe. The API endpoint ``/text`` takes the parameter names of ``TextParams``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components import Component

from studio.engine import Result
from studio.generators.text.prompts import HELPER_TARGETS, preset, recent_history
from studio.services import Services
from studio.ui.common import (
    api_handler,
    api_widgets,
    check_values,
    model_choices,
    prompt_widget,
    run_request,
    skips,
    status_line,
    typed_widget,
    widget_for,
)
from studio.ui.handles import Prepare, TabHandles

EXAMPLES = [
    "What is the capital of France?",
    "Write a haiku about autumn leaves.",
    "Explain what a hash table is in two sentences.",
    "Give me three names for a pet turtle.",
]
SLIDERS = ("temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens")
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", ",": ","}


def parse_stop_text(text: Any) -> list[str]:
    r"""Stop strings from the box: comma-separated, with ``\n``, ``\t``, ``\,`` and ``\\`` escapes.

    A list (an API client sending JSON) is taken as it is. Empty items are kept, so the server says they are not
    allowed rather than dropping them silently.
    """
    if isinstance(text, (list, tuple)):
        return [str(s) for s in text]
    if not isinstance(text, str) or not text.strip():
        return []
    items, current, i = [], "", 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in ESCAPES:
            current += ESCAPES[text[i + 1]]
            i += 2
            continue
        if ch == ",":
            items.append(current)
            current = ""
        else:
            current += ch
        i += 1
    items.append(current)
    return [s.strip(" ") if s.strip(" ") else s for s in items]


def _is_helper(preset_name: str) -> bool:
    p = preset(preset_name)
    return p is not None and bool(p.target)


def _layout(mode: str, preset_name: str) -> tuple[Any, Any, Any]:
    """Visibility of the chat view, the plain output box and the send-to row for this mode and preset."""
    helper = _is_helper(preset_name)
    chat = mode == "chat" and not helper
    return gr.update(visible=chat), gr.update(visible=not chat), gr.update(visible=helper)


@dataclass(frozen=True)
class _Outputs:
    chatbot: gr.Chatbot  # the chat view (chat mode)
    chat_state: gr.State  # this session's conversation: [{"role", "content"}, ...]
    output: gr.Textbox  # the plain output box (completion, prompt helpers)
    send_row: gr.Row
    send_buttons: dict[str, gr.Button]  # target modality -> "Send to" button
    status: gr.Markdown
    download: gr.File
    recipe: gr.JSON

    def results(self) -> list[Component]:
        """What the page's handler fills, in the order it yields."""
        return [self.chatbot, self.chat_state, self.output, self.status, self.download, self.recipe]


@dataclass(frozen=True)
class _PromptBox:
    prompt: gr.Textbox
    generate: gr.Button
    stop: gr.Button
    clear: gr.Button


@dataclass(frozen=True)
class _Settings:
    mode: gr.Radio
    preset: gr.Dropdown
    system_prompt: gr.Textbox
    stop_box: gr.Textbox  # the stop strings, as text


def _conversation(services: Services) -> tuple[gr.Chatbot, gr.Textbox, gr.Row, dict[str, gr.Button]]:
    """The chat view, the plain output box and the prompt helper's "Send to" row above the prompt."""
    chatbot = gr.Chatbot(
        label="Chat", height=420, elem_id="text-chat", buttons=["copy", "copy_all"], feedback_options=None
    )
    output = gr.Textbox(label="Output", lines=12, max_lines=30, visible=False, elem_id="text-output", buttons=["copy"])
    with gr.Row(visible=False, elem_id="text-send-row") as send_row:
        send_buttons = {
            t: gr.Button(f"Send to {t.title()}", size="sm", elem_id=f"text-send-{t}")
            for t in HELPER_TARGETS
            if t in services.studio.generators
        }
    return chatbot, output, send_row, send_buttons


def _prompt_box(params_type: type, widgets: dict[str, Component]) -> _PromptBox:
    prompt = prompt_widget(params_type, lines=3, max_lines=12, placeholder="Ask something, or paste text to continue")
    widgets["prompt"] = prompt
    with gr.Row():
        generate = gr.Button("Generate", variant="primary", elem_id="text-generate")
        stop = gr.Button("Stop", variant="stop", elem_id="text-stop")
        clear = gr.Button("New chat", elem_id="text-clear")
    gr.Examples(EXAMPLES, inputs=[prompt], label="Try")
    return _PromptBox(prompt, generate, stop, clear)


def _settings(services: Services, params_type: type, widgets: dict[str, Component]) -> _Settings:
    """The settings column: mode, preset, model and sliders; adds each params widget to ``widgets``."""
    choices = model_choices(services, "text")
    widgets["mode"] = mode = gr.Radio(
        ["chat", "complete"],
        value="chat",
        label="Mode",
        elem_id="textparams-mode",
        info="chat: the model replies; complete: it continues your text",
    )
    widgets["preset"] = preset = typed_widget(
        gr.Dropdown, params_type, "preset", info="sets the sliders; the helpers write prompts"
    )
    widgets["model"] = gr.Dropdown(
        choices,
        value=choices[0][1] if choices else None,
        label="Model",
        elem_id="textparams-model",
        info="built-in, local HF cache and --model-dir causal LMs",
    )
    for n in ("max_new_tokens", "temperature", "seed"):
        widgets[n] = widget_for(params_type, n)
    with gr.Accordion("Advanced", open=False):
        widgets["system_prompt"] = system = typed_widget(
            gr.Textbox, params_type, "system_prompt", lines=2, placeholder="the model's own"
        )
        for n in ("top_p", "top_k", "repetition_penalty"):
            widgets[n] = widget_for(params_type, n)
        stop_box = gr.Textbox(
            label="Stop strings",
            elem_id="textparams-stop",
            max_length=600,
            info=r"comma-separated; \n is a newline, \, a comma",
        )
    return _Settings(mode, preset, system, stop_box)


def _stream(services: Services) -> Callable[..., Iterator[tuple[Any, Result | None]]]:
    def stream(values: dict[str, Any], parents: list[str], progress: gr.Progress) -> Iterator[tuple[Any, Any]]:
        """(text so far, None) while generating, then (final text, Result); validation errors become gr.Error."""
        values = {**values, "stop": parse_stop_text(values.get("stop")), "model": values.get("model") or ""}
        params = check_values(services, "text", values)
        for item in run_request(services, "text", params, progress, parents=parents):
            if isinstance(item, Result):
                yield item.text or "", item
            elif item.kind == "text":
                yield item.data, None
            else:
                yield None, None  # a progress event: lets Stop end the handler here

    return stream


def _finished(result: Result) -> tuple[Any, Any, Any]:
    """(status line, the Markdown download, the recipe) of a finished reply."""
    md = next((str(p) for name, p in result.paths.items() if name.endswith(".md")), None)
    return status_line(result), md, result.recipe


def _bodies(services: Services) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(the page's handler body, the API's)."""
    stream = _stream(services)

    def ui_body(values: dict[str, Any], history: list[dict[str, str]], stop_text: str, progress: gr.Progress) -> Any:
        chat = values["mode"] == "chat" and not _is_helper(values["preset"])
        recent = recent_history(history) if chat else ""
        values = {**values, "history": recent, "stop": stop_text}
        turn = [{"role": "user", "content": values["prompt"]}]
        for text, result in stream(values, [], progress):
            tail = _finished(result) if result is not None else skips(3)
            if text is None:
                yield skips(6)
            elif chat:
                messages = [*history, *turn, {"role": "assistant", "content": text}]
                yield (messages, messages, gr.skip(), *tail)  # the state follows the page, so Stop keeps the text
            elif values["mode"] == "complete" and not _is_helper(values["preset"]):
                yield (gr.skip(), gr.skip(), values["prompt"] + text, *tail)
            else:
                yield (gr.skip(), gr.skip(), text, *tail)

    def api_body(values: dict[str, Any], progress: gr.Progress) -> Any:
        for text, result in stream(values, [], progress):
            if text is None:
                yield skips(4)
            elif result is None:
                yield text, *skips(3)
            else:
                st, md, rec = _finished(result)
                yield text, md, rec, st

    return ui_body, api_body


def _listen(
    services: Services,
    widgets: dict[str, Component],
    box: _PromptBox,
    outputs: _Outputs,
    settings: _Settings,
    api: tuple[list[Component], gr.Button, list[str]],
) -> None:
    """Generate (button or Enter), the hidden ``/text`` endpoint, Stop and New chat."""
    api_inputs, api_button, names = api
    ui_names = [n for n in names if n in widgets]  # everything but history (the session's) and stop (its box)
    ui_body, api_body = _bodies(services)
    results = outputs.results()
    ui_inputs = [*(widgets[n] for n in ui_names), outputs.chat_state, settings.stop_box]
    handler = api_handler(ui_names, ui_body, extra=["history_state", "stop_text"])
    ui_event = box.generate.click(handler, ui_inputs, results, api_visibility="private", concurrency_id="gpu")
    submitted = box.prompt.submit(handler, ui_inputs, results, api_visibility="private", concurrency_id="gpu")
    api_event = api_button.click(
        api_handler(names, api_body),
        inputs=api_inputs,
        outputs=[outputs.output, outputs.download, outputs.recipe, outputs.status],
        api_name="text",
        concurrency_id="gpu",
    )
    box.stop.click(None, cancels=[ui_event, submitted, api_event], api_visibility="private")
    outputs.chatbot.clear(lambda: [], None, [outputs.chat_state], api_visibility="private", queue=False)
    box.clear.click(
        lambda: ([], [], "", ""),
        None,
        [outputs.chatbot, outputs.chat_state, outputs.output, outputs.status],
        api_visibility="private",
        queue=False,
    )


def _listen_presets(widgets: dict[str, Component], outputs: _Outputs, settings: _Settings) -> None:
    """A preset sets the sliders and the system prompt's hint; a preset or mode change shows the right output."""

    def on_preset(name: str, mode: str) -> tuple[Any, ...]:
        p = preset(name)
        values = tuple(getattr(p, n) for n in SLIDERS) if p is not None else skips(len(SLIDERS))
        hint = gr.update(placeholder=(p.system_prompt if p is not None else "") or "the model's own")
        return (*values, hint, *_layout(mode, name))

    views = [outputs.chatbot, outputs.output, outputs.send_row]
    settings.preset.change(
        on_preset,
        [settings.preset, settings.mode],
        [*(widgets[n] for n in SLIDERS), settings.system_prompt, *views],
        api_visibility="private",
        queue=False,
    )
    settings.mode.change(_layout, [settings.mode, settings.preset], views, api_visibility="private", queue=False)


def prepare(values: dict[str, Any], stop_text: str) -> dict[str, Any]:
    """The request's values for a sweep cell: the stop strings from their box (a cell has no chat history)."""
    return {**values, "stop": parse_stop_text(stop_text)}


def build_text_tab(services: Services) -> TabHandles:
    """Build the tab's components and listeners; returns the handles other parts of the app wire to."""
    params_type = services.studio.params_type("text")
    names = [f.name for f in dataclasses.fields(params_type)]
    chat_state = gr.State([])  # this session's conversation: [{"role", "content"}, ...]
    widgets: dict[str, Component] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            chatbot, output, send_row, send_buttons = _conversation(services)
            box = _prompt_box(params_type, widgets)
            status = gr.Markdown("", elem_id="text-status")
            download = gr.File(label="Download (Markdown with recipe)", elem_id="text-download")
            with gr.Accordion("Recipe", open=False):
                recipe = gr.JSON(label="Recipe")
        with gr.Column(scale=2, min_width=280):
            settings = _settings(services, params_type, widgets)
    with gr.Row(visible=False):
        api_inputs = api_widgets(services, "text", names)
        api_button = gr.Button(visible=False)

    outputs = _Outputs(chatbot, chat_state, output, send_row, send_buttons, status, download, recipe)
    _listen(services, widgets, box, outputs, settings, (api_inputs, api_button, names))
    _listen_presets(widgets, outputs, settings)
    return TabHandles(
        modality="text",
        prompt=box.prompt,
        widgets=widgets,  # field name -> component, for restoring a recipe's settings and sweeps
        recipe=recipe,
        prepare=Prepare(prepare, [settings.stop_box]),
        output=output,
        send_buttons=send_buttons,
    )
