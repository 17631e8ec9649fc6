"""One replica of a modality's Serve deployment: that modality's generator and a memory manager of its own.

Built from the front end's ``Settings`` (the same model folders and budgets; the device is the replica's: a CPU
replica runs on the CPU, a replica given GPUs runs on the one Ray made visible to it, and on the CPU when none is
there, as when GPUs are only logical resources). ``run`` is a streaming endpoint: it yields ``Accepted``, then the
generator's events as they happen, then ``Finished`` or ``Failed``. Checkpoints come through ``@serve.multiplexed``
so Serve routes a request to a replica that already holds its model; the memory manager still owns the weights
(budgets, eviction, OOM retry), and Serve's multiplexing only decides where requests go.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import ray
from ray import serve

from studio.cluster.messages import Accepted, Failed, Finished, Job
from studio.generators.base import Context, Event, ModelSpec
from studio.memory import MemoryManager
from studio.registry import make_generators
from studio.runner import run_generator
from studio.settings import Settings

log = logging.getLogger(__name__)

STOP_GRACE_S = 30.0  # after a Stop, how long the replica waits for the generator to reach its next step


class _Held:
    """What Serve's multiplexing keeps per model id; when Serve drops it (LRU), the model leaves the memory
    manager too (unless it is in use, when the manager refuses and keeps it until its lease ends)."""

    def __init__(self, memory: MemoryManager, key: str) -> None:
        self.memory = memory
        self.key = key
        self.released = False

    def __del__(self) -> None:
        # Serve calls this when it evicts the id; Python calls it again at collection: only the first counts.
        if not self.released:
            self.released = True
            self.memory.unload(self.key)


def replica_settings(settings: Settings, gpus: float) -> Settings:
    """The replica's settings: the front end's, with the device this replica may use."""
    return dataclasses.replace(settings, device="auto" if gpus > 0 else "cpu")


class ModalityReplica:
    """A Serve deployment class; ``studio.cluster.runner`` deploys one per modality (see the module docstring)."""

    def __init__(self, settings: Settings, modality: str, gpus: float, models_per_replica: int, threads: int) -> None:
        import torch

        # Float kernels' results depend on how many threads split the work: the front end's count (not the one Ray
        # sets from the replica's CPUs) keeps outputs byte-identical to an in-process run on the same machine.
        torch.set_num_threads(threads)
        self.modality = modality
        self.settings = replica_settings(settings, gpus)
        self.generator = make_generators(self.settings)[modality]
        self.memory = MemoryManager.from_settings(self.settings)
        if gpus > 0 and self.memory.device == "cpu":
            log.warning("%s replica was given %s GPU(s) but sees no CUDA device: running on the CPU", modality, gpus)
        self.memory.start_idle_reaper()
        self.name = ray.get_runtime_context().get_actor_name() or f"{modality}-replica"
        self.running = 0  # generating now (0 or 1: one at a time, behind ``self._turn``)
        self.waiting = 0
        self._turn = asyncio.Lock()
        self.served = 0  # jobs taken, and of them the ones the caller cancelled (for the panel and the tests)
        self.cancelled = 0
        self._specs: dict[str, ModelSpec] = {}

        async def hold(model_id: str) -> _Held:
            return await self._hold(model_id)

        # Wired at init (Serve detects it on the instance) so the number of models comes from a flag.
        self.hold = serve.multiplexed(max_num_models_per_replica=models_per_replica)(hold)

    async def _hold(self, model_id: str) -> _Held:
        spec = self._specs[model_id]
        key = f"{self.modality}:{spec.id}"
        gen, memory = self.generator, self.memory

        def warm() -> None:
            memory.run(key, lambda: gen.load(spec, memory.device, None), lambda model: None, place=gen.place_on_device)

        await asyncio.to_thread(warm)
        return _Held(memory, key)

    async def run(self, job: Job) -> AsyncIterator[Any]:
        """Stream one job: ``Accepted``, the generator's events, then ``Finished`` or ``Failed``."""
        yield Accepted(self.name)
        self.served += 1
        self.waiting += 1
        try:
            await self._turn.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def sink(event: Event) -> None:  # called on the generator's thread
            loop.call_soon_threadsafe(events.put_nowait, event)

        ctx = Context(sink, cancel)
        work: asyncio.Future[Any] | None = None
        try:
            load_s = 0.0
            if job.spec.source != "procedural":
                mid = serve.get_multiplexed_model_id()
                self._specs[mid] = job.spec
                start = time.perf_counter()
                await self.hold(mid)
                load_s = time.perf_counter() - start
            work = loop.run_in_executor(None, run_generator, self.generator, self.memory, job.spec, job.params, ctx)
            while not work.done() or not events.empty():
                getter = asyncio.ensure_future(events.get())
                done, _ = await asyncio.wait({getter, work}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                else:
                    getter.cancel()
            ran = work.result()
            yield Finished(dataclasses.replace(ran, load_s=ran.load_s + load_s), self.name)
        except (asyncio.CancelledError, GeneratorExit):
            # The caller cancelled (Stop): Serve cancels the task while it waits, or closes the stream at a yield.
            # Stop the generator at its next step before giving the replica back.
            cancel.set()
            self.cancelled += 1
            if work is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(asyncio.shield(work), STOP_GRACE_S)
            raise
        except Exception as exc:  # the generator's error, raised again at the front end as the same kind
            log.info("%s job failed: %s", self.modality, exc)
            yield Failed.of(exc)
        finally:
            cancel.set()
            self.running -= 1
            self._turn.release()

    async def status(self) -> dict[str, Any]:
        """This replica's name, requests running, device, budgets and loaded models (the Loaded models panel)."""
        m = self.memory
        return {
            "replica": self.name,
            "modality": self.modality,
            "running": self.running,
            "waiting": self.waiting,
            "served": self.served,
            "cancelled": self.cancelled,
            "device": m.device,
            "ram_used": m.used_bytes("cpu"),
            "ram_budget": m.ram_budget_bytes,
            "gpu_used": m.used_bytes("gpu"),
            "gpu_budget": m.gpu_budget_bytes,
            "models": m.snapshot(),
        }

    async def unload(self, replica: str, key: str | None) -> bool | None:
        """Unload ``key`` (None: every idle model) if this is ``replica``; None when it is another replica."""
        if replica != self.name:
            return None
        if key is None:
            self.memory.evict_all()
            return True
        return self.memory.unload(key)
