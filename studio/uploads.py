"""Uploaded pictures, checked before they can hurt the server: one set of checks for every field that takes one
(Image's init image and mask, Terrain's sketch), each field with its own limits.

``opened`` refuses, with a ``ParamError`` naming the field, data that is not bytes, too many bytes, empty, not an
image in one of the field's formats, or a picture larger than the field allows, judged from the header *before*
any pixel is decoded (this is what stops decompression bombs: a few kB of PNG that would inflate to gigabytes);
Pillow's own ``DecompressionBombError`` is caught too. ``decoded`` then decodes it, refusing truncated or corrupt
files (Pillow is never told to load truncated images). Pillow's global settings (``Image.MAX_IMAGE_PIXELS``,
``ImageFile.LOAD_TRUNCATED_IMAGES``) are left alone: they are process-wide state shared with every request.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from studio.params import ParamError


@dataclass(frozen=True)
class Limits:
    """What one field accepts."""

    formats: tuple[str, ...]
    max_bytes: int
    max_side_px: int
    max_pixels: int


def opened(field: str, data: bytes, limits: Limits) -> Any:
    """``data`` opened as a ``PIL.Image`` after the checks that need only its header; no pixel is decoded yet."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, (bytes, bytearray)):
        raise ParamError(field, f"must be image file bytes, got {type(data).__name__}")
    if len(data) > limits.max_bytes:
        limit = limits.max_bytes // 2**20
        raise ParamError(field, f"is {len(data) / 1e6:.1f} MB; uploads of at most {limit} MB are allowed")
    if not data:
        raise ParamError(field, "is empty")
    im: Any
    try:
        im = Image.open(io.BytesIO(bytes(data)), formats=limits.formats)
    except Image.DecompressionBombError:
        raise ParamError(field, "is refused: its header claims so many pixels it is a decompression bomb") from None
    except UnidentifiedImageError:
        raise ParamError(field, f"is not an image in a supported format ({', '.join(limits.formats)})") from None
    width, height = im.size
    if width < 1 or height < 1:
        raise ParamError(field, f"has an impossible size {width}x{height}")
    if width > limits.max_side_px or height > limits.max_side_px or width * height > limits.max_pixels:
        raise ParamError(
            field,
            f"is {width}x{height} pixels; at most {limits.max_side_px} px a side and {limits.max_pixels // 10**6} "
            "megapixels are allowed (a larger picture could also be a decompression bomb)",
        )
    return im


def decoded(field: str, im: Any) -> Any:
    """``im`` (from ``opened``) with its pixels decoded; truncated or corrupt data raises ``ParamError``."""
    from PIL import Image

    try:
        im.load()  # raises OSError on truncated or corrupt data
    except Image.DecompressionBombError:
        raise ParamError(field, "is refused as a decompression bomb") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ParamError(field, f"could not be decoded (truncated or corrupt file: {exc})") from None
    return im
