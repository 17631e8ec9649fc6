"""Fine-tuning the built-in latent diffusion model "emoji-diffusion" on a run's pictures.

The UNet learns to denoise the built-in autoencoder's latents of the run's pictures (v-prediction on the built-in's
zero-terminal-SNR schedule, cross-attending to the caption's MiniLM token states, 10% of captions dropped to the
null condition for classifier-free guidance), exactly the objective it was trained with
(``studio/training/train_diffusion.py``). The autoencoder and the scheduler are copied unchanged.

Logged term: ``denoise_mse``; validation: the same loss on held-out pictures at fixed noise levels and noise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from torch.nn import functional

from studio.training.techniques.base import Batch, CaptionTable, LatentCodec, TechniqueBase

NULL_DROP = 0.1
SAMPLE_STEPS = 20


class DiffusionTechnique(TechniqueBase):
    """The built-in UNet, fine-tuned; one optimiser, gradients clipped at 1."""

    name = "diffusion"
    terms = ("denoise_mse",)
    sample_steps = SAMPLE_STEPS

    def __init__(self, captions: list[str], base: Path) -> None:
        from diffusers import DDPMScheduler, UNet2DConditionModel

        from studio.training.train_diffusion import scheduler_config

        super().__init__()
        self.base = base
        self.index = json.loads((base / "model_index.json").read_text())
        self.tokens = int(self.index.get("_prompt_tokens") or 0)
        self.table = CaptionTable(captions, self.tokens)
        self.codec = LatentCodec(base / "vae")
        self.unet = UNet2DConditionModel.from_pretrained(base / "unet", use_safetensors=True)
        config = {k: v for k, v in scheduler_config().items() if k != "set_alpha_to_one"}
        self.alphas = DDPMScheduler(**config).alphas_cumprod
        self.modules = {"unet": self.unet}
        self.frozen = {"vae": self.codec.vae, "text": self.table.encoder.model}

    def _loss(self, batch: Batch, gen: torch.Generator, drop: bool) -> torch.Tensor:
        z0 = self.codec.encode(batch.x, gen)
        ids = batch.caption_ids
        cond = self.table.pooled[ids].clone()
        context = self.table.states[ids].clone() if self.table.states is not None else cond[:, None, :].clone()
        if drop:
            dropped = torch.rand(len(ids), generator=gen) < NULL_DROP
            cond[dropped] = 0.0
            context[dropped] = 0.0
        t = torch.randint(0, len(self.alphas), (len(ids),), generator=gen)
        noise = torch.randn(z0.shape, generator=gen).to(self.device)
        a = self.alphas[t].view(-1, 1, 1, 1).to(self.device)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        target = a.sqrt() * noise - (1 - a).sqrt() * z0  # v = sqrt(ᾱ)·ε - sqrt(1 - ᾱ)·x0
        pred = self.unet(
            zt, t.to(self.device), encoder_hidden_states=context.to(self.device), class_labels=cond.to(self.device)
        ).sample
        return functional.mse_loss(pred, target)

    def train_step(self, batch: Batch, opts: dict, gen: torch.Generator, step: int, total: int) -> dict[str, float]:
        loss = self._loss(batch, gen, drop=True)
        opts["model"].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.unet.parameters(), 1.0)
        opts["model"].step()
        return {"denoise_mse": loss.item()}

    @torch.no_grad()
    def val_loss(self, batch: Batch, gen: torch.Generator) -> float:
        return self._loss(batch, gen, drop=False).item()

    def pipeline(self) -> object:
        from diffusers import DDIMScheduler

        from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline

        scheduler = DDIMScheduler.from_pretrained(self.base / "scheduler")
        enc = self.table.encoder
        pipe = EmojiDiffusionPipeline(self.unet, self.codec.vae, scheduler, enc.model, enc.tokenizer)
        pipe.latent_rgb, pipe.prompt_tokens = self.index.get("_latent_rgb"), self.tokens
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @torch.no_grad()
    def sample(self, prompt: str, seeds: list[int]) -> list:
        pipe = self.pipeline()
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        out = pipe(
            prompt=prompt, num_images_per_prompt=len(seeds), generator=gens, num_inference_steps=self.sample_steps
        )  # type: ignore[operator]
        return out.images

    def save(self, folder: Path) -> None:
        self.unet.save_pretrained(folder / "unet", safe_serialization=True)
        for part in ("vae", "scheduler"):
            shutil.copytree(
                self.base / part, folder / part, dirs_exist_ok=True, ignore=shutil.ignore_patterns("training.json")
            )
        index = {k: v for k, v in self.index.items() if not k.startswith("_training")}
        (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
