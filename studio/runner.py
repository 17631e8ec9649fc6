"""Where a request's generation step runs: the seam between the engine and the compute that does the work.

The engine (``studio/engine.py``) validates, resolves, looks up the result cache, writes provenance and stores the
result; between those it hands one step to a ``Runner``: "run this model on these params, reporting through this
context". ``LocalRunner`` runs it here, under this process's memory manager. ``studio.cluster.runner.RayRunner``
runs it on a Ray Serve replica of the modality's deployment, each replica with its own memory manager and
generators, and streams the context's events back. Both return the generator's own ``Output``, so everything the
engine does with it (recipes, signatures, the cache) is the same code whichever runner produced it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from studio.generators.base import Context, Generator, ModelSpec, Output
from studio.memory import MemoryManager


@dataclass
class Ran:
    """What a runner returns: the generator's output and the seconds spent loading the model (0 when it was hot)."""

    output: Output
    load_s: float = 0.0


class Runner(Protocol):
    """Runs one resolved request's generation step (see the module docstring)."""

    def run(self, modality: str, spec: ModelSpec, params: Any, ctx: Context) -> Ran:
        """Generate ``params`` with model ``spec``; events go to ``ctx``, and ``ctx.cancel`` stops it."""
        ...


def run_generator(gen: Generator, memory: MemoryManager, spec: ModelSpec, params: Any, ctx: Context) -> Ran:
    """The generation step itself: a procedural model runs as is; a model with weights runs inside a lease of
    ``memory`` (loaded first when it is not held). Shared by ``LocalRunner`` and the cluster's replicas."""
    if spec.source == "procedural":
        return Ran(gen.generate(None, params, ctx))
    timings: dict[str, float] = {}

    def load() -> Any:
        t = time.perf_counter()
        model = gen.load(spec, memory.device, None)
        timings["load"] = time.perf_counter() - t
        return model

    output = memory.run(
        f"{gen.modality}:{spec.id}", load, lambda model: gen.generate(model, params, ctx), place=gen.place_on_device
    )
    return Ran(output, timings.get("load", 0.0))


class LocalRunner:
    """Runs generation in this process, on the calling thread, under this process's memory manager."""

    def __init__(self, generators: Mapping[str, Generator], memory: MemoryManager) -> None:
        self.generators = dict(generators)
        self.memory = memory

    def run(self, modality: str, spec: ModelSpec, params: Any, ctx: Context) -> Ran:
        return run_generator(self.generators[modality], self.memory, spec, params, ctx)
