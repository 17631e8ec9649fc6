"""The studio's settings: where things live and how much memory it may use. Built once from the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def default_cache_dir() -> Path:
    """``$STUDIO_CACHE_DIR``, else ``$XDG_CACHE_HOME/studio``, else ``~/.cache/studio``."""
    if os.environ.get("STUDIO_CACHE_DIR"):
        return Path(os.environ["STUDIO_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "studio"


@dataclass(frozen=True)
class Settings:
    """Paths and budgets. ``cache_dir`` holds results (``results/``), converted models (``models/``) and outputs."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    assets_dir: Path = ROOT / "assets" / "models"
    model_dirs: tuple[Path, ...] = ()
    device: str = "auto"
    gpu_budget_fraction: float = 0.9
    ram_budget_gb: float = 8.0
    result_cache_gb: float = 2.0
    idle_timeout_min: float = 30.0

    @property
    def results_dir(self) -> Path:
        return self.cache_dir / "results"

    @property
    def converted_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def outputs_dir(self) -> Path:
        return self.cache_dir / "outputs"
