"""Checks for uploaded images (init images and masks): refuse what could hurt the server, with a clear message
(the checks themselves are ``studio/uploads.py``, shared with Terrain's sketch; the limits are this field's).

Refused, each with a ``ParamError`` naming the field:

- more than ``MAX_UPLOAD_BYTES`` of data, or data that is not an image Pillow can identify;
- a format outside PNG, JPEG, WebP, BMP and GIF;
- a picture larger than ``MAX_SIDE_PX`` on a side or ``MAX_PIXELS`` in all, judged from the header *before*
  any pixel is decoded (this is what stops decompression bombs: a few kB of PNG that would inflate to
  gigabytes). Pillow's own ``DecompressionBombError`` is caught too;
- a truncated or corrupt file (Pillow is never told to load truncated images).

Pillow's global settings (``Image.MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``) are left alone: they
are process-wide state shared with every other request.
"""

from __future__ import annotations

import io
from typing import Any

from studio.params import ParamError
from studio.uploads import Limits, decoded
from studio.uploads import opened as open_header

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_SIDE_PX = 4096
MAX_PIXELS = 4096 * 4096
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
MAX_LAYERS = 16  # brush layers of one image-editor value


def opened(field: str, data: bytes) -> Any:
    """``data`` opened as a ``PIL.Image`` after the checks above that need only its header; no pixel is decoded
    yet. Raises ``ParamError``."""
    return open_header(field, data, Limits(FORMATS, MAX_UPLOAD_BYTES, MAX_SIDE_PX, MAX_PIXELS))


def open_checked(field: str, data: bytes) -> Any:
    """Decode ``data`` into an RGB or RGBA/L ``PIL.Image`` after every check above; raises ``ParamError``."""
    from PIL import Image, ImageOps

    im = decoded(field, opened(field, data))
    try:
        im = ImageOps.exif_transpose(im)
    except Image.DecompressionBombError:
        raise ParamError(field, "is refused as a decompression bomb") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ParamError(field, f"could not be decoded (truncated or corrupt file: {exc})") from None
    if im.mode not in ("RGB", "RGBA", "L"):
        im = im.convert("RGBA" if "A" in im.getbands() or im.mode == "P" else "RGB")
    return im


def to_rgb(im: Any) -> Any:
    """An RGB copy of ``im`` with any transparency composited on white."""
    from PIL import Image

    if im.mode == "RGB":
        return im
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def to_mask(im: Any) -> Any:
    """A single-channel mask: white (255) = repaint. An RGBA mask with transparency (a brush layer) uses its
    alpha: painted = repaint."""
    if im.mode == "RGBA" and im.getextrema()[3][0] < 255:
        return im.getchannel("A")
    return im.convert("L")


def mask_of_layers(field: str, layers: list[bytes]) -> bytes:
    """PNG bytes of the union of the painted layers' alpha (an image editor's brush layers), or b"" when nothing
    is painted. Each layer goes through ``open_checked`` first, so its size is judged from its header before any
    pixel is decoded; a layer without alpha counts as painted all over."""
    from PIL import Image

    if len(layers) > MAX_LAYERS:
        raise ParamError(field, f"has {len(layers)} layers; at most {MAX_LAYERS}")
    mask: Any = None
    for data in layers:
        im = open_checked(field, data)
        alpha = im.getchannel("A") if im.mode == "RGBA" else Image.new("L", im.size, 255)
        mask = alpha if mask is None else Image.fromarray(_union(mask, alpha.resize(mask.size)))
    if mask is None or mask.getbbox() is None:
        return b""
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    return buf.getvalue()


def _union(a: Any, b: Any) -> Any:
    import numpy as np

    return np.maximum(np.asarray(a), np.asarray(b))
