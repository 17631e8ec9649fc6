"""Where API generations run: on worker threads, one at a time, with a cap on how many may wait.

The Gradio queue runs the tabs' requests one at a time (``concurrency_id="gpu"``); the APIs have their own lane of
the same width, so an API client and a browser visitor each get a turn and no flood of API calls can pile up
unbounded: past ``max_waiting`` waiting requests a new one is refused (``Busy``, a 429) at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")
_END = object()


class Busy(RuntimeError):
    """Too many API requests are already waiting for the lane."""


class Lane:
    """One API generation at a time; at most ``max_waiting`` more waiting (see the module docstring)."""

    def __init__(self, width: int = 1, max_waiting: int = 16) -> None:
        self._slots = anyio.Semaphore(width)  # not a CapacityLimiter: a stream's turn may end in another task
        self.max_waiting = max_waiting
        self._waiting = 0

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for the lane (raises ``Busy`` when too many wait already); the body runs holding it."""
        if self._waiting >= self.max_waiting:
            raise Busy(f"{self._waiting} API requests are already waiting; try again shortly")
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    @property
    def full(self) -> bool:
        """Whether a new request would be refused now."""
        return self._waiting >= self.max_waiting

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a worker thread, in the lane's turn."""
        async with self.turn():
            return await anyio.to_thread.run_sync(fn)


async def iterate(items: Iterator[Any]) -> AsyncIterator[Any]:
    """An async view of a blocking iterator (``Studio.stream``): each ``next`` runs on a worker thread; leaving
    the loop early closes the iterator (which tells the engine's worker to stop)."""
    try:
        while True:
            item = await anyio.to_thread.run_sync(next, items, _END)
            if item is _END:
                return
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):  # a client gone away cancels us; the engine must still hear it
                await anyio.to_thread.run_sync(close)
