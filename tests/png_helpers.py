"""PNG files built by hand, byte by byte: huge pictures that cost a few kB, and recipe text chunks."""

from __future__ import annotations

import struct
import zlib


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_of(width: int, height: int, *, rows: int = 0, after: bytes = b"", before: bytes = b"") -> bytes:
    """A 1-bit greyscale PNG built by hand: ``rows`` rows of zero pixels (0 = an IDAT that stops short), and text
    chunks ``before`` and ``after`` the pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    inflater = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)
    idat = b"".join(inflater.compress(row) for _ in range(rows)) + inflater.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + before + chunk(b"IDAT", idat) + after + chunk(b"IEND", b"")


def itxt(text: str, *, compressed: bool = False) -> bytes:
    raw = text.encode("utf-8")
    return chunk(
        b"iTXt", b"studio-recipe\0" + bytes([compressed, 0]) + b"\0\0" + (zlib.compress(raw) if compressed else raw)
    )
