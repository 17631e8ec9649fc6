"""The Text tab: chat or completion with a local language model, streamed token by token, with presets and a prompt
helper that writes prompts for the Image, Music and Terrain tabs.

The chat so far lives in this browser session's ``gr.State`` (never on the server, never shared); each request
sends it as the ``history`` parameter, so the same question after the same conversation with the same seed comes
back from the cache. Stop ends generation at the next token and keeps what was written. Every reply can be
downloaded as Markdown with its recipe. The API endpoint ``/text`` takes the parameter names of ``TextParams``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import gradio as gr

from studio.engine import Result
from studio.generators.text.prompts import HELPER_TARGETS, preset, recent_history
from studio.services import Services
from studio.ui.common import api_handler, check_values, run_request, status_line, widget_for

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


def _model_choices(services: Services) -> list[tuple[str, str]]:
    return [(s.display, s.id) for s in services.catalog.models("text")]


def build_text_tab(services: Services) -> dict[str, Any]:
    """Build the tab's components and listeners; returns the handles other parts of the app wire to."""
    params_type = services.studio.params_type("text")
    names = [f.name for f in dataclasses.fields(params_type)]
    choices = _model_choices(services)
    chat_state = gr.State([])  # this session's conversation: [{"role", "content"}, ...]
    widgets: dict[str, Any] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            chatbot = gr.Chatbot(
                label="Chat", height=420, elem_id="text-chat", buttons=["copy", "copy_all"], feedback_options=None
            )
            output = gr.Textbox(
                label="Output", lines=12, max_lines=30, visible=False, elem_id="text-output", buttons=["copy"]
            )
            with gr.Row(visible=False, elem_id="text-send-row") as send_row:
                send_buttons = {
                    t: gr.Button(f"Send to {t.title()}", size="sm", elem_id=f"text-send-{t}")
                    for t in HELPER_TARGETS
                    if t in services.studio.generators
                }
            widgets["prompt"] = widget_for(
                params_type, "prompt", lines=3, max_lines=12, placeholder="Ask something, or paste text to continue"
            )
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id="text-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="text-stop")
                clear = gr.Button("New chat", elem_id="text-clear")
            gr.Examples(EXAMPLES, inputs=[widgets["prompt"]], label="Try")
            status = gr.Markdown("", elem_id="text-status")
            download = gr.File(label="Download (Markdown with recipe)", elem_id="text-download")
            with gr.Accordion("Recipe", open=False):
                recipe = gr.JSON(label="Recipe")
        with gr.Column(scale=2, min_width=280):
            widgets["mode"] = gr.Radio(
                ["chat", "complete"],
                value="chat",
                label="Mode",
                elem_id="textparams-mode",
                info="chat: the model replies; complete: it continues your text",
            )
            widgets["preset"] = widget_for(params_type, "preset", info="sets the sliders; the helpers write prompts")
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
                widgets["system_prompt"] = widget_for(
                    params_type, "system_prompt", lines=2, placeholder="the model's own"
                )
                for n in ("top_p", "top_k", "repetition_penalty"):
                    widgets[n] = widget_for(params_type, n)
                stop_box = gr.Textbox(
                    label="Stop strings",
                    elem_id="textparams-stop",
                    max_length=600,
                    info=r"comma-separated; \n is a newline, \, a comma",
                )
    with gr.Row(visible=False):
        api_inputs = [widget_for(params_type, n, api_only=True) for n in names]
        api_button = gr.Button(visible=False)

    ui_names = [n for n in names if n in widgets]  # everything but history (the session's) and stop (its box)
    outputs = [chatbot, chat_state, output, status, download, recipe]

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

    def finished(result: Result) -> tuple[Any, Any, Any]:
        md = next((str(p) for name, p in result.paths.items() if name.endswith(".md")), None)
        return status_line(result), md, result.recipe

    def ui_body(values: dict[str, Any], history: list[dict[str, str]], stop_text: str, progress: gr.Progress) -> Any:
        chat = values["mode"] == "chat" and not _is_helper(values["preset"])
        recent = recent_history(history) if chat else ""
        values = {**values, "history": recent, "stop": stop_text}
        turn = [{"role": "user", "content": values["prompt"]}]
        for text, result in stream(values, [], progress):
            tail = finished(result) if result is not None else (gr.skip(), gr.skip(), gr.skip())
            if text is None:
                yield tuple(gr.skip() for _ in outputs)
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
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            elif result is None:
                yield text, gr.skip(), gr.skip(), gr.skip()
            else:
                st, md, rec = finished(result)
                yield text, md, rec, st

    ui_inputs = [*(widgets[n] for n in ui_names), chat_state, stop_box]
    handler = api_handler(ui_names, ui_body, extra=["history_state", "stop_text"])
    ui_event = generate.click(handler, ui_inputs, outputs, api_visibility="private", concurrency_id="gpu")
    submitted = widgets["prompt"].submit(handler, ui_inputs, outputs, api_visibility="private", concurrency_id="gpu")
    api_event = api_button.click(
        api_handler(names, api_body),
        inputs=api_inputs,
        outputs=[output, download, recipe, status],
        api_name="text",
        concurrency_id="gpu",
    )
    stop.click(None, cancels=[ui_event, submitted, api_event], api_visibility="private")
    chatbot.clear(lambda: [], None, [chat_state], api_visibility="private", queue=False)
    clear.click(
        lambda: ([], [], "", ""), None, [chatbot, chat_state, output, status], api_visibility="private", queue=False
    )

    def on_preset(name: str, mode: str) -> tuple[Any, ...]:
        p = preset(name)
        values = tuple(getattr(p, n) for n in SLIDERS) if p is not None else tuple(gr.skip() for _ in SLIDERS)
        hint = gr.update(placeholder=(p.system_prompt if p is not None else "") or "the model's own")
        return (*values, hint, *_layout(mode, name))

    widgets["preset"].change(
        on_preset,
        [widgets["preset"], widgets["mode"]],
        [*(widgets[n] for n in SLIDERS), widgets["system_prompt"], chatbot, output, send_row],
        api_visibility="private",
        queue=False,
    )
    widgets["mode"].change(
        _layout,
        [widgets["mode"], widgets["preset"]],
        [chatbot, output, send_row],
        api_visibility="private",
        queue=False,
    )

    def prepare(values: dict[str, Any], stop_text: str) -> dict[str, Any]:
        """The request's values for a sweep cell: the stop strings from their box (a cell has no chat history)."""
        return {**values, "stop": parse_stop_text(stop_text)}

    handles: dict[str, Any] = {
        "prompt": widgets["prompt"],
        "prepare": (prepare, [stop_box]),  # widget values -> request values, for the sweep
        "widgets": dict(widgets),  # field name -> component, for restoring a recipe's settings and sweeps
        "recipe": recipe,
        "generate": generate,
        "output": output,
        "send_buttons": send_buttons,
        "events": [ui_event, submitted, api_event],
    }
    handles["send_prompt"] = lambda all_handles, tabs: wire_prompt_sends(handles, all_handles, tabs)
    return handles


def wire_prompt_sends(text: dict[str, Any], handles: dict[str, dict[str, Any]], tabs: gr.Tabs) -> None:
    """Wire the "Send to <tab>" buttons: the helper's prompt goes into that tab's prompt box, the tab opens, and
    the helper's recipe id goes into the tab's ``parents`` (when it has one), so the next recipe there names it.

    Called once every tab is built (the app's cross-tab wiring calls ``handles["text"]["send_prompt"]``).
    """
    for target, button in text.get("send_buttons", {}).items():
        h = handles.get(target)
        if not h or h.get("prompt") is None:
            continue
        lineage = h.get("parents")
        outputs = [tabs, h["prompt"], *([lineage] if lineage is not None else [])]

        def send(prompt: str, recipe: Any, target: str = target, lineage: Any = lineage) -> tuple[Any, ...]:
            if not (prompt or "").strip():
                raise gr.Error("Use a prompt-helper preset first: its output is what gets sent.")
            made_here = isinstance(recipe, dict) and recipe.get("info", {}).get("prompt_for") and recipe.get("id")
            out: tuple[Any, ...] = (gr.Tabs(selected=target), prompt.strip())
            return (*out, [recipe["id"]] if made_here else []) if lineage is not None else out

        # Queued: an error (nothing to send yet) reaches the page as a message only from a queued event.
        button.click(send, [text["output"], text["recipe"]], outputs, api_visibility="private")
