"""Files dropped on the History panel become a recipe or one clear line, never a Python exception's text."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from studio.ui.history import recipe_from_upload
from tests.png_helpers import itxt, png_of
from tests.test_recipe_reader import RECIPE


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.json", b"\xff\xfe{", "not UTF-8"),
        ("a.json", b"[" * 100_000, "nested more than 32 deep"),
        ("a.json", json.dumps({**RECIPE, "params": "x"}).encode(), "'params' is a str"),
        ("a.png", png_of(30000, 30000), "30000x30000"),
        ("a.mid", b"MThd", "carries no recipe"),
    ],
)
def test_unreadable_drops_are_one_line_errors(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(gr.Error) as err:
        recipe_from_upload(str(path))
    message = str(err.value.message)
    assert message.startswith(f"{name} is unreadable: not a studio output (") and reason in message
    assert "\n" not in message and "Traceback" not in message


def test_a_studio_png_restores(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    path.write_bytes(png_of(4, 4, rows=4, before=itxt(json.dumps(RECIPE))))
    assert recipe_from_upload(str(path))["params"]["prompt"] == "red apple"
