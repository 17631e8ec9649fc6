"""Build the studio's services once: memory manager, result cache, catalog, engine and training jobs, wired
together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cache import ResultCache
from studio.catalog import Catalog
from studio.credentials.identity import given_identity, self_made_identity
from studio.credentials.signing import Signer
from studio.engine import Studio
from studio.janitor import Budget, Janitor
from studio.keys import server_key
from studio.memory import MemoryManager
from studio.outputs import Outputs
from studio.policy import PromptPolicy
from studio.registry import make_generators
from studio.settings import Settings
from studio.training.jobs import Jobs

if TYPE_CHECKING:
    from studio.cluster.config import ClusterConfig
    from studio.cluster.runner import RayRunner

GB = 1024**3


@dataclass
class Services:
    """Everything a tab or the CLI needs; made by ``build_services`` and passed down, never global."""

    settings: Settings
    studio: Studio
    outputs: Outputs
    janitor: Janitor | None = None  # keeps outputs/ and Gradio's temp folder in budget (started by launch)
    jobs: Jobs | None = None  # training runs (the Train tab, ``python -m studio train``)
    cluster: RayRunner | None = None  # with --ray: generation runs on Ray Serve replicas (studio/cluster/)

    @property
    def memory(self) -> MemoryManager:
        return self.studio.memory

    @property
    def catalog(self) -> Catalog:
        return self.studio.catalog


def build_janitor(settings: Settings) -> Janitor:
    """The janitor of the folders the studio writes besides the result cache (which keeps its own budget)."""
    return Janitor(
        [
            Budget(settings.outputs_dir, int(settings.outputs_gb * GB), collections=("thumbs", "sweeps")),
            Budget(settings.gradio_temp_dir, int(settings.gradio_temp_gb * GB)),
        ]
    )


def build_signer(settings: Settings) -> Signer | None:
    """The signer of Content Credentials: the organisation's identity if given, else this installation's own
    (made on first start in the cache folder); None when signing is off. ``ValueError`` for a bad cert or key."""
    if not settings.sign_outputs:
        return None
    if settings.c2pa_cert is not None and settings.c2pa_key is not None:
        return Signer(given_identity(settings.c2pa_cert, settings.c2pa_key))
    return Signer(self_made_identity(settings.cache_dir))


def build_policy(settings: Settings) -> PromptPolicy | None:
    """The prompt policy the settings name (``ValueError`` for an unreadable file or a bad pattern)."""
    if settings.prompt_policy is None:
        return None
    if settings.prompt_policy == "default":
        return PromptPolicy.default()
    return PromptPolicy.from_file(Path(settings.prompt_policy))


def build_services(settings: Settings, cluster: ClusterConfig | None = None) -> Services:
    """Make the one memory manager, the one result cache, the catalog, the engine and the janitor from
    ``settings``; nothing is started (``launch`` starts the reapers). With ``cluster`` the engine's generation step
    runs on Ray Serve deployments (started or joined here); only then is Ray imported."""
    generators = make_generators(settings)
    memory = MemoryManager.from_settings(settings)
    cache = ResultCache(settings.results_dir, budget_bytes=int(settings.result_cache_gb * GB))
    catalog = Catalog(generators, model_dirs=settings.model_dirs, trained_dir=settings.training_dir)
    settings.outputs_dir.mkdir(parents=True, exist_ok=True)
    outputs = Outputs(settings.outputs_dir, server_key(settings.cache_dir), generators)
    runner = None
    if cluster is not None:
        from studio.cluster.runner import RayRunner

        runner = RayRunner.start(settings, cluster, list(generators))
    studio = Studio(
        generators,
        catalog,
        memory,
        cache,
        runner=runner,
        signer=build_signer(settings),
        policy=build_policy(settings),
    )
    jobs = Jobs(settings.training_dir, memory, catalog, settings.assets_dir)
    return Services(
        settings=settings, studio=studio, outputs=outputs, janitor=build_janitor(settings), jobs=jobs, cluster=runner
    )
