"""Training techniques: each is a small object holding its networks, its loss terms and one step function.

``build_technique(params, captions, assets_dir)`` makes the technique a run's settings name. Every technique has
``name``, ``terms`` (the loss terms it logs), ``size`` (the picture side it trains at), ``modules`` (what is
trained and checkpointed), ``param_groups()`` (one optimiser per group), ``train_step``, ``val_loss``, ``fit``
(statistics of the data a sampler needs), ``sample`` and ``save`` (the finished model in the built-ins' layout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.training.params import TrainParams


def build_technique(params: TrainParams, captions: list[str], assets_dir: Path) -> Any:
    """The technique object of ``params.technique``, starting from scratch or from the built-in model."""
    base = assets_dir / params.base_model if params.base_model else None
    if base is not None and not (base / "model_index.json").is_file():
        raise FileNotFoundError(f"the built-in model {params.base_model} is not installed in {assets_dir}")
    if params.technique == "autoencoder":
        from studio.training.techniques.autoencoder import AutoencoderTechnique

        return AutoencoderTechnique(captions)
    if params.technique == "dbn":
        from studio.training.techniques.dbn import DBNTechnique

        return DBNTechnique(captions)
    vae_dir = assets_dir / "emoji-diffusion" / "vae"
    if params.technique == "gan":
        from studio.training.techniques.gan import GANTechnique

        return GANTechnique(captions, vae_dir, base)
    if params.technique == "vae":
        from studio.training.techniques.vae import VAETechnique

        return VAETechnique(captions, vae_dir, base)
    if params.technique == "diffusion":
        from studio.training.techniques.diffusion import DiffusionTechnique

        assert base is not None
        return DiffusionTechnique(captions, base)
    raise ValueError(f"technique {params.technique!r} is unknown")
