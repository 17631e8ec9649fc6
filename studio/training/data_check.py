"""The data check: what a run would learn from, judged before anything runs.

Sources: uploaded files (pictures, caption files, zips), one zip, or a folder on the server under one of the roots
the admin allowed with ``--data-dir`` (nothing outside them is read; links are not followed). Every file is either
used or refused with its reason:

- not an image, or not one of PNG/JPEG/WebP/BMP/GIF; truncated or corrupt; a decompression bomb or an absurd size
  (judged from the header, before any pixel is decoded: ``studio.generators.image.upload``);
- in a zip: an entry whose name climbs out of its folder (``..``, an absolute path), a link, a zip inside the zip,
  an entry larger than ``MAX_FILE_BYTES`` or compressed more than ``MAX_RATIO``:1 (a zip bomb); a zip whose entries
  add up to more than ``MAX_TOTAL_BYTES`` or number more than ``MAX_FILES`` is refused whole.

Captions, first found wins: a sidecar ``<name>.txt``, a line of ``captions.txt`` (``file<TAB>caption`` or
``file: caption``), ``metadata.jsonl`` (``{"file_name": ..., "text": ...}``, the Hugging Face imagefolder layout),
else the file name ("red_apple-2.png" -> "red apple"). Usable pictures are preprocessed as the model will see them:
composited on white, centre-cropped to a square and resized to ``size`` px.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from studio.generators.image.upload import open_checked, opened, to_rgb
from studio.params import ParamError

MAX_FILES = 5000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 1024**3
MAX_RATIO = 200
CAPTION_FILES = ("captions.txt", "metadata.jsonl")
MAX_CAPTION_CHARS = 300


class DataError(ValueError):
    """The data as a whole cannot be used (a source outside the allowed roots, a zip refused whole)."""


@dataclass(frozen=True)
class Refused:
    """A file that will not be used, and why."""

    name: str
    reason: str


@dataclass
class DataReport:
    """The outcome of a data check: the usable pictures (preprocessed), and everything refused.

    ``images``: (N, size, size, 3) uint8; ``captions``/``names``/``sizes``: one per picture; ``caption_sources``:
    how many captions came from each kind of source; ``manifest_hash``: SHA-256 of the sorted (name, content hash,
    caption) triples, which the model card records.
    """

    images: np.ndarray
    captions: list[str]
    names: list[str]
    sizes: list[tuple[int, int]]
    refused: list[Refused] = field(default_factory=list)
    caption_sources: dict[str, int] = field(default_factory=dict)
    manifest_hash: str = ""
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> int:
        return len(self.captions)

    def manifest(self, licence: str = "") -> dict[str, object]:
        """The JSON summary a run keeps (``data/manifest.json``) and its model card quotes."""
        return {
            "source": self.source,
            "usable": self.usable,
            "refused": [[r.name, r.reason] for r in self.refused],
            "caption_sources": self.caption_sources,
            "caption_examples": list(dict.fromkeys(self.captions))[:8],
            "sizes": size_summary(self.sizes),
            "manifest_sha256": self.manifest_hash,
            "licence": licence,
            "files": self.names[:2000],
        }


@dataclass
class _Entry:
    name: str  # relative, forward slashes
    data: bytes


def check_uploads(paths: Sequence[tuple[str, Path]], size: int = 64) -> DataReport:
    """Check uploaded files, given as (name the visitor gave, path of the server's copy); zips are opened."""
    entries: list[_Entry] = []
    refused: list[Refused] = []
    for name, path in paths[: MAX_FILES + 1]:
        shown = PurePosixPath(name.replace("\\", "/")).name or "upload"
        try:
            nbytes = path.stat().st_size
        except OSError as exc:
            refused.append(Refused(shown, f"could not be read ({exc.strerror or exc})"))
            continue
        if nbytes > MAX_TOTAL_BYTES or (nbytes > MAX_FILE_BYTES and not shown.lower().endswith(".zip")):
            refused.append(Refused(shown, f"is {nbytes / 1e6:.0f} MB; a file may have at most {_mb(MAX_FILE_BYTES)}"))
            continue
        data = path.read_bytes()
        if zipfile.is_zipfile(io.BytesIO(data)):
            got, bad = _zip_entries(data, prefix=PurePosixPath(shown).stem)
            entries += got
            refused += bad
        else:
            entries.append(_Entry(shown, data))
    if len(paths) > MAX_FILES:
        refused.append(Refused("(more files)", f"only the first {MAX_FILES} files are read"))
    return _report(entries, refused, size, source=f"{len(paths)} uploaded file(s)")


def check_zip(data: bytes, size: int = 64, name: str = "upload.zip") -> DataReport:
    """Check the pictures inside one zip archive (given as bytes)."""
    entries, refused = _zip_entries(data, prefix="")
    return _report(entries, refused, size, source=f"zip {name}")


def check_folder(folder: str | os.PathLike[str], roots: Sequence[Path], size: int = 64) -> DataReport:
    """Check a folder on the server; it must lie inside one of ``roots`` (the ``--data-dir`` flags)."""
    target = resolve_in_roots(folder, roots)
    entries: list[_Entry] = []
    refused: list[Refused] = []
    total = 0
    for path in _walk(target):
        rel = path.relative_to(target).as_posix()
        if len(entries) + len(refused) >= MAX_FILES:
            refused.append(Refused("(more files)", f"only the first {MAX_FILES} files are read"))
            break
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            refused.append(Refused(rel, "is a link; links are not followed"))
            continue
        if st.st_size > MAX_FILE_BYTES:
            refused.append(Refused(rel, f"is {st.st_size / 1e6:.0f} MB; a file may have at most {_mb(MAX_FILE_BYTES)}"))
            continue
        total += st.st_size
        if total > MAX_TOTAL_BYTES:
            refused.append(Refused(rel, f"the folder holds more than {_mb(MAX_TOTAL_BYTES)}; the rest is not read"))
            break
        entries.append(_Entry(rel, path.read_bytes()))
    return _report(entries, refused, size, source=f"folder {target}")


def check_path(path: Path, size: int = 64) -> DataReport:
    """Check a folder or a zip given on the command line (the shell's user may read any of their files)."""
    if path.is_dir():
        return check_folder(path, [path], size)
    if path.is_file() and zipfile.is_zipfile(path):
        if path.stat().st_size > MAX_TOTAL_BYTES:
            raise DataError(f"--data {path}: the zip is larger than {_mb(MAX_TOTAL_BYTES)}")
        return check_zip(path.read_bytes(), size, path.name)
    raise DataError(f"--data {path}: not a folder or a zip file")


def resolve_in_roots(folder: str | os.PathLike[str], roots: Sequence[Path]) -> Path:
    """``folder`` resolved (relative paths against the first root), refused unless inside one of ``roots``."""
    if not roots:
        raise DataError("this studio reads no server folders (start it with --data-dir DIR to allow one)")
    raw = Path(folder)
    candidate = raw if raw.is_absolute() else Path(roots[0]) / raw
    target = candidate.resolve()
    for root in roots:
        if target.is_relative_to(Path(root).resolve()):
            if not target.is_dir():
                raise DataError(f"{folder}: no such folder under the allowed data folders")
            return target
    allowed = ", ".join(str(r) for r in roots)
    raise DataError(f"{folder}: outside the folders this studio may read ({allowed})")


def size_summary(sizes: Sequence[tuple[int, int]]) -> dict[str, object]:
    """Smallest, largest and most common (width, height) of the usable pictures."""
    if not sizes:
        return {}
    common = Counter(sizes).most_common(3)
    smallest: tuple[int, int] = min(sizes, key=_area)
    largest: tuple[int, int] = max(sizes, key=_area)
    return {
        "min": [smallest[0], smallest[1]],
        "max": [largest[0], largest[1]],
        "common": [[list(s), n] for s, n in common],
    }


def _area(size: tuple[int, int]) -> int:
    return size[0] * size[1]


def caption_from_name(name: str) -> str:
    """A caption made of a file name: "red_apple-02.png" -> "red apple"."""
    stem = PurePosixPath(name).stem
    words = re.sub(r"[_\-.]+", " ", stem)
    words = re.sub(r"\b\d+\b", " ", words)
    return " ".join(words.split()).lower() or "picture"


# -- internals --------------------------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / 2**30:.0f} GB" if n >= 2**30 else f"{n // 2**20} MB"


def _walk(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name
        for d in list(dirnames):
            if (Path(dirpath) / d).is_symlink():
                dirnames.remove(d)


def _climbs_out(name: str) -> bool:
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\\" in name:
        return True
    return any(part == ".." for part in PurePosixPath(name).parts)


def _zip_entries(data: bytes, prefix: str) -> tuple[list[_Entry], list[Refused]]:
    """The entries of a zip, each read with its size capped; what cannot be used is refused with its reason."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        return [], [Refused(prefix or "zip", f"is not a readable zip ({exc})")]
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_FILES:
        raise DataError(f"the zip holds {len(infos)} files; at most {MAX_FILES} are read")
    declared = sum(i.file_size for i in infos)
    if declared > MAX_TOTAL_BYTES:
        raise DataError(
            f"the zip would unpack to {declared / 1e9:.1f} GB; at most {_mb(MAX_TOTAL_BYTES)} (a zip bomb?)"
        )
    entries: list[_Entry] = []
    refused: list[Refused] = []
    for info in infos:
        name = info.filename
        if _climbs_out(name):
            refused.append(Refused(name, "climbs out of the zip's folder (.. or an absolute path); not read"))
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            refused.append(Refused(name, "is a link inside the zip; links are not followed"))
            continue
        if name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith("._"):
            continue  # macOS resource forks: not the user's pictures
        if info.file_size > MAX_FILE_BYTES:
            refused.append(
                Refused(name, f"would unpack to {info.file_size / 1e6:.0f} MB; at most {_mb(MAX_FILE_BYTES)}")
            )
            continue
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            refused.append(Refused(name, f"is compressed {info.file_size // info.compress_size}:1 (a zip bomb?)"))
            continue
        try:
            with zf.open(info) as fh:
                content = fh.read(MAX_FILE_BYTES + 1)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
            refused.append(Refused(name, f"could not be unpacked ({exc})"))
            continue
        if len(content) > MAX_FILE_BYTES:
            refused.append(Refused(name, f"unpacks to more than {_mb(MAX_FILE_BYTES)}"))
            continue
        if zipfile.is_zipfile(io.BytesIO(content)):
            refused.append(Refused(name, "is a zip inside the zip; not opened"))
            continue
        entries.append(_Entry(name, content))
    return entries, refused


def _caption_tables(entries: Iterable[_Entry]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(sidecar captions by image stem path, captions.txt lines, metadata.jsonl) keyed by relative name."""
    sidecars: dict[str, str] = {}
    listed: dict[str, str] = {}
    meta: dict[str, str] = {}
    for e in entries:
        base = PurePosixPath(e.name)
        folder = base.parent.as_posix()
        text = e.data[: 4 * 1024 * 1024].decode("utf-8", errors="replace")
        if base.name.lower() == "captions.txt":
            for line in text.splitlines():
                for sep in ("\t", ": ", ","):
                    if sep in line:
                        key, _, caption = line.partition(sep)
                        listed[_join(folder, key.strip())] = caption.strip()
                        break
        elif base.name.lower() == "metadata.jsonl":
            for line in text.splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and isinstance(row.get("file_name"), str):
                    text_value = row.get("text", row.get("caption"))
                    if isinstance(text_value, str):
                        meta[_join(folder, row["file_name"])] = text_value.strip()
        elif base.suffix.lower() == ".txt":
            sidecars[base.with_suffix("").as_posix()] = text.strip()
    return sidecars, listed, meta


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder}/{name}"


def _clean_caption(text: str) -> str:
    from studio.params import clean_text

    return " ".join(clean_text(text).split())[:MAX_CAPTION_CHARS]


def _is_caption_file(name: str) -> bool:
    base = PurePosixPath(name)
    return base.name.lower() in CAPTION_FILES or base.suffix.lower() == ".txt"


def _report(entries: list[_Entry], refused: list[Refused], size: int, source: str) -> DataReport:
    sidecars, listed, meta = _caption_tables(e for e in entries if _is_caption_file(e.name))
    images: list[np.ndarray] = []
    captions: list[str] = []
    names: list[str] = []
    sizes: list[tuple[int, int]] = []
    sources: Counter[str] = Counter()
    manifest = []
    notes: list[str] = []
    for e in entries:
        if _is_caption_file(e.name):
            continue
        try:
            real = (opened(e.name, e.data).format or "").lower()  # header only
            im = open_checked(e.name, e.data)
        except ParamError as exc:
            refused.append(Refused(e.name, exc.message))
            continue
        claimed = PurePosixPath(e.name).suffix.lower().lstrip(".")
        if claimed and real and claimed not in (real, "jpg" if real == "jpeg" else real):
            notes.append(f"{e.name} is really a {real.upper()} file (used)")
        kind, caption = _find_caption(e.name, (sidecars, listed, meta))
        caption = _clean_caption(caption) or caption_from_name(e.name)
        sizes.append(im.size)
        images.append(preprocess(im, size))
        captions.append(caption)
        names.append(e.name)
        sources[kind] += 1
        manifest.append((e.name, hashlib.sha256(e.data).hexdigest(), caption))
    digest = hashlib.sha256(json.dumps(sorted(manifest)).encode()).hexdigest()
    stack = np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)
    return DataReport(stack, captions, names, sizes, refused, dict(sources), digest, source, notes)


def _find_caption(name: str, tables: tuple[dict[str, str], dict[str, str], dict[str, str]]) -> tuple[str, str]:
    """(where the caption came from, the caption) of the picture ``name``; the file name when no table has it."""
    sidecars, listed, meta = tables
    stem = PurePosixPath(name).with_suffix("").as_posix()
    short = PurePosixPath(name).name
    lookups = (("sidecar .txt", sidecars, stem), ("captions.txt", listed, name), ("captions.txt", listed, short))
    for kind, table, key in (*lookups, ("metadata.jsonl", meta, name)):
        if table.get(key):
            return kind, table[key]
    return "file name", caption_from_name(name)


def preprocess(im: object, size: int) -> np.ndarray:
    """A checked ``PIL.Image`` as the model sees it: RGB on white, centre-cropped square, ``size`` px; (S, S, 3)."""
    from PIL import Image

    rgb = to_rgb(im)
    w, h = rgb.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)
