"""Training runs as background jobs: one run at a time on the compute device, the others waiting in order.

``Jobs`` is made once by ``build_services`` (like the memory manager) and injected into the Train tab and the CLI.
A run outlives the browser tab that started it: it runs on the jobs' worker thread, writes its progress into its
folder (``run_folder.py``), and any visitor who opens the Train tab sees it. Policy, as a spec:

- ``create(params, report)`` refuses a name that is taken (by another run, a built-in or any model in the catalog)
  and a data check with no usable picture; otherwise it writes the run's folder and queues the run.
- One worker thread (started on the first run, never at import or construction) takes runs first in, first out.
- A running run leases its networks through the one memory manager (key ``train:<modality>:<name>``), so the
  Loaded models panel shows it and other models give way to it; the lease ends with the run.
- ``stop(name)`` takes a queued run out of the queue, or asks the running one to checkpoint and stop at its next
  step. ``resume(name)`` queues a stopped or failed run again; it continues from its checkpoint exactly.
- When the server starts, runs a previous server left queued or running are marked stopped (their last checkpoint
  is kept), so Resume continues them.
- A finished run's model is in ``<run>/model/``; the catalog is refreshed so every tab lists it.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.catalog import Catalog
from studio.memory import MemoryManager
from studio.params import ParamError, as_dict, check_params

if TYPE_CHECKING:
    from studio.training.data_check import DataReport
from studio.training.params import TrainParams
from studio.training.run_folder import RunFolder

log = logging.getLogger(__name__)

RESTARTED = "interrupted when the server stopped; Resume continues from the last checkpoint"


@dataclass(frozen=True)
class RunInfo:
    """One run as the Train tab lists it."""

    name: str
    technique: str
    state: str
    step: int
    steps: int
    steps_per_s: float
    eta_s: float
    position: int  # place in the queue (1 = next), 0 when not waiting
    error: str
    note: str


class Jobs:
    """The training runs of one studio (see the module docstring)."""

    def __init__(self, root: Path, memory: MemoryManager, catalog: Catalog, assets_dir: Path) -> None:
        self.root = Path(root)
        self.memory = memory
        self.catalog = catalog
        self.assets_dir = Path(assets_dir)
        self._cv = threading.Condition()
        self._queue: collections.deque[str] = collections.deque()
        self._cancel: dict[str, threading.Event] = {}
        self._current: str | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._recover()

    # -- what a visitor does -------------------------------------------------------------------------------
    def create(self, params: TrainParams, report: DataReport) -> RunFolder:
        """Write a new run's folder (settings, checked data) and queue it; raises ``ParamError``."""
        from studio.training.dataset import save_data

        self.check_name(params.name)
        if report.usable == 0:
            raise ParamError("data", "no usable pictures: the data check refused every file (see its reasons)")
        run = RunFolder(self.root, params.name)
        run.dir.mkdir(parents=True, exist_ok=False)
        save_data(run, report, params.licence)
        run.write_json("params.json", as_dict(params))
        run.set_status("queued", step=0, steps=params.steps, technique=params.technique)
        self._enqueue(params.name)
        return run

    def check_name(self, name: str) -> None:
        """Refuse a name another run or any model of the catalog already has (a built-in above all)."""
        check_params(TrainParams, {"name": name})  # the pattern: no path separators, no "..", no upper case
        if RunFolder(self.root, name).dir.exists():
            raise ParamError("name", f"a run called {name!r} exists already: pick another name (or Resume that run)")
        taken = {s.id: s.source for m in self.catalog.generators for s in self.catalog.models(m)}
        if name in taken:
            raise ParamError("name", f"{name!r} is the name of a {taken[name]} model; a run may not overwrite it")

    def resume(self, name: str) -> None:
        """Queue a stopped or failed run again (it continues from its checkpoint)."""
        run = self._run(name)
        state = run.status().get("state")
        if state in ("queued", "running"):
            raise ParamError("run", f"{name} is {state} already")
        if state == "finished":
            raise ParamError("run", f"{name} has finished; start a new run to train more")
        run.set_status("queued", note="")
        self._enqueue(name)

    def stop(self, name: str) -> None:
        """Stop a run: out of the queue if waiting, else at its next step (after a checkpoint)."""
        run = self._run(name)
        with self._cv:
            if name in self._queue:
                self._queue.remove(name)
                run.set_status("stopped", note="taken out of the queue")
                return
            if self._current == name:
                self._cancel.setdefault(name, threading.Event()).set()
                return
        raise ParamError("run", f"{name} is not queued or running")

    def runs(self) -> list[RunInfo]:
        """Every run, most recently updated first."""
        if not self.root.is_dir():
            return []
        infos = []
        with self._cv:
            queue = list(self._queue)
        for folder in self.root.iterdir():
            if not (folder / "params.json").is_file():
                continue
            st = RunFolder(self.root, folder.name).status()
            infos.append((st.get("updated", 0.0), self._info(folder.name, st, queue)))
        return [i for _, i in sorted(infos, key=lambda p: -p[0])]

    def info(self, name: str) -> RunInfo:
        with self._cv:
            queue = list(self._queue)
        return self._info(name, self._run(name).status(), queue)

    def folder(self, name: str) -> RunFolder:
        return self._run(name)

    def wait(self, name: str, timeout_s: float = 3600.0) -> str:
        """Block until the run is neither queued nor running (or the timeout); returns its state."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self._run(name).status().get("state", "")
            if state not in ("queued", "running"):
                return str(state)
            time.sleep(0.1)
        return str(self._run(name).status().get("state", ""))

    def close(self) -> None:
        """Stop the running run at its next step and end the worker."""
        with self._cv:
            self._closed = True
            for event in self._cancel.values():
                event.set()
            self._cv.notify_all()

    # -- the worker ----------------------------------------------------------------------------------------
    def _enqueue(self, name: str) -> None:
        with self._cv:
            self._cancel[name] = threading.Event()
            self._queue.append(name)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="training-jobs", daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                name = self._queue.popleft()
                self._current = name
            try:
                self.execute(name)
            finally:
                with self._cv:
                    self._current = None

    def execute(self, name: str) -> str:
        """Run ``name`` on this thread (the worker's, or the CLI's); returns the state it ended in."""
        import torch

        from studio.training.dataset import load_data
        from studio.training.techniques import build_technique
        from studio.training.trainer import finish, train

        run = self._run(name)
        cancel = self._cancel.setdefault(name, threading.Event())
        key = f"train:image:{name}"
        try:
            params = check_params(TrainParams, json.loads(run.path("params.json").read_text()))
            data = load_data(run)
            run.set_status("running", note="loading", step=run.status().get("step", 0))
            technique = build_technique(params, data.captions, self.assets_dir)
            with self.memory.acquire(key, lambda: technique, place=True) as tech:
                run.set_status("running", note="")
                outcome = train(run, params, tech, data, cancel, on_progress=lambda p: run.set_status("running", **p))
                if outcome == "finished":
                    finish(run, tech, data, params)
            self.memory.unload(key)
            run.set_status(outcome, step=params.steps if outcome == "finished" else run.status().get("step", 0))
            if outcome == "finished":
                self.catalog.refresh()
            return outcome
        except torch.OutOfMemoryError:
            self.memory.unload(key)
            run.set_status("failed", error="out of memory: lower the batch size, or unload other models first")
        except (ParamError, ValueError, OSError, RuntimeError, KeyError) as exc:
            log.exception("training run %s failed", name)
            self.memory.unload(key)
            run.set_status("failed", error=str(exc) or type(exc).__name__)
        return "failed"

    # -- internals -----------------------------------------------------------------------------------------
    def _run(self, name: str) -> RunFolder:
        if not isinstance(name, str) or not name:
            raise ParamError("run", "pick a run first")
        try:
            run = RunFolder(self.root, name)
        except ValueError:
            raise ParamError("run", f"{name[:64]!r} is not a run name") from None
        if not run.exists():
            raise ParamError("run", f"there is no run called {name[:64]!r}")
        return run

    def _info(self, name: str, st: dict[str, Any], queue: list[str]) -> RunInfo:
        return RunInfo(
            name=name,
            technique=str(st.get("technique", "")),
            state=str(st.get("state", "stopped")),
            step=int(st.get("step", 0)),
            steps=int(st.get("steps", 0)),
            steps_per_s=float(st.get("steps_per_s", 0.0)),
            eta_s=float(st.get("eta_s", 0.0)),
            position=queue.index(name) + 1 if name in queue else 0,
            error=str(st.get("error", "")),
            note=str(st.get("note", "")),
        )

    def _recover(self) -> None:
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if not (folder / "params.json").is_file():
                continue
            run = RunFolder(self.root, folder.name)
            if run.status().get("state") in ("queued", "running"):
                run.set_status("stopped", note=RESTARTED)
