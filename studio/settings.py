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
    """Paths and budgets. ``cache_dir`` holds results (``results/``), converted models (``models/``), outputs
    (``outputs/``) and, unless ``GRADIO_TEMP_DIR`` says otherwise, Gradio's temp folder (``gradio/``)."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    assets_dir: Path = ROOT / "assets" / "models"
    model_dirs: tuple[Path, ...] = ()
    device: str = "auto"
    gpu_budget_fraction: float = 0.9
    ram_budget_gb: float = 8.0
    result_cache_gb: float = 2.0
    idle_timeout_min: float = 30.0
    outputs_gb: float = 5.0  # budget of outputs/ (result folders, thumbnails, sweep sheets)
    gradio_temp_gb: float = 2.0  # budget of Gradio's temp folder (copies of outputs handed out, uploads)
    temp_age_min: float = 60.0  # Gradio deletes the files it handed out (and uploads) this much later
    gradio_temp: Path | None = None  # Gradio's temp folder; None: ``cache_dir/gradio``
    data_dirs: tuple[Path, ...] = ()  # server folders the Train tab may read training pictures from (--data-dir)
    c2pa_cert: Path | None = None  # an organisation's signing certificate chain (PEM); None: the self-made one
    c2pa_key: Path | None = None  # its private key (PEM)
    sign_outputs: bool = True  # Content Credentials on every output (studio/credentials/)
    prompt_policy: str | None = None  # "default", a policy file's path, or None (off); see studio/policy.py

    @property
    def gradio_temp_dir(self) -> Path:
        """Where Gradio keeps uploads and the copies of outputs it serves (``launch`` points it here)."""
        return self.gradio_temp if self.gradio_temp is not None else self.cache_dir / "gradio"

    @property
    def delete_cache(self) -> tuple[int, int]:
        """Gradio's ``delete_cache=(every_s, age_s)``: each ``every_s`` it deletes the files it created (outputs
        it copied, uploads) whose ctime is older than ``age_s``; files it did not create are not its concern."""
        age_s = max(1, round(self.temp_age_min * 60))
        return min(age_s, 600), age_s

    @property
    def results_dir(self) -> Path:
        return self.cache_dir / "results"

    @property
    def converted_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def training_dir(self) -> Path:
        """Training runs, one folder each (``studio/training/run_folder.py``); finished ones hold their model."""
        return self.cache_dir / "training"

    @property
    def outputs_dir(self) -> Path:
        return self.cache_dir / "outputs"
