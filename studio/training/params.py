"""The settings of one training run: ``TrainParams`` and the range each field declares (the Train tab's widgets,
the CLI's flags and the server-side validation all read these declarations)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.params import SEED_MAX, ParamError, param

TECHNIQUES = ("diffusion", "gan", "vae", "autoencoder", "dbn")
OPTIMISERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "warmup-decay", "cosine")
# A run's name becomes a folder name and a model id: lower-case letters, digits, dots, dashes and underscores.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")

# A learning rate that works for each technique on small data (the Train tab and the CLI start from it).
DEFAULT_LR = {"diffusion": 1e-4, "gan": 2e-4, "vae": 1e-3, "autoencoder": 1e-3, "dbn": 1e-2}

# The built-in model each technique starts from when ``base`` is "builtin" (diffusion always fine-tunes it).
BUILTIN_BASES = {"diffusion": "emoji-diffusion", "gan": "emoji-gan", "vae": "emoji-vae"}


@dataclass(frozen=True)
class TrainParams:
    """One training run's settings. ``base`` is "scratch" or "builtin" (GAN and VAE; diffusion is always a
    fine-tune of the built-in model; the autoencoder and the DBN always start from scratch)."""

    name: str = param("", max_len=63, label="Name", info="the new model's name: a-z, 0-9, '.', '-', '_'")
    technique: str = param("autoencoder", choices=TECHNIQUES, label="Technique")
    base: str = param("scratch", choices=("scratch", "builtin"), label="Start from")
    optimizer: str = param("adam", choices=OPTIMISERS, label="Optimiser")
    lr: float = param(1e-3, min=1e-6, max=1.0, label="Learning rate")
    schedule: str = param("constant", choices=SCHEDULES, label="Schedule")
    warmup_steps: int = param(0, min=0, max=100_000, step=1, label="Warm-up steps", info="warmup-decay only")
    steps: int = param(200, min=1, max=200_000, step=1, label="Steps")
    batch_size: int = param(16, min=1, max=256, step=1, label="Batch size")
    flips: bool = param(True, label="Random horizontal flips")
    crops: bool = param(False, label="Random crops (scale 0.8-1)")
    jitter: float = param(0.0, min=0.0, max=0.5, step=0.05, label="Colour jitter", info="0 = off")
    seed: int = param(0, min=0, max=SEED_MAX, step=1, label="Seed")
    sample_every: int = param(50, min=1, max=100_000, step=1, label="Samples every N steps")
    checkpoint_every: int = param(100, min=1, max=100_000, step=1, label="Checkpoint every N steps")
    val_fraction: float = param(0.1, min=0.0, max=0.5, step=0.05, label="Held-out share (validation)")
    licence: str = param("", max_len=300, label="Licence / source of the data", info="goes into the model card")
    sample_prompt: str = param("", max_len=200, label="Sample prompt", info="empty = the first caption")

    def check(self) -> None:
        """Cross-field checks: the name is a safe folder name; the base exists for the technique."""
        if not NAME_PATTERN.fullmatch(self.name) or ".." in self.name:
            raise ParamError(
                "name",
                f"{self.name[:70]!r} is not allowed: 1-63 characters of a-z, 0-9, '.', '-', '_', starting with a "
                "letter or digit (it becomes a folder name inside the models folder)",
            )
        if self.base == "builtin" and self.technique not in BUILTIN_BASES:
            raise ParamError("base", f"the {self.technique} technique has no built-in model to start from")

    @property
    def base_model(self) -> str | None:
        """The id of the built-in model this run starts from, or None (from scratch)."""
        if self.technique == "diffusion":
            return BUILTIN_BASES["diffusion"]
        return BUILTIN_BASES.get(self.technique) if self.base == "builtin" else None
