"""The cluster's flags as a ``ClusterConfig``: where the cluster is and how each modality's deployment is sized.

Per-modality flags take ``modality=value`` pairs separated by commas (``--replicas image=2,text=1``); a bare value
applies to every modality (``--cpus-per-replica 0.5``). This module never imports Ray.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MODALITIES = ("text", "image", "music", "terrain")
# Requests Serve may hand one replica at once: one generating, one more (the next request, or the Loaded models
# panel's status call). More slots let Serve pile requests on one replica while another is free (a burst measured
# 8 vs 4 with 4 slots); with 2, the rest wait in Serve's queue and go to whichever replica frees first.
REPLICA_SLOTS = 2


@dataclass(frozen=True)
class DeploymentSize:
    """One modality's deployment: replicas (autoscaled between ``replicas`` and ``max_replicas`` when they differ),
    CPUs and GPUs reserved per replica (fractions allowed), and how many checkpoints a replica keeps routed to it."""

    replicas: int = 1
    max_replicas: int = 1
    cpus: float = 1.0
    gpus: float = 0.0
    models_per_replica: int = 3

    @property
    def autoscaled(self) -> bool:
        return self.max_replicas > self.replicas

    def deployment_options(self) -> dict[str, Any]:
        """Keyword arguments of ``Deployment.options`` for this size."""
        opts: dict[str, Any] = {
            "ray_actor_options": {"num_cpus": self.cpus, "num_gpus": self.gpus},
            # A replica generates one request at a time (its own lock, as one process runs one GPU queue); Serve's
            # slots beyond that let the Loaded models panel ask a busy replica what it holds, and Serve routes each
            # request to the replica with the fewest ongoing, so an idle one is chosen over a busy one.
            "max_ongoing_requests": REPLICA_SLOTS,
        }
        if self.autoscaled:
            opts["autoscaling_config"] = {
                "min_replicas": self.replicas,
                "initial_replicas": self.replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": 1,
                "upscale_delay_s": 5.0,
                "downscale_delay_s": 120.0,
            }
        else:
            opts["num_replicas"] = self.replicas
        return opts


@dataclass(frozen=True)
class ClusterConfig:
    """Where the cluster is (``"local"``: start one on this machine; else a Ray address) and each modality's size.

    ``accept_timeout_s``: how long a request may wait for a replica to take it before it fails with a clear error
    (a cluster that went away, or one too busy); ``idle_timeout_s``: how long a running request may go without any
    event from its replica. ``retries``: how many times a request whose replica died is sent again.
    """

    address: str = "local"
    sizes: dict[str, DeploymentSize] = field(default_factory=dict)
    num_cpus: int | None = None  # of a local instance (None: all of this machine's)
    num_gpus: int | None = None
    accept_timeout_s: float = 120.0
    start_timeout_s: float = 300.0
    idle_timeout_s: float = 600.0
    retries: int = 1
    app_prefix: str = "studio"
    attach: bool = False  # the applications are deployed already (a RayService): use them, deploy nothing

    def size(self, modality: str) -> DeploymentSize:
        return self.sizes.get(modality, DeploymentSize())


def per_modality(kind: Callable[[str], Any], what: str) -> Callable[[str], dict[str, Any]]:
    """An argparse ``type`` for ``modality=value,...`` (or one bare value for all), values parsed by ``kind``."""

    def parse(text: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, value = part.rpartition("=")
            names = [name.strip().lower()] if sep else list(MODALITIES)
            for n in names:
                if n not in MODALITIES:
                    raise argparse.ArgumentTypeError(f"{n!r} is not one of {', '.join(MODALITIES)} (in {text!r})")
                out[n] = kind(value.strip())
        if not out:
            raise argparse.ArgumentTypeError(f"give {what} as modality=value pairs, e.g. image=2,text=1")
        return out

    return parse


def whole(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def amount(text: str) -> float:
    """A finite number of CPUs or GPUs, at least 0 (fractions share a device)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, got {text!r}")
    return value


def add_cluster_flags(p: argparse.ArgumentParser) -> None:
    """The ``--ray`` flags of ``python app.py``."""
    g = p.add_argument_group("cluster (Ray Serve; needs pip install -r requirements-cluster.txt)")
    g.add_argument(
        "--ray",
        default=None,
        metavar="local|ADDRESS",
        help="run generation on a Ray Serve cluster: 'local' starts one on this machine, an address "
        "(e.g. 10.0.0.5:6379 or auto) joins a running one",
    )
    g.add_argument("--replicas", type=per_modality(whole(1), "replicas"), default={}, help="e.g. image=2,text=1")
    g.add_argument(
        "--max-replicas",
        type=per_modality(whole(1), "max replicas"),
        default={},
        help="autoscale up to this many replicas, e.g. image=4 (default: no autoscaling)",
    )
    g.add_argument(
        "--cpus-per-replica", type=per_modality(amount, "CPUs"), default={}, help="CPUs reserved (default 1)"
    )
    g.add_argument(
        "--gpus-per-replica",
        type=per_modality(amount, "GPUs"),
        default={},
        help="GPUs reserved, e.g. image=1,text=0.5 (default 0: the replica runs on the CPU)",
    )
    g.add_argument(
        "--models-per-replica",
        type=whole(1),
        default=3,
        help="checkpoints a replica keeps routed to it (@serve.multiplexed; default 3)",
    )
    g.add_argument(
        "--ray-attach",
        action="store_true",
        help="the studio's applications are deployed already (a KubeRay RayService, see docs/cluster.md): use "
        "them as they are instead of deploying",
    )
    g.add_argument(
        "--ray-timeout",
        type=amount,
        default=120.0,
        help="seconds a request waits for a replica to take it before failing (default 120)",
    )


def config_from(args: argparse.Namespace) -> ClusterConfig | None:
    """The ``ClusterConfig`` of parsed flags, or None without ``--ray``; raises ``ValueError`` on flags that
    contradict each other."""
    if args.ray is None:
        for flag in ("replicas", "max_replicas", "cpus_per_replica", "gpus_per_replica"):
            if getattr(args, flag):
                raise ValueError(f"--{flag.replace('_', '-')} needs --ray local or --ray ADDRESS")
        return None
    sizes: dict[str, DeploymentSize] = {}
    for m in MODALITIES:
        replicas = args.replicas.get(m, 1)
        most = args.max_replicas.get(m, replicas)
        if most < replicas:
            raise ValueError(f"--max-replicas {m}={most} is below --replicas {m}={replicas}")
        sizes[m] = DeploymentSize(
            replicas=replicas,
            max_replicas=most,
            cpus=args.cpus_per_replica.get(m, 1.0),
            gpus=args.gpus_per_replica.get(m, 0.0),
            models_per_replica=args.models_per_replica,
        )
    address = str(args.ray).strip()
    if not address:
        raise ValueError("--ray takes 'local' or a cluster address")
    timeout = float(args.ray_timeout) or 120.0
    return ClusterConfig(address=address, sizes=sizes, accept_timeout_s=timeout, attach=args.ray_attach)
