"""What travels between the front end and a replica: one ``Job`` in; ``Accepted``, the generator's ``Event``s and
one ``Finished`` (or ``Failed``) out. Plain dataclasses of the studio's own types; Ray serialises them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.generators.base import Cancelled, ModelSpec
from studio.memory import OutOfMemory
from studio.params import ParamError
from studio.runner import Ran


@dataclass(frozen=True)
class Job:
    """A resolved request's generation step: the model's spec (as the front end's catalog knows it) and params."""

    modality: str
    spec: ModelSpec
    params: Any


@dataclass(frozen=True)
class Accepted:
    """First item of every stream: the replica (its Ray actor name) has taken the request."""

    replica: str


@dataclass(frozen=True)
class Finished:
    """Last item of a stream that worked: the generator's output and load time."""

    ran: Ran
    replica: str


@dataclass(frozen=True)
class Failed:
    """Last item of a stream that failed in the generator: the error's kind and message, raised again at the front
    end as the same studio exception, so the UI shows it as it would in-process."""

    kind: str  # "param" | "cancelled" | "oom" | "error"
    message: str
    field: str = ""

    @classmethod
    def of(cls, exc: BaseException) -> Failed:
        if isinstance(exc, ParamError):
            return cls("param", exc.message, exc.field)
        if isinstance(exc, Cancelled):
            return cls("cancelled", str(exc))
        if isinstance(exc, OutOfMemory):
            return cls("oom", str(exc))
        return cls("error", f"{type(exc).__name__}: {exc}")

    def error(self) -> Exception:
        """The exception this failure stands for."""
        if self.kind == "param":
            return ParamError(self.field, self.message)
        if self.kind == "cancelled":
            return Cancelled(self.message)
        if self.kind == "oom":
            return OutOfMemory(self.message)
        return RuntimeError(self.message)


def model_id(spec: ModelSpec) -> str:
    """The multiplexed model id of a checkpoint: its id and weights hash, so retrained weights route afresh."""
    return f"{spec.id}@{spec.weights_hash[:16]}" if spec.weights_hash else spec.id
