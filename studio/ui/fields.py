"""Input widgets that refuse a value of the wrong type from the raw API instead of converting it.

Gradio's own ``Textbox`` turns whatever it is sent into text (``str([1, 2])``), and ``Number`` or ``Slider`` fail
with a Python error on text; the browser never sends such values, but the HTTP API reaches every handler. These
subclasses look the same to the page (``is_template``: the frontend draws the parent) and, on the server, answer a
value of the wrong type with a message naming the field, before any handler runs.
"""

from __future__ import annotations

from typing import Any

import gradio as gr


def _refuse(component: Any, expected: str, payload: Any) -> gr.Error:
    name = getattr(component, "field_name", None) or component.label or "value"
    return gr.Error(f"{name}: must be {expected}, got {type(payload).__name__}", title="Invalid input")


class TextField(gr.Textbox):
    """A ``gr.Textbox`` whose server side accepts only text (or nothing)."""

    is_template = True

    def preprocess(self, payload: Any) -> str | None:
        if payload is not None and not isinstance(payload, str):
            raise _refuse(self, "text", payload)
        return super().preprocess(payload)


def _number(component: Any, payload: Any) -> Any:
    if payload is not None and (isinstance(payload, bool) or not isinstance(payload, (int, float))):
        raise _refuse(component, "a number", payload)
    return payload


class NumberField(gr.Number):
    """A ``gr.Number`` whose server side accepts only numbers (or nothing)."""

    is_template = True

    def preprocess(self, payload: Any) -> float | int | None:
        return super().preprocess(_number(self, payload))


class SliderField(gr.Slider):
    """A ``gr.Slider`` whose server side accepts only numbers (or nothing)."""

    is_template = True

    def preprocess(self, payload: Any) -> float:
        return super().preprocess(_number(self, payload))


def named(component: Any, name: str) -> Any:
    """``component`` with the parameter name its refusals use."""
    component.field_name = name
    return component
