"""Reading a recipe back out of a studio output: total over hostile bytes.

A file dropped on the History panel may be anything. ``load_recipe`` either returns a recipe dict whose
fields have the types the studio relies on, or raises ``UnreadableRecipe`` saying why; ``read_recipe`` turns the
refusal into None. No other exception escapes either of them, and the work is bounded before it starts:

- nothing is decoded that the recipe does not need: PNG and WAV chunks are walked by their lengths (no pixel
  or sample is read, and a PNG whose header claims more than ``MAX_PNG_SIDE`` a side is refused first);
  compressed PNG text is inflated no further than ``MAX_RECIPE_BYTES``;
- the recipe's JSON is at most ``MAX_RECIPE_BYTES`` and nested at most ``MAX_RECIPE_DEPTH`` deep (JSON nested
  deeper than Python's recursion limit is refused as it is parsed, the rest by an iterative walk);
- the fields of the module docstring of ``studio.provenance`` are checked for their types.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from typing import Any

RECIPE_CHUNK = "studio-recipe"
MD_FENCE = "```studio-recipe"
MAX_RECIPE_BYTES = 4 * 1024 * 1024
MAX_RECIPE_DEPTH = 32
MAX_PNG_SIDE = 16384  # the studio writes nothing near this; the pixels are never decoded here anyway
MAX_CHUNKS = 100_000  # PNG or RIFF chunks walked before giving up (studio files hold a few dozen)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The id and modality name folders and files under the outputs folder: no separators, no dots to climb with.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,200}")
MODALITY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")


class UnreadableRecipe(ValueError):
    """The bytes hold no usable studio recipe; the message says why, in words for the visitor."""


def read_recipe(name: str, data: bytes) -> dict[str, Any] | None:
    """The recipe inside a studio output (PNG, WAV, GLB, Markdown or the JSON sidecar), or None; never raises."""
    try:
        return load_recipe(name, data)
    except UnreadableRecipe:
        return None


def load_recipe(name: str, data: bytes) -> dict[str, Any]:
    """The checked recipe inside ``data`` (its format chosen by ``name``'s extension); raises ``UnreadableRecipe``."""
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    reader = _READERS.get(ext)
    if reader is None:
        raise UnreadableRecipe(f"a {ext or 'nameless'} file carries no recipe; drop a PNG, WAV, GLB, MD or JSON")
    if not isinstance(data, (bytes, bytearray)):
        raise UnreadableRecipe(f"expected file bytes, got {type(data).__name__}")
    return _checked(reader(bytes(data)))


# -- formats -------------------------------------------------------------------------------------------------
def _read_json_file(data: bytes) -> Any:
    return _loads(data)


def _read_png(data: bytes) -> Any:
    """The ``studio-recipe`` text chunk (tEXt, zTXt or iTXt, before or after the pixels), pixels skipped."""
    if not data.startswith(PNG_SIGNATURE):
        raise UnreadableRecipe("not a PNG file")
    view = memoryview(data)
    pos = len(PNG_SIGNATURE)
    for i in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        length, kind = struct.unpack(">I4s", view[pos : pos + 8])
        body = view[pos + 8 : pos + 8 + length]
        pos += 12 + length  # length, type, body, CRC
        if i == 0:
            _check_ihdr(kind, body)
        elif kind == b"IEND":
            break
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            text = _png_text(kind, bytes(body))
            if text is not None:
                return _loads(text)
    raise UnreadableRecipe("this PNG holds no studio recipe (was it re-saved by another program?)")


def _check_ihdr(kind: bytes, body: memoryview) -> None:
    if kind != b"IHDR" or len(body) < 8:
        raise UnreadableRecipe("a PNG without its IHDR header")
    width, height = struct.unpack(">II", body[:8])
    if not (0 < width <= MAX_PNG_SIDE and 0 < height <= MAX_PNG_SIDE):
        raise UnreadableRecipe(f"a PNG of {width}x{height} pixels; studio pictures are at most {MAX_PNG_SIDE} a side")


def _png_text(kind: bytes, body: bytes) -> bytes | str | None:
    """The text of a PNG text chunk if its keyword is ``studio-recipe``, else None."""
    keyword, sep, rest = body.partition(b"\0")
    if not sep or keyword != RECIPE_CHUNK.encode("latin-1"):
        return None
    if kind == b"tEXt":
        return rest.decode("latin-1")
    if kind == b"zTXt":
        return _inflate(rest[1:]).decode("latin-1")
    if len(rest) < 2:
        raise UnreadableRecipe("a truncated iTXt chunk")
    compressed, text = rest[0], rest[2:].split(b"\0", 2)  # flag, method, language \0 translated keyword \0 text
    if len(text) < 3:
        raise UnreadableRecipe("a truncated iTXt chunk")
    return _inflate(text[2]) if compressed else text[2]


def _inflate(raw: bytes) -> bytes:
    """zlib-inflate at most ``MAX_RECIPE_BYTES`` (a few kB can inflate to gigabytes)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_RECIPE_BYTES + 1)
    except zlib.error:
        raise UnreadableRecipe("its compressed recipe is corrupt") from None
    if len(out) > MAX_RECIPE_BYTES:
        raise UnreadableRecipe(f"its recipe inflates past {MAX_RECIPE_BYTES // 2**20} MB")
    return out


def _read_wav(data: bytes) -> Any:
    """The ``ICMT`` entry of the RIFF ``LIST/INFO`` chunk; other chunks (the samples) are skipped by length."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise UnreadableRecipe("not a RIFF/WAVE file")
    view = memoryview(data)
    for cid, start, end in _riff_walk(view, 12, len(data)):
        if cid == b"LIST" and view[start : start + 4] == b"INFO":
            for sid, s_start, s_end in _riff_walk(view, start + 4, end):
                if sid == b"ICMT":
                    return _loads(bytes(view[s_start:s_end]).rstrip(b"\0"))
    raise UnreadableRecipe("this WAV holds no studio recipe (was it re-saved by another program?)")


def _riff_walk(view: memoryview, pos: int, stop: int) -> list[tuple[bytes, int, int]]:
    """(id, body start, body end) of the RIFF chunks in ``view[pos:stop]``; a body is cut at ``stop``."""
    chunks = []
    for _ in range(MAX_CHUNKS):
        if pos + 8 > stop:
            break
        cid, size = bytes(view[pos : pos + 4]), struct.unpack("<I", view[pos + 4 : pos + 8])[0]
        chunks.append((cid, pos + 8, min(pos + 8 + size, stop)))
        pos += 8 + size + (size & 1)
    return chunks


def _read_glb(data: bytes) -> Any:
    """``asset.extras.studio_recipe`` of the glTF JSON chunk (the binary chunk is not looked at)."""
    if len(data) < 20:
        raise UnreadableRecipe("not a glTF binary (too short)")
    magic, version, _length, jlen, jtype = struct.unpack("<4sIII4s", data[:20])
    if magic != b"glTF" or version != 2:
        raise UnreadableRecipe("not a glTF 2 binary")
    if jtype != b"JSON":
        raise UnreadableRecipe("a GLB without its JSON chunk first")
    if jlen > MAX_RECIPE_BYTES:
        raise UnreadableRecipe(f"its glTF JSON is {jlen // 2**20} MB; at most {MAX_RECIPE_BYTES // 2**20} MB")
    doc = _loads(data[20 : 20 + jlen])
    asset = doc.get("asset") if isinstance(doc, dict) else None
    extras = asset.get("extras") if isinstance(asset, dict) else None
    if not isinstance(extras, dict) or "studio_recipe" not in extras:
        raise UnreadableRecipe("this GLB holds no studio recipe")
    return extras["studio_recipe"]


def _read_text(data: bytes) -> Any:
    """The fenced ``studio-recipe`` JSON block at the end of Markdown or text."""
    text = data.decode("utf-8", errors="replace")
    start = text.rfind(MD_FENCE)
    if start < 0:
        raise UnreadableRecipe("this text holds no studio-recipe block")
    body = text[start + len(MD_FENCE) :]
    end = body.find("```")
    return _loads(body[:end] if end >= 0 else body)


_READERS = {
    ".json": _read_json_file,
    ".png": _read_png,
    ".wav": _read_wav,
    ".glb": _read_glb,
    ".md": _read_text,
    ".txt": _read_text,
}


# -- JSON and the recipe's shape -----------------------------------------------------------------------------
def _loads(raw: bytes | str) -> Any:
    """JSON of bounded size and depth; ``UnreadableRecipe`` otherwise."""
    if len(raw) > MAX_RECIPE_BYTES:
        raise UnreadableRecipe(f"its recipe is over {MAX_RECIPE_BYTES // 2**20} MB")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        obj = json.loads(text)
    except UnicodeDecodeError:
        raise UnreadableRecipe("its recipe is not UTF-8 text") from None
    except RecursionError:
        raise UnreadableRecipe(f"its JSON is nested more than {MAX_RECIPE_DEPTH} deep") from None
    except ValueError as exc:
        raise UnreadableRecipe(f"its recipe is not JSON ({type(exc).__name__})") from None
    if _depth(obj) > MAX_RECIPE_DEPTH:
        raise UnreadableRecipe(f"its JSON is nested more than {MAX_RECIPE_DEPTH} deep")
    return obj


def _depth(obj: Any) -> int:
    """How deeply lists and dicts nest in ``obj`` (a walk with its own stack: no recursion to exhaust)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


# field: (types allowed, required)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), True),
    "modality": ((str,), True),
    "params": ((dict,), True),
    "model": ((dict,), False),
    "seed": ((int, type(None)), False),
    "info": ((dict,), False),
    "parents": ((list,), False),
    "created": ((str,), False),
    "studio": ((str,), False),
    "ai_generated": ((bool,), False),
    "outputs": ((dict,), False),
}


def _checked(obj: Any) -> dict[str, Any]:
    """``obj`` if it has the shape of a recipe (the studio's code relies on these types), else ``UnreadableRecipe``."""
    if not isinstance(obj, dict):
        raise UnreadableRecipe(f"its recipe is a JSON {type(obj).__name__}, not an object")
    for name, (types, required) in _FIELDS.items():
        if name not in obj:
            if required:
                raise UnreadableRecipe(f"its recipe has no {name!r}")
            continue
        value = obj[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            allowed = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise UnreadableRecipe(f"its recipe's {name!r} is a {type(value).__name__}; expected {allowed}")
    if not ID_PATTERN.fullmatch(obj["id"]) or not MODALITY_PATTERN.fullmatch(obj["modality"]):
        raise UnreadableRecipe("its recipe's 'id' or 'modality' is not a name the studio writes")
    if not all(isinstance(p, str) for p in obj.get("parents", [])):
        raise UnreadableRecipe("its recipe's 'parents' are not all recipe ids")
    if not isinstance(obj.get("info", {}).get("settings", {}), dict):
        raise UnreadableRecipe("its recipe's 'info.settings' is not an object")
    return obj
