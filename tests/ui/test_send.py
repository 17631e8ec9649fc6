from __future__ import annotations

from PIL import Image

from studio.generators.terrain_color import parse_colours
from studio.ui.send import dominant_colours


def test_dominant_colours_are_valid_terrain_colours_darkest_first(tmp_path):
    img = Image.new("RGB", (60, 60), (240, 220, 40))  # yellow
    img.paste((20, 30, 120), (0, 0, 60, 40))  # navy, the most common
    path = tmp_path / "a.png"
    img.save(path)
    text = dominant_colours(path, k=3)
    colours = parse_colours(text)
    assert colours[0] == "#141e78" and colours[-1] == "#f0dc28"
