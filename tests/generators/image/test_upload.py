"""Image-editor layers: each is judged by its header before a pixel is decoded, and the painted alpha of all of
them becomes the inpainting mask."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.generators.image.upload import MAX_LAYERS, mask_of_layers
from studio.params import ParamError
from tests.memory_helpers import peak_growth
from tests.png_helpers import png_of


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns on reading the header
def test_a_12000_square_layer_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = png_of(12000, 12000, rows=12000)  # 144 megapixels in ~20 kB; 576 MB as RGBA
    assert len(bomb) < 100_000
    with pytest.raises(ParamError) as err:
        mask_of_layers("mask_image", [bomb])
    assert err.value.field == "mask_image" and "is 12000x12000 pixels; at most 4096 px a side" in err.value.message
    setup = """
    from studio.generators.image.upload import mask_of_layers
    from tests.png_helpers import png_of
    mask_of_layers("mask_image", [png_of(8, 8, rows=8)])
    """
    growth, outcome = peak_growth(setup, "mask_of_layers('mask_image', [data])", bomb, tmp_path)
    assert outcome.startswith("ParamError: mask_image: is 12000x12000") and growth < 30


def test_the_mask_is_the_union_of_the_painted_alpha() -> None:
    left, right = Image.new("RGBA", (8, 8), (0, 0, 0, 0)), Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    left.paste((255, 0, 0, 255), (0, 0, 2, 8))
    right.paste((0, 255, 0, 128), (6, 0, 8, 8))
    mask = np.asarray(Image.open(io.BytesIO(mask_of_layers("mask_image", [png(left), png(right)]))))
    assert mask.shape == (8, 8) and mask[:, :2].min() == 255 and mask[:, 6:].min() == 128 and mask[:, 2:6].max() == 0
    assert mask_of_layers("mask_image", [png(Image.new("RGBA", (8, 8)))]) == b""  # nothing painted
    assert mask_of_layers("mask_image", []) == b""


def test_too_many_or_unreadable_layers_name_the_field() -> None:
    with pytest.raises(ParamError, match=f"mask_image: has {MAX_LAYERS + 1} layers"):
        mask_of_layers("mask_image", [b"x"] * (MAX_LAYERS + 1))
    with pytest.raises(ParamError, match="mask_image: is not an image"):
        mask_of_layers("mask_image", [b"not a picture"])
