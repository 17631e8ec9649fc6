"""The front end's side of the cluster: start or join Ray, deploy one Serve application per modality, and run the
engine's generation step on it (``RayRunner.run``, the ``Runner`` of ``studio/runner.py``).

A request goes through the modality's ``DeploymentHandle`` as a stream (``handle.options(stream=True)``), with its
checkpoint as the multiplexed model id. A pump thread reads the stream into a queue so the engine's worker can wait
with timeouts and watch its Stop: Stop cancels the remote request (``response.cancel()``), and the replica stops
the generator at its next step. A replica that dies mid-request is retried once (``ClusterConfig.retries``), since
Serve starts a replacement; a request no replica takes within ``accept_timeout_s``, or whose replica goes silent for
``idle_timeout_s``, fails with ``ClusterUnavailable`` instead of hanging.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import Any

import ray
from ray import serve
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RaySystemError
from ray.serve.exceptions import DeploymentUnavailableError, RequestCancelledError

from studio.cluster.builder import application, replica_env
from studio.cluster.config import ClusterConfig
from studio.cluster.messages import Accepted, Failed, Finished, Job, model_id
from studio.generators.base import Cancelled, Context, Event, ModelSpec
from studio.runner import Ran
from studio.settings import Settings

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often a waiting request looks at its Stop
REPORT_TTL_S = 1.0
REPLICA_LOST = (ActorDiedError, ActorUnavailableError, RayActorError)


class ClusterUnavailable(RuntimeError):
    """The cluster could not run a request: no replica took it in time, or its replica died and the retry did too."""


class _Lost(Exception):
    """The replica running a request died (internal: ``run`` retries, then raises ``ClusterUnavailable``)."""


def connect(config: ClusterConfig) -> None:
    """Start a local Ray instance (``address="local"``) or join the cluster at ``config.address``."""
    if ray.is_initialized():
        return
    env = {"env_vars": {"PYTHONPATH": replica_env()["PYTHONPATH"]}}
    if config.address == "local":
        ray.init(
            num_cpus=config.num_cpus,
            num_gpus=config.num_gpus,
            include_dashboard=False,
            runtime_env=env,
            log_to_driver=False,
        )
    else:
        ray.init(address=config.address, runtime_env=env, log_to_driver=False)


def wait_running(names: list[str], timeout_s: float) -> None:
    """Wait until the applications ``names`` run; a failed deployment, or one still not running after
    ``timeout_s`` (replicas that cannot be scheduled: too few CPUs or GPUs), raises ``ClusterUnavailable`` with
    Serve's own explanation."""
    deadline = time.monotonic() + timeout_s
    while True:
        apps = serve.status().applications
        waiting = []
        for name in names:
            app = apps.get(name)
            state = str(app.status) if app is not None else "NOT_STARTED"
            if state.endswith("DEPLOY_FAILED"):
                raise ClusterUnavailable(f"{name} failed to deploy: {_explain(app)}")
            if not state.endswith("RUNNING"):
                waiting.append(name)
        if not waiting:
            return
        if time.monotonic() > deadline:
            detail = "; ".join(f"{n}: {_explain(apps.get(n))}" for n in waiting)
            raise ClusterUnavailable(
                f"{', '.join(waiting)} not running after {timeout_s:.0f} s ({detail}); check that the cluster has the "
                f"CPUs and GPUs --cpus-per-replica / --gpus-per-replica ask for (`ray status`)"
            )
        time.sleep(0.5)


def _explain(app: Any) -> str:
    if app is None:
        return "not deployed"
    messages = [app.message] + [d.message for d in app.deployments.values()]
    return " ".join(m for m in messages if m) or str(app.status)


class RayRunner:
    """Runs the generation step on the modality's Serve deployment (see the module docstring)."""

    def __init__(self, config: ClusterConfig, handles: dict[str, Any]) -> None:
        self.config = config
        self.handles = handles
        self._seen: tuple[float, list[dict[str, Any]]] = (-1.0, [])  # the last replicas() answer and its time

    # -- setting up ----------------------------------------------------------------------------------------
    @classmethod
    def start(cls, settings: Settings, config: ClusterConfig, modalities: Iterable[str]) -> RayRunner:
        """Connect to (or start) Ray and deploy (or update) one application per modality; waits until running."""
        import torch

        modalities = list(modalities)
        connect(config)
        threads = torch.get_num_threads()
        serve.start(proxy_location="Disabled")  # no HTTP ingress: the Gradio process is the one front end
        names = [cls.app_name(config, m) for m in modalities]
        if config.attach:
            log.info("using the deployed applications %s (%s)", ", ".join(names), config.address)
        else:
            targets = [
                serve.RunTarget(application(settings, m, config.size(m), threads), name=n, route_prefix=None)
                for m, n in zip(modalities, names, strict=True)
            ]
            log.info("deploying %s on Ray Serve (%s)", ", ".join(names), config.address)
            serve.run_many(targets, wait_for_applications_running=False)
        wait_running(names, config.start_timeout_s)
        return cls(config, {m: serve.get_app_handle(n) for m, n in zip(modalities, names, strict=True)})

    @staticmethod
    def app_name(config: ClusterConfig, modality: str) -> str:
        return f"{config.app_prefix}-{modality}"

    # -- running -------------------------------------------------------------------------------------------
    def run(self, modality: str, spec: ModelSpec, params: Any, ctx: Context) -> Ran:
        """The generation step on a replica; events go to ``ctx``; a dead replica is retried ``retries`` times."""
        job = Job(modality, spec, params)
        for attempt in range(self.config.retries + 1):
            try:
                return self._run_once(job, ctx)
            except _Lost as exc:
                if attempt == self.config.retries:
                    raise ClusterUnavailable(
                        f"the {modality} replica running this request stopped ({exc}) and so did the retry; "
                        "the cluster is starting new replicas: try again in a moment"
                    ) from None
                log.warning("%s replica lost mid-request (%s): sending the request again", modality, exc)
        raise AssertionError("unreachable")

    def _run_once(self, job: Job, ctx: Context) -> Ran:
        handle = self.handles[job.modality].options(stream=True, method_name="run")
        if job.spec.source != "procedural":
            handle = handle.options(multiplexed_model_id=model_id(job.spec))
        response = handle.remote(job)
        items: queue.Queue[Any] = queue.Queue()
        done = object()

        def pump() -> None:
            try:
                for item in response:
                    items.put(item)
            except BaseException as exc:  # handed to the waiting thread, which decides what it means
                items.put(exc)
            finally:
                items.put(done)

        threading.Thread(target=pump, name=f"ray-{job.modality}", daemon=True).start()
        accepted = ended = False
        last = time.monotonic()
        try:
            while True:
                if ctx.cancel.is_set():
                    raise Cancelled("stopped by the user")
                try:
                    item = items.get(timeout=POLL_S)
                except queue.Empty:
                    self._check_waiting(job.modality, accepted, time.monotonic() - last)
                    continue
                last = time.monotonic()
                if item is done:
                    raise _Lost("its stream ended without a result")
                if isinstance(item, BaseException):
                    self._raise_from(job.modality, item)
                if isinstance(item, Accepted):
                    accepted = True
                elif isinstance(item, Event):
                    ctx.emit(item)
                elif isinstance(item, Failed):
                    ended = True
                    raise item.error()
                elif isinstance(item, Finished):
                    ended = True
                    return item.ran
        finally:
            if not ended and not response.cancelled():  # Stop, a timeout or a lost replica: free the replica
                response.cancel()

    def _check_waiting(self, modality: str, accepted: bool, waited_s: float) -> None:
        if not accepted and waited_s > self.config.accept_timeout_s:
            raise ClusterUnavailable(
                f"no {modality} replica took the request within {self.config.accept_timeout_s:.0f} s: the Ray "
                "cluster is unreachable, its replicas are not running, or every one is busy (see docs/cluster.md)"
            )
        if accepted and waited_s > self.config.idle_timeout_s:
            raise ClusterUnavailable(
                f"the {modality} replica sent nothing for {self.config.idle_timeout_s:.0f} s: it is stuck or "
                "unreachable; the request was cancelled"
            )

    @staticmethod
    def _raise_from(modality: str, exc: BaseException) -> None:
        if isinstance(exc, RequestCancelledError):
            raise Cancelled("stopped by the user")
        if isinstance(exc, REPLICA_LOST):
            raise _Lost(type(exc).__name__)
        if isinstance(exc, (DeploymentUnavailableError, RaySystemError)):
            raise ClusterUnavailable(f"the {modality} deployment is not available: {exc}") from None
        raise ClusterUnavailable(f"the {modality} replica failed: {type(exc).__name__}: {exc}") from None

    # -- what the replicas hold (the Loaded models panel) -----------------------------------------------------
    def replicas(self, timeout_s: float = 5.0, fresh: bool = False) -> list[dict[str, Any]]:
        """Every live replica's ``status()`` (name, device, budgets, models); replicas that do not answer within
        ``timeout_s`` are left out, so a lost one never blocks the panel. An answer under a second old is reused:
        the panel's summary and table ask one after the other, for every visitor who has it open (``fresh``: ask
        anyway)."""
        when, seen = self._seen
        if not fresh and time.monotonic() - when < REPORT_TTL_S:
            return [dict(r) for r in seen]
        rows: list[dict[str, Any]] = []
        for modality, handle in self.handles.items():
            try:
                answers = handle.broadcast("status").results(timeout_s=timeout_s, return_exceptions=True)
            except (TimeoutError, ray.exceptions.RayError) as exc:
                log.warning("%s replicas did not report: %s", modality, exc)
                continue
            rows.extend(a for a in answers if isinstance(a, dict))
        rows.sort(key=lambda r: (r["modality"], r["replica"]))
        self._seen = (time.monotonic(), rows)
        return [dict(r) for r in rows]

    def unload(self, replica: str, key: str | None, timeout_s: float = 10.0) -> bool:
        """Unload ``key`` (None: every idle model) on ``replica``; whether it was unloaded."""
        for handle in self.handles.values():
            try:
                answers = handle.broadcast("unload", replica, key).results(timeout_s=timeout_s, return_exceptions=True)
            except (TimeoutError, ray.exceptions.RayError) as exc:
                log.warning("unload on %s failed: %s", replica, exc)
                continue
            if any(a is True for a in answers):
                self._seen = (-1.0, [])
                return True
        return False
