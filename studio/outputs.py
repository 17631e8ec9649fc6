"""The outputs folder: where each result's files are written for the browser to fetch, and the one place that turns
what a browser sends back (a recipe id, a file name) into a path on the server.

Policy, as a spec:

- A result's files live in ``<root>/<modality>-<tag>/``, where ``tag`` is an HMAC of the recipe id under the server's
  own key (``studio/keys.py``; it never leaves the server). The same result always lands in the same folder, so a
  cache hit writes nothing, but nobody can work out the folder of a result from its prompt and seed (the recipe id
  is the request's cache key, which anyone can compute): another visitor's files cannot be fetched by guessing.
- What comes back from a browser (history entries, recipes, gallery values, states) is data, never a path. A file
  is found only by ``(modality, recipe id, file name)``: the modality must be a known one, the id 64 hex digits, the
  name a plain file name; the path is resolved and must lie inside ``root`` with no symlink on the way.
- A new folder is filled under a temporary name and renamed into place, so a concurrent request for the same result
  never sees half of it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from studio.atomic import write_atomic

_RECIPE_ID = re.compile(r"[0-9a-f]{64}")
_MODALITY = re.compile(r"[a-z]{1,16}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def valid_recipe_id(value: Any) -> str | None:
    """``value`` if it is a recipe id (64 lowercase hex digits), else None."""
    return value if isinstance(value, str) and _RECIPE_ID.fullmatch(value) else None


def valid_file_name(value: Any) -> str | None:
    """``value`` if it is a plain file name the studio could have written (no folder, no ``..``), else None."""
    if not isinstance(value, str) or not _FILE_NAME.fullmatch(value) or ".." in value:
        return None
    return value


def inside(path: Path, root: Path) -> bool:
    """True when ``path`` resolves to a place under ``root`` and no part of it below ``root`` is a symlink."""
    root = root.resolve()
    try:
        rel = path.absolute().relative_to(root)
    except ValueError:
        return False
    if ".." in rel.parts:
        return False
    probe = root
    for part in rel.parts:
        probe = probe / part
        if probe.is_symlink():
            return False
    return path.resolve().is_relative_to(root)


class Outputs:
    """The outputs folder ``root`` of one studio, with its key (see the module docstring for the policy)."""

    def __init__(self, root: str | os.PathLike[str], key: bytes, modalities: Iterable[str]) -> None:
        self.root = Path(root).resolve()
        self._key = key
        self.modalities = frozenset(modalities)

    def tag(self, recipe_id: str) -> str:
        """The folder tag of a recipe id: 32 hex digits of HMAC-SHA256 under the server's key."""
        return hmac.new(self._key, recipe_id.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def folder(self, modality: Any, recipe_id: Any) -> Path | None:
        """The folder of a result (it may not exist yet), or None when ``modality`` or ``recipe_id`` is not valid."""
        rid = valid_recipe_id(recipe_id)
        if rid is None or not isinstance(modality, str) or modality not in self.modalities:
            return None
        if not _MODALITY.fullmatch(modality):
            return None
        return self.root / f"{modality}-{self.tag(rid)}"

    def find(self, modality: Any, recipe_id: Any, name: Any = None) -> Path | None:
        """An existing file (or, with no ``name``, folder) of a result, or None; every part is checked first."""
        folder = self.folder(modality, recipe_id)
        if folder is None:
            return None
        if name is None:
            return folder if folder.is_dir() and inside(folder, self.root) else None
        fname = valid_file_name(name)
        if fname is None:
            return None
        path = folder / fname
        return path if path.is_file() and inside(path, self.root) else None

    def files(self, modality: Any, recipe_id: Any) -> list[Path]:
        """The files of a result's folder, sorted by name ([] when there is none)."""
        folder = self.find(modality, recipe_id)
        if folder is None:
            return []
        return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())

    def write(self, modality: str, recipe_id: str, files: dict[str, bytes]) -> dict[str, Path]:
        """Write ``files`` (name → bytes) into the result's folder unless they are all there; returns name → path."""
        folder = self.folder(modality, recipe_id)
        if folder is None:
            raise ValueError(f"not a result the studio can write: {modality!r}, {recipe_id!r}")
        for name in files:
            if valid_file_name(name) is None:
                raise ValueError(f"not a plain file name: {name!r}")
        if not folder.is_dir() or not all((folder / n).is_file() for n in files):
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
            for name, data in files.items():
                (staging / name).write_bytes(data)
            try:
                os.replace(staging, folder)
            except OSError:  # another request put the same folder in place first (or a stale one is there)
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(staging, folder)
        else:
            os.utime(folder)  # recently used: the outputs budget prunes the oldest folders first
        return {name: folder / name for name in files}

    def extra(self, kind: str, name: str, data: bytes) -> Path:
        """Write a file the studio makes on the side (a history card, a sweep grid) under ``root/<kind>/``."""
        if not _MODALITY.fullmatch(kind) or valid_file_name(name) is None:
            raise ValueError(f"not a plain name: {kind!r}/{name!r}")
        path = self.root / kind / name
        if not path.is_file():
            write_atomic(path, data)
        return path
