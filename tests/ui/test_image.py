"""The image editor's value: read as bytes, every layer refused by its header before a pixel is decoded."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from PIL import Image

from studio.ui.image import _editor_files
from tests.png_helpers import png_of


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_huge_layer_is_one_clear_error(tmp_path: Path) -> None:
    background, layer = tmp_path / "background.png", tmp_path / "layer.png"
    background.write_bytes(png_of(8, 8, rows=8))
    layer.write_bytes(png_of(12000, 12000, rows=12000))
    value = {"background": str(background), "layers": [{"path": str(layer)}], "composite": None}
    with pytest.raises(gr.Error, match=r"mask_image: is 12000x12000 pixels"):
        _editor_files(value)


def test_unpainted_layers_give_no_mask(tmp_path: Path) -> None:
    background = tmp_path / "background.png"
    background.write_bytes(png_of(8, 8, rows=8))
    layer = tmp_path / "layer.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(layer)
    init, mask = _editor_files({"background": str(background), "layers": [str(layer)]})
    assert init == background.read_bytes() and mask == b""
