"""Prompt → controls for the Music tab: words understood, sliders winning, seeded defaults."""

from __future__ import annotations

import pytest

from studio.generators.music.prompt import beat_quarters, parse_key, parse_prompt, resolve_controls, tempo_class


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("calm folk melody in D minor", {"style": "folk", "tonic": 2, "mode": "minor", "tempo": "slow"}),
        ("joyful chorale", {"style": "chorale", "mode": "major"}),
        ("fast dance in 6/8", {"style": "dance", "metre": "6/8", "tempo": "fast"}),
        ("a sad waltz in F# minor at 90 bpm", {"style": "dance", "tonic": 6, "mode": "minor", "metre": "3/4"}),
        ("Bb major hymn", {"style": "chorale", "tonic": 10, "mode": "major"}),
        ("lively reel on the fiddle", {"style": "dance", "metre": "4/4", "tempo": "fast", "instrument": "strings"}),
    ],
)
def test_prompt_words_set_controls(prompt: str, expected: dict[str, object]) -> None:
    pc = parse_prompt(prompt)
    for name, value in expected.items():
        assert getattr(pc, name) == value, (prompt, name)


def test_bpm_in_prompt() -> None:
    assert parse_prompt("a march at 112 bpm").tempo_bpm == 112.0


@pytest.mark.parametrize("prompt", ["A calm tune", "in a hurry, a little song", "", "Bach would like this"])
def test_no_key_from_ordinary_words(prompt: str) -> None:
    assert parse_key(prompt)[0] is None


def test_key_spellings() -> None:
    assert parse_key("in e flat major")[:2] == (3, "major")
    assert parse_key("key of G")[:2] == (7, None)
    assert parse_key("C# minor")[:2] == (1, "minor")
    assert parse_key("in a minor")[:2] == (9, "minor")


def test_sliders_win_over_prompt() -> None:
    c = resolve_controls("calm folk melody in D minor", 1, style="dance", key="G major", metre="6/8", tempo_bpm=140)
    assert (c.style, c.tonic, c.mode, c.metre, c.tempo_bpm, c.tempo) == ("dance", 7, "major", "6/8", 140.0, "fast")


def test_prompt_fills_what_sliders_leave_open() -> None:
    c = resolve_controls("calm folk melody in D minor", 1)
    assert (c.style, c.key_name, c.tempo) == ("folk", "D minor", "slow")
    assert c.tempo_bpm < 80


def test_defaults_depend_on_seed_only() -> None:
    assert resolve_controls("a melody", 5) == resolve_controls("a melody", 5)
    keys = {resolve_controls("a melody", s).key_name for s in range(20)}
    assert len(keys) > 3


def test_tempo_units() -> None:
    assert beat_quarters("6/8") == 1.5 and beat_quarters("2/2") == 2.0 and beat_quarters("3/4") == 1.0
    assert tempo_class(100, "6/8") == "fast" and tempo_class(100, "4/4") == "moderate"
    c = resolve_controls("jig", 0, tempo_bpm=100)
    assert c.metre == "6/8" and c.quarter_bpm == 150.0
