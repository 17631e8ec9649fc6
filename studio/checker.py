"""Check a file: what it is, in one line, from its Content Credentials, its watermark and its recipe.

``check_file`` reads all three from any bytes a stranger hands over (the Check panel, ``python -m studio verify``)
and says in one line what the file is:

- "made by this studio with MODEL, seed S, on DATE; unchanged since it was signed" (valid credentials);
- "edited since it was made: ..." (credentials whose hashes no longer match the content);
- "watermark found, no credentials (re-encoded?)" (the pixels or samples still carry the mark);
- "a studio recipe, but no credentials and no watermark: ..." (plain text anyone could have written);
- "no sign of this studio"; or "unreadable: ..." / "too large: ..." within its budget.

The format is judged from the bytes, never the name (a WAV called ``.png`` is read as a WAV). Each reader is
bounded before it starts (``MAX_FILE_BYTES``, the recipe reader's and the watermark reader's own limits), and no
exception escapes: a checker of strangers' files answers every file with a line, never a traceback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.credentials.reading import Credentials, read_credentials
from studio.credentials.signing import SIDECAR_SUFFIX
from studio.recipe_reader import UnreadableRecipe, load_recipe
from studio.watermark.files import Mark, read_mark

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024 * 1024
SELF_MADE_NOTE = "signed with this installation's self-made certificate, which no one else vouches for"


@dataclass
class FileCheck:
    """One file's answer: the one-line ``verdict`` and what it rests on (see the module docstring)."""

    name: str
    verdict: str
    studio: bool = False
    credentials: Credentials | None = None
    watermark: Mark | None = None
    recipe: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``verify --json``: file, verdict, studio, credentials, watermark, recipe."""
        mark = self.watermark.as_dict() if self.watermark else {"found": False, "confidence": 0.0}
        creds = self.credentials.as_dict() if self.credentials else None
        return {
            "file": self.name,
            "verdict": self.verdict,
            "studio": self.studio,
            "credentials": creds,
            "watermark": mark,
            "recipe": self.recipe,
        }


def check_path(path: Path) -> FileCheck:
    """``check_file`` on a file on disk, with the ``<name>.c2pa`` sidecar beside it when there is one."""
    name = path.name
    try:
        size = path.stat().st_size
        if not path.is_file():
            return FileCheck(name, "unreadable: not a file")
        if size > MAX_FILE_BYTES:
            return FileCheck(
                name, f"too large: {size / 2**20:.0f} MB; files over {MAX_FILE_BYTES // 2**20} MB are not read"
            )
        if name.lower().endswith(SIDECAR_SUFFIX) and path.with_name(name[: -len(SIDECAR_SUFFIX)]).is_file():
            return check_path(path.with_name(name[: -len(SIDECAR_SUFFIX)]))  # a sidecar: check what it describes
        data = path.read_bytes()
        side = path.with_name(name + SIDECAR_SUFFIX)
        sidecar = side.read_bytes() if side.is_file() and side.stat().st_size <= MAX_FILE_BYTES else None
    except OSError as exc:
        return FileCheck(name, f"unreadable: {exc.strerror or exc}")
    return check_file(name, data, sidecar)


def check_file(name: str, data: bytes, sidecar: bytes | None = None) -> FileCheck:
    """The one-line answer for a file's bytes (and its sidecar manifest, if any); never raises."""
    if len(data) > MAX_FILE_BYTES:
        return FileCheck(
            name, f"too large: {len(data) / 2**20:.0f} MB; files over {MAX_FILE_BYTES // 2**20} MB are not read"
        )
    if not data:
        return FileCheck(name, "unreadable: the file is empty")
    creds = _guarded("credentials", lambda: read_credentials(data, sidecar))
    mark = _guarded("watermark", lambda: read_mark(data)) or Mark(False, 0.0, note="could not be read")
    recipe = _guarded("recipe", lambda: _recipe(name, data))
    check = FileCheck(name, "", credentials=creds, watermark=mark, recipe=recipe)
    check.studio = bool((creds is not None and creds.generation is not None) or mark.found or recipe is not None)
    check.verdict = _verdict(creds, mark, recipe)
    return check


def _guarded(what: str, read: Any) -> Any:
    """``read()``, or None if it failed in any way: third-party decoders (PIL, soundfile, c2pa) may raise things
    their documentation does not list on hostile bytes, and one failing reader must not hide the others."""
    try:
        return read()
    except Exception:
        log.info("reading the %s failed", what, exc_info=True)
        return None


def _recipe(name: str, data: bytes) -> dict[str, Any] | None:
    """The recipe, read by the format the bytes are (not the name's extension); None when there is none."""
    try:
        return load_recipe(_sniffed_name(name, data), data)
    except UnreadableRecipe:
        return None


def _sniffed_name(name: str, data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "file.png"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "file.wav"
    if data[:4] == b"glTF":
        return "file.glb"
    if data.lstrip()[:1] == b"{":
        return "file.json"
    return name if name.lower().endswith((".md", ".txt")) else "file.md"


def _verdict(creds: Credentials | None, mark: Mark, recipe: dict[str, Any] | None) -> str:
    mine = creds is not None and creds.generation is not None
    if creds is not None and creds.state == "valid" and mine:
        return _made_line(creds) + ("" if creds.trusted else f" ({SELF_MADE_NOTE})")
    if creds is not None and creds.state == "invalid":
        why = f" ({creds.failures[0]})" if creds.failures else ""
        if mine:
            return f"edited since it was made: its Content Credentials no longer match its content{why}"
        return f"its Content Credentials do not match its content{why}; not made by this studio"
    if creds is not None and creds.state == "valid":
        ai = ", AI-generated" if creds.digital_source_type and "algorithmic" in creds.digital_source_type else ""
        return f"signed by {creds.signer or 'someone'} with {creds.generator or 'another tool'}{ai}: not this studio's"
    if creds is not None and creds.state == "unreadable":
        found = [
            w for w, there in (("a studio recipe", recipe is not None), ("a studio watermark", mark.found)) if there
        ]
        tail = f"; it carries {' and '.join(found)} (damaged or cut short?)" if found else ""
        return f"unreadable: its structure is broken ({creds.error}){tail}"
    if mark.found:
        tail = ""
        if recipe is not None:
            tail = (
                "; it matches its recipe"
                if mark.matches(recipe["id"])
                else "; its recipe is not the one it was made with"
            )
        return f"watermark found, no credentials (re-encoded?){tail}"
    if recipe is not None:
        return "a studio recipe, but no credentials and no watermark: its claims cannot be checked"
    if mark.note and mark.note.startswith("unreadable"):
        return mark.note
    return "no sign of this studio"


def _made_line(creds: Credentials) -> str:
    gen = creds.generation or {}
    model = gen.get("model") if isinstance(gen.get("model"), dict) else {}
    model_id = str((model or {}).get("id") or "an unknown model")[:100]
    seed = gen.get("seed")
    date = str(gen.get("created") or "")[:10] or "an unknown date"
    seed_text = f", seed {seed}" if isinstance(seed, int) else ""
    return f"made by this studio with {model_id}{seed_text}, on {date}; unchanged since it was signed"
