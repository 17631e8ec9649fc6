"""The Loaded models panel's view of a cluster: each replica's models as rows, one summary line, and Unload by row.

A row's model reads ``<key> @ <replica>`` (``image:emoji-gan @ image#4c4u5qew``), so the panel's one menu names a
model on one replica. Never imports Ray: it asks the runner, which does.
"""

from __future__ import annotations

from typing import Any, Protocol

SEP = " @ "


class ReplicaSource(Protocol):
    """What the view needs of ``studio.cluster.runner.RayRunner``."""

    def replicas(self, timeout_s: float = 5.0) -> list[dict[str, Any]]: ...

    def unload(self, replica: str, key: str | None, timeout_s: float = 10.0) -> bool: ...


def short(replica: str) -> str:
    """``SERVE_REPLICA::studio-image#image#4c4u5qew`` → ``image#4c4u5qew``."""
    return replica.split("::")[-1].split("#", 1)[-1]


def snapshot(source: ReplicaSource) -> list[dict[str, Any]]:
    """Rows like ``MemoryManager.snapshot``'s, one per model per replica, the key naming its replica."""
    rows: list[dict[str, Any]] = []
    for rep in source.replicas():
        for m in rep["models"]:
            rows.append({**m, "key": f"{m['key']}{SEP}{short(rep['replica'])}"})
    return rows


def summary(source: ReplicaSource) -> str:
    """One line per replica: where it runs, what it is doing, its memory against its budget."""
    reps = source.replicas()
    if not reps:
        return "Ray Serve cluster: **no replica answered** (starting, or the cluster is unreachable)"
    parts = []
    for r in reps:
        gb = r["ram_used"] / 1e9
        line = f"**{short(r['replica'])}** on {r['device']}: {gb:.2f} of {r['ram_budget'] / 1e9:.1f} GB RAM"
        if r["gpu_budget"]:
            line += f", {r['gpu_used'] / 1e9:.2f} of {r['gpu_budget'] / 1e9:.1f} GB GPU"
        parts.append(line + (f", {r['running']} running" if r["running"] else ", idle"))
    return f"Ray Serve cluster, {len(reps)} replicas · " + " · ".join(parts)


def unload(source: ReplicaSource, choice: str) -> bool:
    """Unload the model a row names (``key @ replica``) on that replica."""
    key, sep, rep = choice.rpartition(SEP)
    if not sep:
        return False
    for r in source.replicas():
        if short(r["replica"]) == rep:
            return source.unload(r["replica"], key)
    return False


def unload_all(source: ReplicaSource) -> None:
    """Unload every idle model on every replica."""
    for r in source.replicas():
        source.unload(r["replica"], None)
