"""Input widgets that refuse, on the server, what their own preprocessing would choke on: a value of the wrong
type from the raw API, or a picture too large to decode.

Gradio's own ``Textbox`` turns whatever it is sent into text (``str([1, 2])``), and ``Number`` or ``Slider`` fail
with a Python error on text; the browser never sends such values, but the HTTP API reaches every handler.
``strict(component, name)`` wraps the component's server-side ``preprocess`` so that a value of the wrong type is
answered with a message naming the field, before any handler runs. (A subclass would do the same, but Gradio writes
a ``.pyi`` stub beside the source file of every component class it sees defined: an import with a side effect.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from studio.generators.image.upload import MAX_UPLOAD_BYTES, opened
from studio.params import ParamError

C = TypeVar("C", bound=gr.components.Component)


def _accepts(component: gr.components.Component) -> tuple[str, Callable[[Any], bool]]:
    """What the component's server side takes: (what to call it in a message, a test of a payload)."""
    if isinstance(component, gr.Textbox):
        return "text", lambda v: isinstance(v, str)
    return "a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)


def strict(component: C, name: str) -> C:
    """``component`` (a Textbox, Number or Slider), refusing payloads of another type with a message naming
    ``name``; None (nothing sent) passes as before."""
    expected, ok = _accepts(component)
    convert = component.preprocess

    def preprocess(payload: Any) -> Any:
        if payload is not None and not ok(payload):
            message = f"{name}: must be {expected}, got {type(payload).__name__}"
            raise gr.Error(message, title="Invalid input")
        return convert(payload)

    component.preprocess = preprocess  # type: ignore[method-assign]
    return component


def _check_picture(file: Any, field: str) -> None:
    """Refuse an uploaded picture by its size and header before anything decodes it."""
    path = getattr(file, "path", None)
    if not path:
        return
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_UPLOAD_BYTES + 1)
        opened(field, data)
    except ParamError as exc:
        raise gr.Error(str(exc), title="Invalid input") from None
    except OSError:
        raise gr.Error(f"{field}: the upload could not be read; upload it again", title="Invalid input") from None


def checked_editor(editor: gr.ImageEditor, background: str, layers: str) -> gr.ImageEditor:
    """``editor`` whose background and layers are judged by their headers before Gradio decodes them (its own
    preprocessing converts every layer to the editor's mode: a 12,000² layer of a few hundred kB would cost
    gigabytes). ``background`` and ``layers`` name the fields in messages."""
    convert = editor.preprocess

    def preprocess(payload: Any) -> Any:
        if payload is not None:
            _check_picture(getattr(payload, "background", None), background)
            _check_picture(getattr(payload, "composite", None), background)
            for layer in getattr(payload, "layers", None) or []:
                _check_picture(layer, layers)
        return convert(payload)

    editor.preprocess = preprocess  # type: ignore[method-assign]
    return editor
