"""What every generator shares: the protocol, model specs, artifacts and the per-call context.

A generator is a small object, not a class hierarchy::

    class TerrainGenerator:
        modality = "terrain"
        params_type = TerrainParams
        def models(self) -> list[ModelSpec]: ...            # built-in models this generator offers
        def load(self, spec, device, dtype) -> object: ...  # weights on the CPU; the memory manager moves them
        def generate(self, model, params, ctx) -> Output: ...

Generators never import gradio. They report progress and honour cancellation through ``ctx``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class Cancelled(Exception):
    """Raised inside a generation when the user pressed Stop; the engine turns it into a clean stop."""


@dataclass(frozen=True)
class ModelSpec:
    """One model the studio can use.

    ``id`` is what the user picks and what recipes record. ``source`` is "builtin", "hf-cache",
    "folder" or "procedural". ``path`` is a local folder in Hugging Face layout (or None for procedural
    models). ``weights_hash`` identifies the weights for the result cache.
    """

    id: str
    modality: str
    source: str
    path: str | None = None
    label: str = ""
    kind: str = ""
    weights_hash: str = ""
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def display(self) -> str:
        return self.label or self.id


@dataclass
class Artifact:
    """One output file: its name (with extension), its bytes and how the UI shows it.

    ``role`` is "image", "audio", "model3d", "text", "preview", "heightmap", "data" or "recipe".
    """

    name: str
    data: bytes
    role: str = "data"


@dataclass
class Output:
    """What ``Generator.generate`` returns: the files, the text (for text generation) and extra recipe facts."""

    artifacts: list[Artifact]
    text: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Event:
    """A progress report from a running generation: a step count, a live preview or streamed text."""

    kind: str  # "progress" | "preview" | "text"
    step: int = 0
    total: int = 0
    desc: str = ""
    data: Any = None


class Context:
    """Per-call context handed to ``generate``: progress, previews, streamed text and cancellation.

    ``progress`` and friends call ``sink`` (the engine's event queue); ``check`` raises ``Cancelled``
    once Stop was pressed, so generators call it between steps.
    """

    def __init__(self, sink: Callable[[Event], None] | None = None, cancel: threading.Event | None = None) -> None:
        self._sink = sink
        self.cancel = cancel or threading.Event()

    def emit(self, event: Event) -> None:
        if self._sink is not None:
            self._sink(event)

    def progress(self, step: int, total: int, desc: str = "") -> None:
        """Report ``step`` of ``total`` done, then stop here if the user pressed Stop."""
        self.emit(Event("progress", step=step, total=total, desc=desc))
        self.check()

    def preview(self, data: Any, step: int = 0, total: int = 0) -> None:
        """Show an intermediate result (an image, say) while generation goes on."""
        self.emit(Event("preview", step=step, total=total, data=data))

    def text(self, text_so_far: str) -> None:
        """Stream the text generated so far."""
        self.emit(Event("text", data=text_so_far))

    def check(self) -> None:
        """Raise ``Cancelled`` if the user pressed Stop."""
        if self.cancel.is_set():
            raise Cancelled("stopped by the user")


class Generator(Protocol):
    """The protocol every modality's generator follows (see the module docstring); the registry, the catalog and
    the engine hold generators as this type, so mypy checks each one against it."""

    @property
    def modality(self) -> str:
        """ "text", "image", "music" or "terrain"."""
        ...

    @property
    def params_type(self) -> type:
        """The ``<Modality>Params`` dataclass of this generator's requests."""
        ...

    @property
    def place_on_device(self) -> bool | str:
        """How the memory manager places a loaded model: True (on the compute device), False (the model places
        itself) or "auto" (on the device if it fits the budget, else left on the CPU)."""
        ...

    def models(self) -> list[ModelSpec]:
        """The models this generator offers by itself (its built-ins)."""
        ...

    def recognise(self, folder: Path) -> str | None:
        """The kind of model in ``folder`` if this generator can run it, else None (the catalog asks every one)."""
        ...

    def load(self, spec: ModelSpec, device: Any, dtype: Any) -> Any:
        """The model of ``spec``, built on the CPU; the memory manager moves it."""
        ...

    def unused_fields(self, spec: ModelSpec) -> frozenset[str]:
        """The params a model of ``spec`` does not use. The engine sets them to their defaults (so the recipe and
        the cache key claim nothing that had no effect) and the UI hides their widgets while that model is chosen."""
        ...

    def generate(self, model: Any, params: Any, ctx: Context) -> Output:
        """Run one request with a loaded ``model``."""
        ...
