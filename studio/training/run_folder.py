"""A training run's folder: everything a run reads after its data check and everything it writes lives here.

    <cache dir>/training/<name>/
        params.json          the run's settings (TrainParams)
        status.json          queued | running | stopped | finished | failed, the step reached, the error if any
        data/images.npz      the checked, preprocessed pictures (uint8) and their captions
        data/manifest.json   the data check's summary: files, sizes, captions, the manifest hash, licence
        metrics.jsonl        one line per logged step: every loss term, the learning rate, the validation loss
        samples/step-N.png   samples from the fixed prompt every ``sample_every`` steps
        checkpoint/          state.safetensors + state.json: weights, optimiser, step and RNG states (Resume)
        model/               the finished model in the built-ins' layout, with its README.md card

The catalog lists ``model/`` of every finished run as a model of its modality. ``RunFolder.path`` refuses any
relative path that would land outside the folder, and names are checked (``TrainParams.check``) before a folder
is made, so nothing a run writes can land outside it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from studio.atomic import write_atomic

STATES = ("queued", "running", "stopped", "finished", "failed")


class RunFolder:
    """The folder of the run called ``name`` under ``root`` (see the module docstring)."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = Path(root)
        self.name = name
        self.dir = self.root / name
        if self.dir.resolve().parent != self.root.resolve():
            raise ValueError(f"run name {name!r} would escape the training folder")

    def path(self, rel: str) -> Path:
        """``dir/rel``, refused when it would lie outside the run's folder."""
        target = (self.dir / rel).resolve()
        if not target.is_relative_to(self.dir.resolve()):
            raise ValueError(f"{rel!r} lies outside the run folder")
        return self.dir / rel

    def exists(self) -> bool:
        return (self.dir / "params.json").is_file()

    # -- small JSON files ----------------------------------------------------------------------------------
    def write_json(self, rel: str, value: Any) -> None:
        write_atomic(self.path(rel), (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())

    def read_json(self, rel: str, default: Any = None) -> Any:
        path = self.path(rel)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return default
        except (OSError, ValueError):
            return default

    def status(self) -> dict[str, Any]:
        """The run's status: ``{"state", "step", "steps", "error", "updated"}``."""
        return self.read_json("status.json", {"state": "stopped", "step": 0})

    def set_status(self, state: str, **facts: Any) -> None:
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        current = self.status()
        if state != "failed":
            current.pop("error", None)
        current.update(facts, state=state, updated=time.time())
        self.write_json("status.json", current)

    # -- metrics -------------------------------------------------------------------------------------------
    def log_metrics(self, row: dict[str, Any]) -> None:
        """Append one row to ``metrics.jsonl`` (flushed, so a watcher sees it at once)."""
        path = self.path("metrics.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, sort_keys=True) + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        """Every logged row, in order (a torn last line from a crash is skipped)."""
        path = self.path("metrics.jsonl")
        if not path.is_file():
            return []
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        return rows

    def truncate_metrics(self, after_step: int) -> None:
        """Drop rows past ``after_step`` (a resumed run repeats the steps after its last checkpoint)."""
        rows = [r for r in self.metrics() if int(r.get("step", 0)) <= after_step]
        write_atomic(self.path("metrics.jsonl"), "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode())

    # -- samples -------------------------------------------------------------------------------------------
    def sample_paths(self) -> list[Path]:
        """The sample sheets written so far, oldest first."""
        folder = self.path("samples")
        return sorted(folder.glob("step-*.png")) if folder.is_dir() else []
