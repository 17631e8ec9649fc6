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


@pytest.mark.parametrize(
    "values, field, words",
    [
        ({"scale": 10**400}, "scale", "[0, 2]"),
        ({"scale": -(10**400)}, "scale", "[0, 2]"),
        ({"scale": "1e400"}, "scale", "[0, 2]"),
        ({"scale": float("-inf")}, "scale", "[0, 2]"),
        ({"steps": 10**400}, "steps", "[1, 100]"),
        ({"steps": 10**5000}, "steps", "[1, 100]"),  # past Python's int-to-text digit limit
        ({"steps": 1e300}, "steps", "[1, 100]"),
        ({"size_px": 10**400}, "size_px", "one of"),
    ],
)
def test_huge_numbers_are_a_param_error_naming_the_range(values, field, words):
    with pytest.raises(ParamError) as err:
        check_params(DemoParams, values)
    assert err.value.field == field
    assert words in str(err.value)
    assert len(str(err.value)) < 200


@dataclass(frozen=True)
class ChoiceFloatParams:
    ratio: float = param(0.5, choices=(0.5, 1.0))


def test_huge_integer_for_a_float_choice_is_a_param_error():
    with pytest.raises(ParamError) as err:
        check_params(ChoiceFloatParams, {"ratio": 10**400})
    assert err.value.field == "ratio" and "one of" in str(err.value)


def test_real_params_refuse_huge_integers():
    from studio.generators.music.params import MusicParams
    from studio.generators.terrain.params import TerrainParams
    from studio.generators.text.params import TextParams

    for cls, name in ((TerrainParams, "roughness"), (MusicParams, "duration_s"), (TextParams, "temperature")):
        values = {name: 10**400, "prompt": "hi"}
        with pytest.raises(ParamError) as err:
            check_params(cls, values)
        assert err.value.field == name and "range" in str(err.value)


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u061c", "\u202a", "\u2066", "\u2069"])
def test_direction_marks_are_refused(mark):
    with pytest.raises(ParamError) as err:
        check_params(DemoParams, {"prompt": f"a{mark}b"})
    assert err.value.field == "prompt"
    assert f"U+{ord(mark):04X}" in str(err.value) and "position 1" in str(err.value)


def test_param_error_keeps_the_message_without_the_field():
    err = ParamError("steps", "is wrong")
    assert str(err) == "steps: is wrong" and err.message == "is wrong"
