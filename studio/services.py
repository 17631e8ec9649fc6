"""Build the studio's services once: memory manager, result cache, catalog, engine and training jobs, wired
together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio.cache import ResultCache
from studio.catalog import Catalog
from studio.engine import Studio
from studio.janitor import Budget, Janitor
from studio.keys import server_key
from studio.memory import MemoryManager
from studio.outputs import Outputs
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
    studio = Studio(generators, catalog, memory, cache, runner=runner)
    jobs = Jobs(settings.training_dir, memory, catalog, settings.assets_dir)
    return Services(
        settings=settings, studio=studio, outputs=outputs, janitor=build_janitor(settings), jobs=jobs, cluster=runner
    )
