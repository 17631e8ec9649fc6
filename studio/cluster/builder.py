"""Serve applications of the studio: one per modality, built here for the front end's ``serve.run`` and, declared in
a config file (a KubeRay ``RayService``'s ``serveConfigV2``), through ``app(args)``.

    applications:
      - name: studio-image
        import_path: studio.cluster.builder:app
        args: {modality: image, gpus: 1, replicas: 2, max_replicas: 4, model_dirs: [/models], cache_dir: /cache}

The front end then joins with ``--ray ADDRESS --ray-attach`` and uses the applications as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ray import serve

from studio.cluster.config import DeploymentSize
from studio.cluster.replica import ModalityReplica
from studio.settings import ROOT, Settings

# Environment every replica needs: the studio importable, and the same offline switches as the front end.
REPLICA_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "HF_HOME", "HF_HUB_CACHE")
SETTINGS_ARGS = {"ram_budget_gb": float, "gpu_budget_fraction": float, "idle_timeout_min": float}


def replica_env() -> dict[str, str]:
    """Environment variables passed to every replica (the studio's folder on ``PYTHONPATH``, offline switches)."""
    env = {k: os.environ[k] for k in REPLICA_ENV if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return env


def application(settings: Settings, modality: str, size: DeploymentSize, threads: int) -> Any:
    """The Serve application (one deployment, named after the modality) of ``modality`` at ``size``."""
    opts = size.deployment_options()
    opts["ray_actor_options"]["runtime_env"] = {"env_vars": replica_env()}
    deployment: Any = serve.deployment(ModalityReplica)
    return deployment.options(name=modality, **opts).bind(
        settings, modality, size.gpus, size.models_per_replica, threads
    )


def app(args: dict[str, Any]) -> Any:
    """A modality's application from config ``args``: ``modality``, and optionally ``replicas``, ``max_replicas``,
    ``cpus``, ``gpus``, ``models_per_replica``, ``threads``, ``cache_dir``, ``model_dirs`` and the memory
    budgets of ``Settings`` (``ram_budget_gb``, ``gpu_budget_fraction``, ``idle_timeout_min``)."""
    modality = str(args["modality"])
    replicas = int(args.get("replicas", 1))
    size = DeploymentSize(
        replicas=replicas,
        max_replicas=int(args.get("max_replicas", replicas)),
        cpus=float(args.get("cpus", 1.0)),
        gpus=float(args.get("gpus", 0.0)),
        models_per_replica=int(args.get("models_per_replica", 3)),
    )
    fields: dict[str, Any] = {k: kind(args[k]) for k, kind in SETTINGS_ARGS.items() if k in args}
    if "cache_dir" in args:
        fields["cache_dir"] = Path(args["cache_dir"])
    fields["model_dirs"] = tuple(Path(p) for p in args.get("model_dirs", ()))
    threads = int(args.get("threads", max(1, round(size.cpus))))
    return application(Settings(**fields), modality, size, threads)
