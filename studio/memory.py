"""The memory manager: one instance, made by ``studio.services.build_services`` and injected into everything that
loads a model.

Policy, as a spec:

- It knows every loaded model: key, bytes (parameters and buffers of every ``nn.Module`` it holds, or the
  ``memory_bytes`` a model of another library states), tier
  ("gpu" or "cpu"), last use and lease count.
- ``with memory.acquire(key, loader) as model:`` leases a model on the compute device, loading it with
  ``loader()`` (which builds it on the CPU) or moving it up from the CPU tier first. Leased models are never
  evicted or moved.
- Each tier has a byte budget: the GPU a fraction of its memory, the CPU a RAM size. To make room the manager
  moves the least recently used unleased models one tier down (GPU → CPU RAM → unloaded). A model larger than a
  whole budget is still loaded when nothing else can give way (the budget is a target, not a wall); callers that
  can run partly offloaded ask ``fits_on_device(nbytes)`` first.
- ``memory.run(key, loader, fn)`` calls ``fn(model)`` inside a lease; on ``torch.OutOfMemoryError`` it evicts every
  unleased model, empties the device cache and retries once, then raises ``OutOfMemory`` with a clear message.
- Thread-safe: one lock guards the table; loading happens outside it behind a per-key lock, so two threads asking
  for the same model load it once and threads asking for different models do not wait on each other's loads.
- ``reap_idle()`` unloads models nobody used for ``idle_timeout_s``; ``start_idle_reaper()`` runs it periodically
  in a daemon thread (started by the app, never at import).
- ``snapshot()`` reports the table for the UI's "Loaded models" panel; ``unload(key)`` drops one model.
- CPU only works the same way: the compute device is the CPU and only the RAM budget applies.

Device moves of shared models and ``torch.cuda.empty_cache()`` happen here and nowhere else.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from studio.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class OutOfMemory(RuntimeError):
    """Generation ran out of memory even after every idle model was evicted."""


@dataclass
class _Slot:
    key: str
    model: Any
    nbytes: int
    tier: str  # "gpu" | "cpu"
    last_used: float
    leases: int = 0


def _modules_of(obj: Any) -> list[Any]:
    """The ``torch.nn.Module``s an object holds: itself, a diffusers pipeline's components, or its attributes."""
    import torch

    if isinstance(obj, torch.nn.Module):
        return [obj]
    found: list[Any] = []
    components = getattr(obj, "components", None)
    values = list(components.values()) if isinstance(components, dict) else list(getattr(obj, "__dict__", {}).values())
    if isinstance(obj, (list, tuple)):
        values = list(obj)
    for v in values:
        if isinstance(v, torch.nn.Module):
            found.append(v)
    return found


def model_bytes(obj: Any) -> int:
    """Bytes of all distinct parameter and buffer storages held by ``obj`` (see ``_modules_of``); a model that is
    not made of torch modules (a GGUF on llama.cpp) states its own size as an int ``memory_bytes``."""
    declared = getattr(obj, "memory_bytes", None)
    if isinstance(declared, int) and not isinstance(declared, bool):
        return declared
    seen: set[int] = set()
    total = 0
    for m in _modules_of(obj):
        for t in list(m.parameters()) + list(m.buffers()):
            try:
                ptr = t.untyped_storage().data_ptr()
                size = t.untyped_storage().nbytes()
            except (RuntimeError, NotImplementedError):  # packed/quantised tensors without plain storage
                ptr, size = id(t), t.numel() * t.element_size()
            if ptr in seen:
                continue
            seen.add(ptr)
            total += size
        # Dynamically quantised Linear layers keep packed weights outside parameters().
        for sub in m.modules():
            packed = getattr(sub, "_packed_params", None)
            if packed is not None:
                with contextlib.suppress(Exception):
                    w, b = packed._weight_bias()
                    total += w.numel() * w.element_size() + (b.numel() * b.element_size() if b is not None else 0)
    return total


def _move(obj: Any, device: str) -> None:
    to = getattr(obj, "to", None)
    if callable(to) and not isinstance(obj, (list, tuple)):
        to(device)
        return
    for m in _modules_of(obj):
        m.to(device)


class MemoryManager:
    """Loads models on demand, keeps hot ones, evicts under per-tier byte budgets (see the module docstring)."""

    def __init__(
        self,
        device: str = "auto",
        gpu_budget_fraction: float = 0.9,
        ram_budget_bytes: int = 8 * 1024**3,
        idle_timeout_s: float = 1800.0,
        gpu_total_bytes: int | None = None,
    ) -> None:
        import torch

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.ram_budget_bytes = int(ram_budget_bytes)
        if device.startswith("cuda"):
            total = (
                gpu_total_bytes
                if gpu_total_bytes is not None
                else torch.cuda.get_device_properties(device).total_memory
            )
            self.gpu_budget_bytes = int(total * gpu_budget_fraction)
        else:
            self.gpu_budget_bytes = 0
        self.idle_timeout_s = idle_timeout_s
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.RLock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    @classmethod
    def from_settings(cls, settings: Settings) -> MemoryManager:
        """A manager with the device and budgets of ``settings`` (the studio's one, or a cluster replica's own)."""
        return cls(
            device=settings.device,
            gpu_budget_fraction=settings.gpu_budget_fraction,
            ram_budget_bytes=int(settings.ram_budget_gb * 1024**3),
            idle_timeout_s=settings.idle_timeout_min * 60,
        )

    # -- tiers ---------------------------------------------------------------------------------------------
    @property
    def compute_tier(self) -> str:
        return "gpu" if self.device.startswith("cuda") else "cpu"

    def _budget(self, tier: str) -> int:
        return self.gpu_budget_bytes if tier == "gpu" else self.ram_budget_bytes

    def used_bytes(self, tier: str) -> int:
        """Bytes held by models on ``tier`` ("gpu" or "cpu")."""
        with self._lock:
            return sum(s.nbytes for s in self._slots.values() if s.tier == tier)

    def fits_on_device(self, nbytes: int) -> bool:
        """Whether a model of ``nbytes`` fits the compute tier's budget once every idle model gave way."""
        with self._lock:
            leased = sum(s.nbytes for s in self._slots.values() if s.tier == self.compute_tier and s.leases)
            return leased + nbytes <= self._budget(self.compute_tier)

    def _make_room(self, tier: str, nbytes: int, keep: str | None = None) -> None:
        """Move LRU unleased models off ``tier`` until ``nbytes`` more fit (caller holds the lock)."""
        budget = self._budget(tier)
        used = sum(s.nbytes for s in self._slots.values() if s.tier == tier)
        for slot in sorted(self._slots.values(), key=lambda s: s.last_used):
            if used + nbytes <= budget:
                return
            if slot.tier != tier or slot.leases or slot.key == keep:
                continue
            used -= slot.nbytes
            if tier == "gpu":
                self._make_room("cpu", slot.nbytes, keep=slot.key)
                log.info("moving %s to the CPU to make room on the GPU", slot.key)
                _move(slot.model, "cpu")
                slot.tier = "cpu"
            else:
                log.info("unloading %s to make room in RAM", slot.key)
                self._drop(slot.key)
        if used + nbytes > budget and nbytes:
            log.warning("%s budget exceeded: %d + %d > %d bytes (the rest is leased)", tier, used, nbytes, budget)

    def _drop(self, key: str) -> None:
        slot = self._slots.pop(key)
        slot.model = None
        gc.collect()
        self._empty_device_cache()

    def _empty_device_cache(self) -> None:
        if self.compute_tier == "gpu":
            import torch

            torch.cuda.empty_cache()

    # -- leases --------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def acquire(self, key: str, loader: Callable[[], Any], place: bool | str = True) -> Iterator[Any]:
        """Lease model ``key`` on the compute device, loading it with ``loader()`` if needed.

        With ``place=False`` the model is leased where it is (the caller places it itself, e.g. CPU offload).
        With ``place="auto"`` it is moved to the compute device only if it fits that budget once every idle model
        gave way (``fits_on_device``); otherwise it stays on the CPU and the caller runs it offloaded.
        """
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                slot = self._slots.get(key)
                if slot is not None:
                    slot.leases += 1
            if slot is None:
                model = loader()
                nbytes = model_bytes(model)
                with self._lock:
                    self._make_room("cpu", nbytes)
                    slot = _Slot(key, model, nbytes, "cpu", time.monotonic(), leases=1)
                    self._slots[key] = slot
                    log.info("loaded %s (%.1f MB)", key, nbytes / 1e6)
            try:
                if place == "auto":
                    place = slot.tier == self.compute_tier or self.fits_on_device(slot.nbytes)
                if place and slot.tier != self.compute_tier:
                    with self._lock:
                        self._make_room(self.compute_tier, slot.nbytes, keep=key)
                    _move(slot.model, self.device)
                    with self._lock:
                        slot.tier = self.compute_tier
            except BaseException:
                self._release(slot)
                raise
        try:
            yield slot.model
        finally:
            self._release(slot)

    def _release(self, slot: _Slot) -> None:
        with self._lock:
            slot.leases -= 1
            slot.last_used = time.monotonic()
            # Leases may have pushed a tier over budget; once they end, bring it back within.
            if slot.key in self._slots:
                self._make_room(slot.tier, 0)

    def run(self, key: str, loader: Callable[[], Any], fn: Callable[[Any], T], place: bool | str = True) -> T:
        """``fn(model)`` inside a lease; on out-of-memory evict every idle model and retry once."""
        import torch

        for attempt in (1, 2):
            try:
                with self.acquire(key, loader, place=place) as model:
                    return fn(model)
            except torch.OutOfMemoryError as exc:
                if attempt == 2:
                    raise OutOfMemory(
                        f"out of memory running {key} even after unloading every idle model; "
                        "try a smaller size, fewer images or a lower budget for other models"
                    ) from exc
                log.warning("out of memory in %s: evicting idle models and retrying once", key)
                self.evict_all(keep=None)
        raise AssertionError("unreachable")

    # -- housekeeping --------------------------------------------------------------------------------------
    def evict_all(self, keep: str | None = None) -> None:
        """Unload every unleased model (except ``keep``) and empty the device cache."""
        with self._lock:
            for key in [k for k, s in self._slots.items() if not s.leases and k != keep]:
                self._drop(key)
            gc.collect()
            self._empty_device_cache()

    def unload(self, key: str) -> bool:
        """Unload ``key`` unless it is leased; returns whether it was unloaded."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is None or slot.leases:
                return False
            self._drop(key)
            return True

    def reap_idle(self, now: float | None = None) -> list[str]:
        """Unload models unused for ``idle_timeout_s``; returns their keys."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [k for k, s in self._slots.items() if not s.leases and now - s.last_used > self.idle_timeout_s]
            for k in idle:
                self._drop(k)
        return idle

    def start_idle_reaper(self, interval_s: float = 60.0) -> None:
        """Run ``reap_idle`` every ``interval_s`` in a daemon thread (idempotent)."""
        if self._reaper is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.reap_idle()

        self._reaper = threading.Thread(target=loop, name="memory-reaper", daemon=True)
        self._reaper.start()

    def close(self) -> None:
        """Stop the reaper and unload everything unleased."""
        self._stop.set()
        self.evict_all()

    def snapshot(self) -> list[dict[str, Any]]:
        """One row per loaded model: key, device, MB, seconds since last use, leases (most recent first)."""
        now = time.monotonic()
        with self._lock:
            rows = [
                {
                    "key": s.key,
                    "device": self.device if s.tier == "gpu" else "cpu",
                    "mb": round(s.nbytes / 1e6, 1),
                    "idle_s": round(now - s.last_used, 1),
                    "leases": s.leases,
                }
                for s in self._slots.values()
            ]
        return sorted(rows, key=lambda r: r["idle_s"])

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._slots

    def tier_of(self, key: str) -> str | None:
        """ "gpu", "cpu" or None (not loaded)."""
        with self._lock:
            slot = self._slots.get(key)
            return slot.tier if slot else None
