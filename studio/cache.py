"""Content-addressed result cache on disk: identical requests come back instantly, across tabs and restarts.

Policy, as a spec:

- The key is the SHA-256 of a canonical JSON of the request (modality, model id + weights hash, params with the
  resolved seed, studio version). Canonical means sorted keys and type-tagged values, so ``1``, ``1.0`` and ``True``
  give different keys and dict order does not matter. A value that cannot be canonicalised (an object, NaN) raises
  ``Uncacheable`` and the request is simply not cached.
- An entry is one file: a magic line, a JSON header (recipe + each file's name, size and SHA-256), then the files'
  bytes. Nothing is pickled. Writes go to a temp file in the same folder, are fsynced, then ``os.replace``d into
  place, so a reader sees the whole entry or none. A reader checks every file's SHA-256, so an entry torn or
  damaged on disk is treated as a miss and removed.
- A hit touches the entry's mtime; when the total size passes the byte budget the least recently used entries are
  removed until it fits again. A lock file serialises eviction between processes.
- A temp file is named with its writer's pid; those of writers no longer alive (or older than an hour) are swept
  when a cache is opened and on each eviction.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.atomic import write_atomic

log = logging.getLogger(__name__)

MAGIC = b"STUDIO-CACHE-1\n"
SUFFIX = ".entry"
TEMP_PREFIX = ".tmp-"  # then the writer's pid: ".tmp-<pid>-<random>.entry"
TEMP_MAX_AGE_S = 3600.0


class Uncacheable(TypeError):
    """The request holds a value with no canonical form; such requests are not cached."""


def canonical(value: Any) -> Any:
    """A JSON-ready, type-tagged form of ``value``: equal only when the values are equal and of the same type."""
    if value is None:
        return ["none"]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Uncacheable(f"non-finite float {value!r}")
        return ["float", value.hex()]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ["bytes", hashlib.sha256(bytes(value)).hexdigest()]
    if isinstance(value, (list, tuple)):
        return ["list", [canonical(v) for v in value]]
    if isinstance(value, Mapping):
        items = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise Uncacheable(f"mapping key {k!r} is not a string")
            items.append([k, canonical(v)])
        return ["dict", sorted(items, key=lambda kv: kv[0])]
    raise Uncacheable(f"cannot canonicalise a {type(value).__name__}")


def cache_key(request: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of ``request``."""
    text = json.dumps(canonical(request), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class CacheEntry:
    """A cached result: output files by name (bytes) and the recipe they were made with."""

    files: dict[str, bytes]
    recipe: dict[str, Any]
    roles: dict[str, str]


def encode_entry(entry: CacheEntry) -> bytes:
    """Serialise an entry: magic, header length, JSON header, then the files' bytes in header order."""
    files = [
        {"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest(), "role": entry.roles.get(n, "data")}
        for n, b in entry.files.items()
    ]
    header = json.dumps({"recipe": entry.recipe, "files": files}, ensure_ascii=False).encode("utf-8")
    body = b"".join(entry.files.values())
    return MAGIC + len(header).to_bytes(8, "little") + header + body


def _file_list(header: Any) -> list[tuple[str, int, str, str]]:
    """(name, size, sha256, role) of each file a header lists; raises ``ValueError`` unless it is well-formed."""
    if not isinstance(header, dict) or not isinstance(header.get("recipe"), dict):
        raise ValueError("header has no recipe object")
    listed = header.get("files")
    if not isinstance(listed, list):
        raise ValueError("header has no file list")
    out = []
    for f in listed:
        if not isinstance(f, dict):
            raise ValueError("a file entry is not an object")
        name, size, digest, role = f.get("name"), f.get("size"), f.get("sha256"), f.get("role", "data")
        if not (isinstance(name, str) and isinstance(digest, str) and isinstance(role, str)):
            raise ValueError(f"file entry {f!r:.80} lacks a name, sha256 or role string")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"file {name!r} has no valid size")
        out.append((name, size, digest, role))
    if len({name for name, *_ in out}) != len(out):
        raise ValueError("a file is listed twice")
    return out


def decode_entry(blob: bytes) -> CacheEntry:
    """Parse and verify an entry; raises ``ValueError`` (and nothing else) if it is torn or damaged in any way."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 8:
        raise ValueError("not a cache entry")
    pos = len(MAGIC)
    n = int.from_bytes(blob[pos : pos + 8], "little")
    pos += 8
    try:
        header = json.loads(blob[pos : pos + n].decode("utf-8"))
    except (UnicodeDecodeError, RecursionError) as exc:  # JSONDecodeError is a ValueError already
        raise ValueError(f"unreadable header: {type(exc).__name__}") from None
    pos += n
    files: dict[str, bytes] = {}
    roles: dict[str, str] = {}
    for name, size, digest, role in _file_list(header):
        data = blob[pos : pos + size]
        pos += size
        if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"file {name!r} is damaged")
        files[name] = data
        roles[name] = role
    if pos != len(blob):
        raise ValueError("trailing bytes")
    return CacheEntry(files=files, recipe=header["recipe"], roles=roles)


def _writer_alive(temp_name: str) -> bool:
    """Whether the process named in a temp file's name may still be writing it (True when the name has no pid)."""
    pid_text = temp_name[len(TEMP_PREFIX) :].partition("-")[0]
    if not pid_text.isdigit():
        return True  # an older name without a pid: only its age can tell
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # alive under another user; or not a pid at all, left to the age rule
    return True


class ResultCache:
    """The studio's result cache in ``root`` with a total byte budget (see the module docstring for the policy)."""

    def __init__(self, root: str | os.PathLike[str], budget_bytes: int = 2 * 1024**3) -> None:
        self.root = Path(root)
        self.budget_bytes = int(budget_bytes)
        self.root.mkdir(parents=True, exist_ok=True)
        self._sweep_temp()

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"bad cache key {key!r}")
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def get(self, key: str) -> CacheEntry | None:
        """The entry for ``key``, or None on a miss (a damaged entry counts as a miss and is removed)."""
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:  # unreadable (a folder in its place, permissions): a miss, left for a person to see
            log.warning("cannot read cache entry %s: %s", key, exc)
            return None
        try:
            entry = decode_entry(blob)
        except ValueError as exc:
            log.warning("dropping damaged cache entry %s: %s", key, exc)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        """Store ``entry`` under ``key`` atomically, then evict least recently used entries over budget."""
        path = self._path(key)
        write_atomic(path, encode_entry(entry), prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=SUFFIX)
        self.evict()

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        for sub in os.scandir(self.root):
            if sub.is_dir():
                for e in os.scandir(sub.path):
                    if e.name.endswith(SUFFIX) and not e.name.startswith(TEMP_PREFIX):
                        yield e

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+b") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lf, fcntl.LOCK_UN)

    def evict(self) -> int:
        """Remove least recently used entries until the total is within budget; returns bytes freed."""
        with self._lock():
            stats = []
            for e in self._entries():
                try:
                    st = e.stat()
                except FileNotFoundError:
                    continue
                stats.append((st.st_mtime, st.st_size, e.path))
            total = sum(s for _, s, _ in stats)
            freed = 0
            for _, size, p in sorted(stats):
                if total - freed <= self.budget_bytes:
                    break
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)
                    freed += size
            self._sweep_temp()
            return freed

    def _sweep_temp(self) -> None:
        """Remove temp files left by writers that died mid-write (never readable as entries): those whose writer's
        pid is not alive, and any older than ``TEMP_MAX_AGE_S`` (a pid reused, another machine's writer)."""
        now = time.time()
        for sub in os.scandir(self.root):
            if not sub.is_dir():
                continue
            for e in os.scandir(sub.path):
                if not e.name.startswith(TEMP_PREFIX):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if not _writer_alive(e.name) or now - e.stat().st_mtime > TEMP_MAX_AGE_S:
                        os.unlink(e.path)

    def size_bytes(self) -> int:
        """Total bytes of all entries."""
        total = 0
        for e in self._entries():
            with contextlib.suppress(FileNotFoundError):
                total += e.stat().st_size
        return total

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock():
            for e in list(self._entries()):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(e.path)
