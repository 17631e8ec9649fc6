"""Disk budgets for the folders the studio writes: each is pruned, oldest first, back under its byte budget.

Policy, as a spec:

- A folder is made of units: each direct child (a result's folder, a Gradio cache folder, a file) is one unit,
  kept or removed whole. The children of a *collection* subfolder (``outputs/thumbs``, ``outputs/sweeps``: many
  small, independent files) are units of their own instead.
- A unit's age is the newest mtime of the unit or anything in it (Gradio touches a cached file it hands out again,
  so a file in use looks young). Units are removed oldest first while the folder's total is over budget.
- The newest unit is never removed (it is the result just made), and neither is a ``.staging-*`` folder younger
  than a minute (a result being written); so one unit larger than the budget leaves the folder over it.
- ``prune`` is a plain function; ``Janitor`` runs it over every budget on a daemon thread, every ``every_s``
  seconds and soon after ``nudge()`` (which a finished request calls), but at most once every ``min_gap_s``: a
  sweep walks every file of the folders, and a busy studio must not pay that walk per request. Nothing starts at
  import or construction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"
STAGING_GRACE_S = 60.0


@dataclass(frozen=True)
class Budget:
    """A folder the studio writes and the bytes it may hold."""

    folder: Path
    budget_bytes: int
    collections: tuple[str, ...] = ()  # subfolders whose files are each a unit of their own


@dataclass(frozen=True)
class _Unit:
    path: Path
    size: int  # bytes of every file in it
    newest: float  # newest mtime of the unit and anything in it
    is_dir: bool


def _measure(path: Path) -> _Unit | None:
    """Size and newest mtime of ``path`` (a file or a folder, walked without following links); None if gone."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if not os.path.isdir(path) or path.is_symlink():
        return _Unit(path, st.st_size, st.st_mtime, False)
    size, newest = 0, st.st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                s = os.lstat(os.path.join(root, name))
                newest = max(newest, s.st_mtime)
                size += s.st_size if not stat.S_ISDIR(s.st_mode) else 0
    return _Unit(path, size, newest, True)


def _units(folder: Path, collections: Sequence[str]) -> Iterator[_Unit]:
    try:
        children = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for child in children:
        path = Path(child.path)
        if child.name in collections and child.is_dir(follow_symlinks=False):
            yield from _units(path, ())
            continue
        unit = _measure(path)
        if unit is not None:
            yield unit


def _remove(unit: _Unit) -> bool:
    try:
        if unit.is_dir:
            shutil.rmtree(unit.path)
        else:
            os.unlink(unit.path)
    except FileNotFoundError:
        return False  # someone else removed it first
    except OSError as exc:
        log.warning("could not remove %s: %s", unit.path, exc)
        return False
    return True


def folder_bytes(folder: str | os.PathLike[str]) -> int:
    """Total bytes of the files under ``folder`` (0 when it does not exist)."""
    unit = _measure(Path(folder))
    return unit.size if unit is not None else 0


def prune(
    folder: str | os.PathLike[str],
    budget_bytes: int,
    collections: Sequence[str] = (),
    now: float | None = None,
) -> int:
    """Remove the oldest units of ``folder`` until it holds at most ``budget_bytes``; returns the bytes freed.

    See the module docstring for what a unit is and what is never removed.
    """
    now = time.time() if now is None else now
    units = sorted(_units(Path(folder), collections), key=lambda u: u.newest)
    total = sum(u.size for u in units)
    freed = 0
    for unit in units[:-1]:  # the newest stays
        if total - freed <= budget_bytes:
            break
        if unit.path.name.startswith(STAGING_PREFIX) and now - unit.newest < STAGING_GRACE_S:
            continue
        if _remove(unit):
            freed += unit.size
    return freed


class Janitor:
    """Keeps every ``Budget`` folder within its bytes: ``sweep()`` now, or ``start()`` a sweeper thread that sweeps
    every ``every_s`` seconds and soon after each ``nudge()``; ``stop()`` ends it."""

    def __init__(self, budgets: Sequence[Budget], every_s: float = 60.0, min_gap_s: float = 5.0) -> None:
        self.budgets = list(budgets)
        self.every_s = float(every_s)
        self.min_gap_s = float(min_gap_s)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sweeping = threading.Lock()

    def sweep(self) -> dict[Path, int]:
        """Prune every folder to its budget once; returns bytes freed per folder."""
        with self._sweeping:
            freed = {b.folder: prune(b.folder, b.budget_bytes, b.collections) for b in self.budgets}
        if any(freed.values()):
            log.info("freed %s", ", ".join(f"{n / 1e6:.1f} MB in {f}" for f, n in freed.items() if n))
        return freed

    def nudge(self) -> None:
        """Ask the sweeper thread (if started) for a sweep soon; returns at once."""
        self._wake.set()

    def start(self) -> None:
        """Start the sweeper thread (once)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="studio-janitor", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the sweeper thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the sweeper thread and wait for it (up to ``timeout_s``)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except OSError:
                log.exception("sweeping the studio's folders failed; trying again later")
            if self._stop.wait(self.min_gap_s):  # nudges during the gap are served by the next sweep
                break
            self._wake.wait(max(self.every_s - self.min_gap_s, 0.0))
            self._wake.clear()
