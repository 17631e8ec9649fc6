from __future__ import annotations

import pytest
from PIL import Image

from studio.generators.terrain.color import parse_colours
from studio.params import ParamError
from studio.ui.send import dominant_colours
from tests.png_helpers import png_of


def test_dominant_colours_are_valid_terrain_colours_darkest_first(tmp_path):
    img = Image.new("RGB", (60, 60), (240, 220, 40))  # yellow
    img.paste((20, 30, 120), (0, 0, 60, 40))  # navy, the most common
    path = tmp_path / "a.png"
    img.save(path)
    text = dominant_colours(path, k=3)
    colours = parse_colours(text)
    assert colours[0] == "#141e78" and colours[-1] == "#f0dc28"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_huge_picture_is_refused_by_its_header(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(png_of(12000, 12000, rows=12000))
    with pytest.raises(ParamError, match="colours: is 12000x12000 pixels"):
        dominant_colours(path)
