"""What every client is told about the models: one listing, shared by the ``/models`` Gradio endpoint, ``python -m
studio models``, OpenAI's ``/v1/models`` and AUTOMATIC1111's ``/sdapi/v1/sd-models``.

Each entry says what a client needs to pick a model: its ``id`` (what the ``model`` parameter of every API takes),
a ``label``, where it comes from (``source``: built-in, HF cache, a ``--model-dir`` folder or file, procedural),
its ``kind`` (the family its generator recognised, or ``gguf`` for llama.cpp), and the params it ``unused``s (the
engine resets them to their defaults, so a client need not send them). The first model of a modality is its default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from studio.engine import Studio


@dataclass(frozen=True)
class ModelEntry:
    """One model as the APIs list it (see the module docstring)."""

    id: str
    modality: str
    label: str
    source: str
    kind: str
    unused: tuple[str, ...]
    default: bool
    weights_hash: str = ""

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON-ready values (``unused`` a list)."""
        out = asdict(self)
        out["unused"] = list(self.unused)
        return out


def model_entries(studio: Studio, modality: str) -> list[ModelEntry]:
    """Every model of ``modality`` in catalog order (the default first)."""
    specs = studio.catalog.models(modality)
    return [
        ModelEntry(
            id=s.id,
            modality=modality,
            label=s.display,
            source=s.source,
            kind=s.kind,
            unused=tuple(sorted(studio.unused_fields(modality, s))),
            default=i == 0,
            weights_hash=s.weights_hash,
        )
        for i, s in enumerate(specs)
    ]


def listing(studio: Studio) -> dict[str, list[dict[str, Any]]]:
    """Modality → its models as JSON-ready dicts, for every modality the studio has."""
    return {m: [e.as_json() for e in model_entries(studio, m)] for m in studio.generators}
