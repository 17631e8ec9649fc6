"""What every tab shares: widgets built from declared parameter ranges, and the streaming request runner.

A tab declares nothing twice: ``widget_for(TerrainParams, "roughness")`` makes the slider from the field's ``param``
metadata, the same metadata the server validates with. ``api_handler`` gives a handler a real signature with the
params' field names, so API clients call ``/terrain`` with keyword arguments named like the dataclass fields.
``run_request`` validates, runs the engine on a worker thread, turns its events into progress and live updates,
and turns errors into ``gr.Error`` messages (the only place errors meet the UI). The small helpers below it (uploads,
model menus, a result's files) are the ones more than one tab needs.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

import gradio as gr

from studio.engine import Result
from studio.generators.base import Cancelled, Event
from studio.memory import OutOfMemory
from studio.params import SEED_MAX, ParamError, defaults_of, spec_of
from studio.services import Services
from studio.ui.fields import strict

log = logging.getLogger(__name__)

C = TypeVar("C", bound=gr.components.Component)

MAX_UPLOAD_MB = 20


def auto_fields(cls: type) -> list[str]:
    """Fields typed ``float | None`` / ``int | None``: None means "let the prompt decide"."""
    hints = get_type_hints(cls)
    return [f.name for f in dataclasses.fields(cls) if hints[f.name] in (float | None, int | None)]


def follow_prompt(values: dict[str, Any], autos: Sequence[str], overridden: Sequence[str]) -> dict[str, Any]:
    """The request's values: the prompt-following fields (``autos``) the visitor did not set become None, so the
    prompt decides them; the ones in ``overridden`` keep the slider's value."""
    return {**values, **{n: None for n in autos if n not in overridden}}


def prompt_follower(autos: Sequence[str]) -> Callable[[dict[str, Any], Sequence[str]], dict[str, Any]]:
    """``follow_prompt`` for the fields ``autos``: ``fn(values, overridden)``, a tab's ``Prepare.fn``."""

    def prepare(values: dict[str, Any], overridden: Sequence[str]) -> dict[str, Any]:
        return follow_prompt(values, autos, overridden)

    return prepare


def widget_for(cls: type, name: str, **overrides: Any) -> gr.components.Component:
    """The input widget of field ``name`` of params class ``cls``, from its declared spec and default.

    A ``float | None`` field becomes a slider at the middle of its range; the tab decides whether its value is
    sent or left to the prompt (see ``auto_fields``).
    """
    spec = spec_of(cls, name)
    kind = get_type_hints(cls)[name]
    default = defaults_of(cls)[name]
    if kind in (float | None, int | None):
        kind = float if kind == (float | None) else int
        if default is None and spec.min is not None and spec.max is not None:
            default = spec.min + (spec.max - spec.min) / 2
    label = spec.label or name.replace("_", " ").capitalize()
    common: dict[str, Any] = {"label": label, "value": default, "elem_id": f"{cls.__name__.lower()}-{name}"}
    if overrides.pop("api_only", False):
        # Hidden twin for the API: keeps the dataclass default (None = from the prompt) as the API default.
        value = defaults_of(cls)[name]
        if value is None:
            # Gradio treats a None default as "required"; an empty text is the API's "from the prompt".
            return gr.Textbox(value="", visible=False, label=f"{label} (a number; empty = from the prompt)")
        if kind in (int, float):
            return strict(gr.Number(value=value, visible=False, label=label), name)
        if kind is bool:
            return gr.Checkbox(value=value, visible=False, label=label)
        if isinstance(value, (tuple, list)):  # a list field (stop strings): comma-separated text, "" when empty
            value = ", ".join(map(str, value))
            return gr.Textbox(value=value, visible=False, label=label)
        return strict(gr.Textbox(value=value, visible=False, label=label), name)
    if spec.info:
        common["info"] = spec.info
    common.update(overrides)
    if spec.choices is not None:
        return gr.Dropdown(choices=list(spec.choices), **common)
    if kind is bool:
        return gr.Checkbox(**common)
    if name == "seed":
        common.setdefault("info", "-1 draws a random seed; the seed used is shown after each run")
        return strict(gr.Number(precision=0, minimum=-1, maximum=SEED_MAX, **common), name)
    if kind in (int, float) and spec.min is not None and spec.max is not None:
        step = spec.step if spec.step is not None else (1 if kind is int else (spec.max - spec.min) / 100)
        return strict(gr.Slider(minimum=spec.min, maximum=spec.max, step=step, **common), name)
    if kind in (int, float):
        return strict(gr.Number(precision=0 if kind is int else None, **common), name)
    text: dict[str, Any] = {"lines": 3 if spec.multiline else 1, "max_lines": 12 if spec.multiline else 1}
    text["max_length"] = spec.max_len
    text.update(common)
    return strict(gr.Textbox(**text), name)


def api_widgets(services: Services, modality: str, names: Sequence[str]) -> list[gr.components.Component]:
    """The hidden inputs of ``modality``'s API endpoint, one per field in ``names``: the ``model`` one lists the
    catalog's ids as its choices ("" = the default), so ``view_api()`` shows what a client may pass."""
    cls = services.studio.params_type(modality)
    widgets: list[gr.components.Component] = []
    for name in names:
        if name == "model":
            ids = [s.id for s in services.catalog.models(modality)]
            label = "Model (empty = the default)"
            widgets.append(gr.Dropdown(["", *ids], value="", allow_custom_value=True, visible=False, label=label))
        else:
            widgets.append(widget_for(cls, name, api_only=True))
    return widgets


def typed_widget(kind: type[C], cls: type, name: str, **overrides: Any) -> C:
    """``widget_for(cls, name, **overrides)``, checked to be the ``kind`` of component the caller listens to."""
    widget = widget_for(cls, name, **overrides)
    if not isinstance(widget, kind):
        raise TypeError(f"{cls.__name__}.{name}: expected a {kind.__name__} widget, got a {type(widget).__name__}")
    return widget


def prompt_widget(cls: type, **overrides: Any) -> gr.Textbox:
    """The prompt box of params class ``cls``."""
    return typed_widget(gr.Textbox, cls, "prompt", **overrides)


def number_widget(widgets: dict[str, gr.components.Component], name: str) -> gr.Slider | gr.Number:
    """The slider (or number box) of field ``name``, typed as one (for its ``.input`` event)."""
    widget = widgets[name]
    if not isinstance(widget, (gr.Slider, gr.Number)):
        raise TypeError(f"{name} should be a number, got a {type(widget).__name__}")
    return widget


def show_used_widgets(services: Services, modality: str, widgets: dict[str, Any]) -> None:
    """Hide the widgets of the params the chosen model does not use (a GAN has no steps, MusicGen no key), now
    for the default model and whenever the model menu changes."""
    model = widgets.get("model")
    if model is None:
        return
    names = [n for n in widgets if n not in ("prompt", "model")]
    for n in services.studio.unused_fields(modality, str(model.value or "")):
        if n in widgets:
            widgets[n].visible = False

    def show(model_id: str | None) -> list[Any]:
        unused = services.studio.unused_fields(modality, model_id or "")
        return [gr.update(visible=n not in unused) for n in names]

    model.change(show, model, [widgets[n] for n in names], api_visibility="private", queue=False)


def api_handler(names: Sequence[str], body: Callable[..., Any], extra: Sequence[str] = ()) -> Callable[..., Any]:
    """Wrap the generator ``body(values: dict, *extra_values, progress)`` in one whose signature lists ``names``.

    Gradio names API parameters after the handler's signature, so ``Client.predict(prompt=..., seed=...,
    api_name="/terrain")`` works with the dataclass's own field names.
    """

    def handler(*args: Any, progress: gr.Progress = gr.Progress()) -> Any:
        values = dict(zip(names, args[: len(names)], strict=True))
        yield from body(values, *args[len(names) :], progress=progress)

    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in [*names, *extra]]
    params.append(inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=gr.Progress()))
    handler.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return handler


def picture_in(files: Sequence[Path]) -> Path | None:
    """The file that stands for a result in a gallery: its image, render or piano roll (not a data map)."""
    pngs = [p for p in files if p.suffix.lower() == ".png"]
    preferred = [p for p in pngs if any(r in p.stem for r in ("terrain", "image", "pianoroll", "grid"))]
    for p in preferred + pngs:
        if "heightmap" not in p.stem and "normal" not in p.stem and "splat" not in p.stem:
            return p
    return None


def status_line(result: Result) -> str:
    """A one-line summary: where the result came from, how long it took, and the seed used."""
    where = "⚡ From cache" if result.from_cache else "✓ Generated"
    seed = f" · seed {result.seed}" if result.seed is not None else ""
    load = f" (loading the model took {result.load_s:.1f} s)" if result.load_s >= 0.5 else ""
    return f"{where} in {result.elapsed_s:.2f} s{load}{seed} · recipe {result.recipe['id'][:12]}"


def check_values(services: Services, modality: str, values: dict[str, Any]) -> Any:
    """Validated params, or a ``gr.Error`` naming the bad field and the allowed range."""
    try:
        return services.studio.check(modality, values)
    except ParamError as exc:
        raise gr.Error(str(exc), title="Invalid input") from None


def run_request(
    services: Services,
    modality: str,
    params: Any,
    progress: gr.Progress | None = None,
    parents: Sequence[str] = (),
) -> Iterator[Event | Result]:
    """Run a validated request; yield engine events (progress is also sent to ``progress``), then the ``Result``.

    The result's files are written under the outputs folder (``Result.paths``). Errors become ``gr.Error``; a Stop
    ends the stream quietly (the engine's worker stops at its next step).
    """
    try:
        for item in services.studio.stream(modality, params, parents=parents):
            if isinstance(item, Result):
                item.write(services.outputs)
                yield item
                # Gradio has copied the outputs into its temp folder by the time it asks for the next item.
                if services.janitor is not None:
                    services.janitor.nudge()
            else:
                if item.kind == "progress" and progress is not None and item.total:
                    progress((item.step, item.total), desc=item.desc or None)
                yield item
    except Cancelled:
        return
    except ParamError as exc:
        raise gr.Error(str(exc), title="Invalid input") from None
    except OutOfMemory as exc:
        raise gr.Error(str(exc), title="Out of memory") from None
    except (ValueError, OSError, RuntimeError) as exc:
        log.exception("%s generation failed", modality)
        raise gr.Error(f"{modality} generation failed: {exc}", title="Generation failed") from None


def skips(n: int) -> tuple[Any, ...]:
    """``n`` "leave this output as it is" updates: what a handler yields between results, so Stop can end it."""
    return tuple(gr.skip() for _ in range(n))


def model_choices(services: Services, modality: str) -> list[tuple[str, str]]:
    """The model menu of ``modality``'s tab: (display name, model id) pairs from the catalog."""
    return [(s.display, s.id) for s in services.catalog.models(modality)]


def path_of(result: Result, role: str) -> str | None:
    """The path of the result's first artifact with ``role`` ("image", "audio", "midi", "model3d"...), or None."""
    for a in result.by_role(role):
        return str(result.paths[a.name])
    return None


def file_path(value: Any) -> str | None:
    """A gr.File / image value (a path string, or a dict with "path") as a path."""
    if isinstance(value, dict):
        return value.get("path")
    return str(value) if value else None


def read_upload(path: str | None, field: str) -> bytes:
    """Bytes of an uploaded file, refusing huge ones before reading them (the generator checks the rest)."""
    if not path:
        return b""
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_UPLOAD_MB * 1024 * 1024:
        raise gr.Error(f"{field}: the file is {size / 1e6:.0f} MB; at most {MAX_UPLOAD_MB} MB", title="Invalid input")
    return p.read_bytes()


def optional_files(handler: Callable[..., Any], names: Sequence[str]) -> Callable[..., Any]:
    """Give the file parameters ``names`` a default of None, so API clients may leave them out (Gradio reads the
    signature)."""
    sig = inspect.signature(handler)
    params = [p.replace(default=None) if p.name in names else p for p in sig.parameters.values()]
    handler.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return handler
