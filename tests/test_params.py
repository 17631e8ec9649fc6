from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from studio.params import ParamError, check_params, param


@dataclass(frozen=True)
class DemoParams:
    prompt: str = param("", max_len=50, label="Prompt")
    steps: int = param(10, min=1, max=100)
    scale: float = param(1.0, min=0.0, max=2.0)
    size_px: int = param(257, choices=(129, 257, 513))
    tile: bool = param(False)
    stops: tuple[str, ...] = param((), max=3, max_len=10)


def test_defaults_and_normalisation():
    p = check_params(DemoParams, {"steps": 5.0, "scale": 1, "size_px": 513.0, "stops": ["a", "b"]})
    assert p.steps == 5 and isinstance(p.steps, int)
    assert p.scale == 1.0 and isinstance(p.scale, float)
    assert p.size_px == 513
    assert p.stops == ("a", "b")


@pytest.mark.parametrize(
    "values, field, words",
    [
        ({"steps": math.nan}, "steps", "finite"),
        ({"scale": float("inf")}, "scale", "finite"),
        ({"steps": 0}, "steps", "[1, 100]"),
        ({"steps": 101}, "steps", "[1, 100]"),
        ({"steps": 2.5}, "steps", "whole"),
        ({"steps": "many"}, "steps", "number"),
        ({"steps": True}, "steps", "number"),
        ({"prompt": 5}, "prompt", "text"),
        ({"prompt": "x" * 51}, "prompt", "at most 50"),
        ({"prompt": "a\x00b"}, "prompt", "control"),
        ({"prompt": "a\u202eb"}, "prompt", "bidirectional"),
        ({"prompt": "a\ud800b"}, "prompt", "surrogate"),
        ({"size_px": 300}, "size_px", "one of"),
        ({"tile": "yes"}, "tile", "true or false"),
        ({"stops": ["a"] * 4}, "stops", "at most 3"),
        ({"stops": ["x" * 11]}, "stops[0]", "at most 10"),
        ({"bogus": 1}, "bogus", "not a parameter"),
    ],
)
def test_bad_values_name_the_field(values, field, words):
    with pytest.raises(ParamError) as err:
        check_params(DemoParams, values)
    assert err.value.field == field
    assert words in str(err.value)


def test_newlines_and_tabs_are_allowed():
    assert check_params(DemoParams, {"prompt": "a\nb\tc"}).prompt == "a\nb\tc"
