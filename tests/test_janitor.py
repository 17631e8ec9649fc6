"""Disk budgets: ``prune`` on tmp folders, and the ``Janitor`` that runs it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from studio.janitor import Budget, Janitor, folder_bytes, prune


def _unit(folder: Path, name: str, size: int, age_s: float, now: float) -> Path:
    """A result-like folder of two files, ``size`` bytes in all, last written ``age_s`` ago."""
    unit = folder / name
    unit.mkdir(parents=True)
    for part, n in (("a.bin", size // 2), ("b.bin", size - size // 2)):
        (unit / part).write_bytes(b"x" * n)
        os.utime(unit / part, (now - age_s, now - age_s))
    os.utime(unit, (now - age_s, now - age_s))
    return unit


def test_prune_removes_oldest_first_keeps_newest_and_fits_the_budget(tmp_path):
    now = time.time()
    units = [_unit(tmp_path, f"terrain-{i}", 1000, age_s=100 - i, now=now) for i in range(10)]
    freed = prune(tmp_path, 3500, now=now)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == [u.name for u in units[-3:]]
    assert freed == 7000 and folder_bytes(tmp_path) == 3000 <= 3500


def test_a_recently_touched_file_makes_its_unit_young(tmp_path):
    now = time.time()
    old = _unit(tmp_path, "hash-old", 1000, age_s=500, now=now)
    _unit(tmp_path, "hash-mid", 1000, age_s=300, now=now)
    _unit(tmp_path, "hash-new", 1000, age_s=100, now=now)
    os.utime(old / "a.bin", (now - 10, now - 10))  # Gradio handed this cached file out again
    prune(tmp_path, 2000, now=now)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hash-new", "hash-old"]


def test_newest_unit_stays_even_over_budget(tmp_path):
    now = time.time()
    _unit(tmp_path, "old", 100, age_s=10, now=now)
    _unit(tmp_path, "huge", 5000, age_s=1, now=now)
    prune(tmp_path, 1000, now=now)
    assert [p.name for p in tmp_path.iterdir()] == ["huge"]


def test_young_staging_folders_are_skipped_old_ones_pruned(tmp_path):
    now = time.time()
    _unit(tmp_path, ".staging-young", 1000, age_s=5, now=now)
    _unit(tmp_path, ".staging-stale", 1000, age_s=3600, now=now)
    _unit(tmp_path, "terrain-a", 1000, age_s=20, now=now)
    _unit(tmp_path, "terrain-b", 1000, age_s=1, now=now)
    prune(tmp_path, 0, now=now)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".staging-young", "terrain-b"]


def test_files_in_a_collection_are_units_of_their_own(tmp_path):
    now = time.time()
    thumbs = tmp_path / "thumbs"
    thumbs.mkdir()
    for i in range(5):
        (thumbs / f"{i}.png").write_bytes(b"p" * 100)
        os.utime(thumbs / f"{i}.png", (now - 50 + i, now - 50 + i))
    _unit(tmp_path, "image-new", 100, age_s=1, now=now)
    prune(tmp_path, 300, collections=("thumbs",), now=now)
    assert sorted(p.name for p in thumbs.iterdir()) == ["3.png", "4.png"]
    assert (tmp_path / "image-new").is_dir()


def test_missing_folder_frees_nothing(tmp_path):
    assert prune(tmp_path / "absent", 0) == 0


def test_janitor_sweeps_every_budget_and_stops(tmp_path):
    now = time.time()
    a, b = tmp_path / "outputs", tmp_path / "gradio"
    for folder in (a, b):
        for i in range(4):
            _unit(folder, f"u{i}", 1000, age_s=10 - i, now=now)
    janitor = Janitor([Budget(a, 2000), Budget(b, 1000)], every_s=3600)
    assert janitor.sweep() == {a: 2000, b: 3000}
    janitor.start()
    assert janitor.running
    janitor.nudge()
    janitor.stop()
    assert not janitor.running
