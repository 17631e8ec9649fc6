"""MusicGen checkpoints in audiocraft's own layout (``state_dict.bin`` + ``compression_state_dict.bin``).

This path exists only where ``audiocraft`` imports. audiocraft 1.3 pins torch 2.1 (and torchaudio, xformers,
av), so it cannot be installed beside this studio's torch; the studio never installs it. Where a separate
environment has it (see docs/music.md, "audiocraft"), the catalog lists audiocraft-format folders as kind
``audiocraft-musicgen`` and they load through ``audiocraft.models.MusicGen.get_pretrained(folder)``. The same
checkpoints in transformers' layout (the ``facebook/musicgen-*`` hub repos hold both) run without audiocraft
through ``musicgen.py``, which is the path the studio prefers when a folder has both.

audiocraft configures sampling with ``set_generation_params`` on the model object; the call is made right
before each ``generate``, inside the memory manager's lease, so one request's settings cannot leak into
another's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from studio.generators.base import Artifact, Context, Output
from studio.generators.music.files import read_audio, wav_bytes
from studio.params import ParamError


class AudiocraftModel:
    """A loaded audiocraft MusicGen; its two modules are attributes so the memory manager can count them."""

    def __init__(self, musicgen: Any, folder: Path) -> None:
        self.musicgen = musicgen
        self.lm = musicgen.lm
        self.compression_model = musicgen.compression_model
        self.folder = folder


def load_audiocraft(folder: Path) -> AudiocraftModel:
    """Load an audiocraft-format folder on the CPU (needs the ``audiocraft`` package)."""
    try:
        from audiocraft.models import MusicGen
    except ImportError as exc:
        raise ParamError("model", f"{folder.name} is in audiocraft's format and audiocraft is not installed") from exc
    return AudiocraftModel(MusicGen.get_pretrained(str(folder), device="cpu"), folder)


def generate_audiocraft(am: AudiocraftModel, params: Any, ctx: Context) -> Output:
    """Text (and melody) to music through audiocraft; it extends past 30 s by itself (``extend_stride``)."""
    import torch

    t0 = time.perf_counter()
    mg = am.musicgen
    if params.extend_from:
        raise ParamError("extend_from", "extending is not wired for audiocraft checkpoints; use a transformers one")
    mg.set_generation_params(
        duration=float(params.duration_s),
        use_sampling=True,
        top_k=int(params.top_k),
        top_p=float(params.top_p) if params.top_p < 1.0 else 0.0,
        temperature=float(params.temperature),
        cfg_coef=float(params.guidance_scale),
    )
    mg.set_custom_progress_callback(lambda done, total: ctx.progress(int(done), int(total), "audiocraft"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(params.seed))
        if params.melody_audio:
            melody, rate = read_audio(params.melody_audio, "melody_audio")
            wav = mg.generate_with_chroma([params.prompt], torch.from_numpy(melody)[None, None], rate)
        else:
            wav = mg.generate([params.prompt])
    audio = wav[0].float().mean(dim=0).cpu().numpy().astype(np.float32)
    elapsed = time.perf_counter() - t0
    seconds = audio.size / mg.sample_rate
    info = {"kind": "audiocraft-musicgen", "audio_seconds": round(seconds, 2), "seconds": round(elapsed, 3)}
    return Output([Artifact("music.wav", wav_bytes(audio[:, None], int(mg.sample_rate)), "audio")], None, info)
