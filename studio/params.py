"""Parameter declarations and server-side validation, shared by every tab.

Each modality declares a frozen dataclass of its parameters. Every field carries its range once, in
``param(...)`` metadata; the same metadata builds the UI widget and validates values that arrive from
the browser, the API or the CLI (the browser's limits do not protect the API).

    @dataclass(frozen=True)
    class TerrainParams:
        prompt: str = param("", max_len=2000, label="Prompt")
        size_px: int = param(257, choices=(129, 257, 513, 1025), label="Size (px)")
        roughness: float = param(0.5, min=0.0, max=1.0, step=0.01, label="Roughness")

``check_params(TerrainParams, {"prompt": "...", "roughness": 0.7})`` returns a validated instance or
raises ``ParamError`` naming the field and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_type_hints

MAX_PROMPT_CHARS = 2000
SEED_MAX = 2**31 - 1

T = TypeVar("T")


class ParamError(ValueError):
    """A parameter value is not allowed. ``field`` names it; the message says what is allowed."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Spec:
    """The declared range of one parameter (dataclass field metadata under the key ``"spec"``)."""

    label: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None
    max_len: int | None = None
    multiline: bool = False
    info: str = ""
    allow_empty: bool = True
    # Fields the UI shows under "Advanced" rather than up front.
    advanced: bool = False


def param(default: Any, **spec: Any) -> Any:
    """Declare a dataclass field with its range, e.g. ``param(0.5, min=0, max=1, label="Roughness")``."""
    if "choices" in spec and spec["choices"] is not None:
        spec["choices"] = tuple(spec["choices"])
    return field(default=default, metadata={"spec": Spec(**spec)})


def spec_of(cls: type, name: str) -> Spec:
    """The declared ``Spec`` of field ``name`` of params class ``cls``."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get("spec", Spec(label=name))
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def defaults_of(cls: type) -> dict[str, Any]:
    """Default values of every field of params class ``cls``."""
    return {f.name: f.default for f in dataclasses.fields(cls)}  # type: ignore[arg-type]


# Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) by their bidi class, plus the invisible
# direction marks (LRM U+200E, RLM U+200F, ALM U+061C), whose classes (L, R, AL) are those of ordinary letters.
_BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
_DIRECTION_MARKS = frozenset({"\u200e", "\u200f", "\u061c"})


def unsafe_kind(ch: str) -> str | None:
    """Why ``ch`` is refused in text ("control", "bidirectional control", "lone surrogate"), or None if it is fine.

    Controls other than newline, tab and carriage return, and the characters that reorder text invisibly."""
    cat = unicodedata.category(ch)
    if cat == "Cs":
        return "lone surrogate"
    if cat == "Cc" and ch not in "\n\t\r":
        return "control"
    if cat == "Cf" and (ch in _DIRECTION_MARKS or unicodedata.bidirectional(ch) in _BIDI_CONTROLS):
        return "bidirectional control"
    return None


def clean_text(value: str) -> str:
    """``value`` without the characters ``check_text`` refuses (for text a model wrote, which is not refused)."""
    return "".join(ch for ch in value if unsafe_kind(ch) is None)


def check_text(name: str, value: Any, spec: Spec) -> str:
    """Validate a string: type, length, and no control, bidi-override or lone-surrogate characters."""
    if not isinstance(value, str):
        raise ParamError(name, f"must be text, got {type(value).__name__}")
    limit = spec.max_len if spec.max_len is not None else MAX_PROMPT_CHARS
    if len(value) > limit:
        raise ParamError(name, f"is {len(value)} characters long; at most {limit} are allowed")
    for i, ch in enumerate(value):
        kind = unsafe_kind(ch)
        if kind == "lone surrogate":
            raise ParamError(name, f"has a lone surrogate character at position {i}")
        if kind is not None:
            raise ParamError(name, f"has a {kind} character U+{ord(ch):04X} at position {i}")
    if not spec.allow_empty and not value.strip():
        raise ParamError(name, "must not be empty")
    return value


def _check_number(name: str, value: Any, spec: Spec, kind: type) -> int | float:
    """A finite ``kind`` (int or float) within ``spec``; NaN, infinities and integers too large for a float are
    refused with the allowed range, never an ``OverflowError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if not isinstance(value, str):
            raise ParamError(name, f"must be a number, got {type(value).__name__}")
        value = _parse_number(name, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamError(name, f"must be a finite number, got {value}{_allowed(spec)}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ParamError(name, f"must be a whole number, got {value}")
        value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:
            raise ParamError(name, f"{_show(value)} is too large{_allowed(spec)}") from None
    if spec.min is not None and value < spec.min:
        raise ParamError(name, f"{_show(value)} is below the allowed range [{_fmt(spec.min)}, {_fmt(spec.max)}]")
    if spec.max is not None and value > spec.max:
        raise ParamError(name, f"{_show(value)} is above the allowed range [{_fmt(spec.min)}, {_fmt(spec.max)}]")
    return value


def _parse_number(name: str, text: str) -> int | float:
    """A number typed as text: exact for whole numbers ("12"), else a float ("1e400" becomes inf, refused later)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass  # not a whole number, or past Python's digit limit for int(): try it as a float
    try:
        return float(text)
    except ValueError:
        raise ParamError(name, f"must be a number, got {text[:64]!r}") from None


def _allowed(spec: Spec) -> str:
    """What ``spec`` allows, as the tail of an error message ("; the allowed range is [0, 1]"), or "" if unbounded."""
    if spec.choices is not None:
        return "; it must be one of: " + ", ".join(str(c) for c in spec.choices)
    if spec.min is None and spec.max is None:
        return ""
    return f"; the allowed range is [{_fmt(spec.min)}, {_fmt(spec.max)}]"


def _show(value: Any) -> str:
    """``value`` for an error message; integers too long to print usefully are described by their size."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"a {'negative ' if value < 0 else ''}number of about {digits} digits"
    return repr(value) if isinstance(value, str) else str(value)


def _fmt(x: float | None) -> str:
    if x is None:
        return "∞"
    return str(int(x)) if float(x).is_integer() else str(x)


def check_value(name: str, value: Any, spec: Spec, kind: Any) -> Any:
    """Validate and normalise one value against its declared ``spec`` and type ``kind``."""
    if spec.choices is not None:
        # Numbers sent as floats (1025.0) still match an int choice; strings must match exactly.
        if kind in (int, float) and not isinstance(value, bool):
            value = _check_number(name, value, Spec(choices=spec.choices), kind)
        if value not in spec.choices:
            allowed = ", ".join(str(c) for c in spec.choices)
            shown = _show(value) if isinstance(value, (int, float)) else repr(value)[:80]
            raise ParamError(name, f"{shown} is not one of: {allowed}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ParamError(name, f"must be true or false, got {value!r}")
        return value
    if kind in (int, float):
        return _check_number(name, value, spec, kind)
    if kind is str:
        return check_text(name, value, spec)
    if kind == (str | None) or kind == (int | None) or kind == (float | None):
        if value is None or value == "":
            return None
        inner = str if kind == (str | None) else int if kind == (int | None) else float
        return check_value(name, value, spec, inner)
    if kind in (tuple[str, ...], tuple[int, ...], tuple[float, ...]):
        if value is None:
            return ()
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()] if value.strip() else []
        if not isinstance(value, Sequence):
            raise ParamError(name, f"must be a list, got {type(value).__name__}")
        inner = kind.__args__[0]
        limit = int(spec.max) if spec.max is not None else 64
        if len(value) > limit:
            raise ParamError(name, f"has {len(value)} items; at most {limit} are allowed")
        item_spec = Spec(max_len=spec.max_len, allow_empty=spec.allow_empty)
        return tuple(check_value(f"{name}[{i}]", v, item_spec, inner) for i, v in enumerate(value))
    return value


def check_params(cls: type[T], values: Mapping[str, Any]) -> T:
    """Build a validated ``cls`` from ``values``; missing fields take their defaults.

    Raises ``ParamError`` for an unknown field, a wrong type, NaN, a value out of range, an over-long or
    malformed string, or a value that is not among the allowed choices.
    """
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for name in values:
        if name not in known:
            raise ParamError(str(name)[:64], f"is not a parameter of {cls.__name__}")
    out: dict[str, Any] = {}
    for name, f in known.items():
        spec = f.metadata.get("spec", Spec(label=name))
        value = values.get(name, f.default)
        out[name] = check_value(name, value, spec, hints[name])
    instance = cls(**out)
    post = getattr(instance, "check", None)
    if callable(post):
        post()
    return instance


def as_dict(params: Any) -> dict[str, Any]:
    """The params instance as a plain dict (tuples become lists, for JSON)."""
    d = dataclasses.asdict(params)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
